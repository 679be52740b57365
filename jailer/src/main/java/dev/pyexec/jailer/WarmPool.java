package dev.pyexec.jailer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Jails started ahead of demand: each a full nsjail whose runner has imported its flavour's
 * preloads and waits for a script. A jail still serves exactly one execution and is then killed,
 * so isolation is that of a cold jail; only the start-up is paid before the request arrives.
 *
 * <p>One maintenance thread keeps each flavour between its minimum and maximum, sized on recent
 * demand, with at most {@code refillParallelism} jails starting at once so refills leave CPU to
 * running scripts. A request that finds no ready jail takes the oldest one still starting (it
 * is further along than a new one would be) or, with none, starts one itself: it never waits
 * on the pool longer than a cold start.
 */
public final class WarmPool implements JailProvider {
  private static final Duration DEMAND_WINDOW = Duration.ofSeconds(10);
  private static final long TICK_MILLIS = 25;

  private final NsjailLauncher launcher;
  private final SandboxProfile profile;
  private final PoolSettings settings;
  private final ColdJails cold;
  private final Duration lifetime;
  private final Object lock = new Object();
  private final Map<Flavour, Deque<Jail>> idle = new EnumMap<>(Flavour.class);
  private final Map<Flavour, Deque<Instant>> recentTakes = new EnumMap<>(Flavour.class);
  private final Map<Flavour, AtomicLong> hits = new EnumMap<>(Flavour.class);
  private final Map<Flavour, AtomicLong> misses = new EnumMap<>(Flavour.class);
  private final AtomicLong launched = new AtomicLong();
  private final AtomicLong recycled = new AtomicLong();
  private final Thread maintainer;
  private volatile boolean closed;

  public WarmPool(NsjailLauncher launcher, SandboxProfile profile, PoolSettings settings,
      ExecutorService io) {
    this.launcher = launcher;
    this.profile = profile;
    this.settings = settings;
    this.cold = new ColdJails(launcher, profile);
    this.lifetime = settings.maxIdle().plus(launcher.settings().maxTimeout()).plus(Jail.STARTUP_ALLOWANCE);
    for (Flavour flavour : Flavour.values()) {
      idle.put(flavour, new ArrayDeque<>());
      recentTakes.put(flavour, new ArrayDeque<>());
      hits.put(flavour, new AtomicLong());
      misses.put(flavour, new AtomicLong());
    }
    this.maintainer = new Thread(this::maintain, "warm-pool");
    maintainer.setDaemon(true);
    maintainer.start();
  }

  @Override
  public Lease take(Flavour flavour) throws SandboxException {
    Jail ready = null;
    List<Jail> dead = new ArrayList<>();
    synchronized (lock) {
      recentTakes.get(flavour).addLast(Instant.now());
      Jail starting = null;
      for (var it = idle.get(flavour).iterator(); it.hasNext(); ) {
        Jail jail = it.next();
        if (!jail.isAlive()) {
          it.remove();
          dead.add(jail);
        } else if (jail.isReady()) {
          it.remove();
          ready = jail;
          break;
        } else if (starting == null) {
          starting = jail; // the oldest still starting: it is further along than a new one
        }
      }
      if (ready == null && starting != null) {
        idle.get(flavour).remove(starting);
        ready = starting;
      }
      lock.notifyAll(); // refill now: a jail takes longer to start than most scripts run
    }
    dead.forEach(Jail::close);
    if (ready != null) {
      hits.get(flavour).incrementAndGet();
      return new Lease(ready, ready.isReady() ? "pool" : "pool-starting");
    }
    misses.get(flavour).incrementAndGet();
    return cold.take(flavour);
  }

  @Override
  public Map<String, Object> stats() {
    Map<String, Object> stats = new LinkedHashMap<>();
    synchronized (lock) {
      for (Flavour flavour : Flavour.values()) {
        String name = flavour.name().toLowerCase();
        Deque<Jail> jails = idle.get(flavour);
        stats.put(name + "_ready", jails.stream().filter(Jail::isReady).count());
        stats.put(name + "_starting", jails.stream().filter(j -> !j.isReady()).count());
        stats.put(name + "_target", target(flavour, Instant.now()));
        stats.put(name + "_hits", hits.get(flavour).get());
        stats.put(name + "_misses", misses.get(flavour).get());
      }
      stats.put("launched", launched.get());
      stats.put("recycled", recycled.get());
    }
    return stats;
  }

  /** How many jails of this flavour to keep: about half a second of recent demand, within bounds. */
  private int target(Flavour flavour, Instant now) {
    Deque<Instant> takes = recentTakes.get(flavour);
    Instant horizon = now.minus(DEMAND_WINDOW);
    while (!takes.isEmpty() && takes.peekFirst().isBefore(horizon)) {
      takes.removeFirst();
    }
    double perSecond = takes.size() / (double) DEMAND_WINDOW.toSeconds();
    int wanted = (int) Math.ceil(perSecond * 0.5) + (takes.isEmpty() ? 0 : 1);
    return Math.max(settings.min(flavour), Math.min(settings.max(flavour), wanted));
  }

  private void maintain() {
    while (!closed) {
      List<Jail> retire = new ArrayList<>();
      List<Flavour> toStart = new ArrayList<>();
      synchronized (lock) {
        Instant now = Instant.now();
        int starting = 0;
        int memory = 0;
        for (Flavour flavour : Flavour.values()) {
          Deque<Jail> jails = idle.get(flavour);
          for (var it = jails.iterator(); it.hasNext(); ) {
            Jail jail = it.next();
            boolean stale = jail.launchedAt().plus(settings.maxIdle()).isBefore(now);
            if (!jail.isAlive() || stale) {
              it.remove();
              retire.add(jail);
              recycled.incrementAndGet();
            } else if (!jail.isReady()) {
              starting++;
            }
          }
          memory += jails.size() * PoolSettings.memoryMb(flavour);
        }
        for (Flavour flavour : Flavour.values()) {
          Deque<Jail> jails = idle.get(flavour);
          int target = target(flavour, now);
          while (jails.size() > target) {
            retire.add(jails.removeFirst()); // the oldest go first when demand falls
          }
          int missing = target - jails.size();
          for (int i = 0; i < missing && starting < settings.refillParallelism(); i++) {
            if (memory + PoolSettings.memoryMb(flavour) > settings.memoryCeilingMb()) {
              break;
            }
            toStart.add(flavour);
            starting++;
            memory += PoolSettings.memoryMb(flavour);
          }
        }
      }
      retire.forEach(Jail::close);
      for (Flavour flavour : toStart) {
        try {
          Jail jail = launcher.launch(profile, flavour, lifetime);
          launched.incrementAndGet();
          synchronized (lock) {
            if (closed) {
              retire.add(jail);
            } else {
              idle.get(flavour).addLast(jail);
            }
          }
        } catch (SandboxException e) {
          // Requests fall back to cold starts, which report the failure themselves.
        }
      }
      synchronized (lock) {
        if (!closed) {
          try {
            lock.wait(TICK_MILLIS);
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    }
  }

  @Override
  public void close() {
    List<Jail> all = new ArrayList<>();
    synchronized (lock) {
      closed = true;
      idle.values().forEach(all::addAll);
      idle.values().forEach(Deque::clear);
      lock.notifyAll();
    }
    all.forEach(Jail::close);
    try {
      maintainer.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
