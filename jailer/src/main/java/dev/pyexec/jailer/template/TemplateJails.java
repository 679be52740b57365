package dev.pyexec.jailer.template;

import dev.pyexec.jailer.Flavour;
import dev.pyexec.jailer.Jail;
import dev.pyexec.jailer.JailProvider;
import dev.pyexec.jailer.SandboxException;
import dev.pyexec.jailer.SandboxSettings;
import dev.pyexec.jailer.TemplateSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The template engine: one template per flavour forks every execution. A template is replaced
 * after a number of executions or an age, and when it dies; while a flavour has none serving,
 * its executions run in one-shot jails (slower, never an error).
 */
public final class TemplateJails implements JailProvider {
  /** How long a template may take to import its libraries and say it serves. */
  public static final Duration START_WAIT = Duration.ofSeconds(30);
  /** Children each flavour keeps forked ahead of demand. */
  public static final int SPARES = 1;
  /** After a failed start, the next attempt waits this long (one-shot jails serve meanwhile). */
  private static final Duration RETRY_AFTER = Duration.ofSeconds(5);

  /** Starts a template for a flavour; the real one starts nsjail. */
  public interface Starter {
    Template start(Flavour flavour) throws SandboxException;
  }

  private final Starter starter;
  private final JailProvider fallback;
  private final TemplateSettings limits;
  private final SandboxSettings settings;
  private final ExecutorService io;
  private final Consumer<String> log;
  private final Map<Flavour, Slot> slots = new EnumMap<>(Flavour.class);
  private final AtomicLong fallbacks = new AtomicLong();
  /** Replaced templates that may still run executions: ended with the engine at the latest. */
  private final Queue<Template> retired = new ConcurrentLinkedQueue<>();
  private volatile boolean closed;
  private volatile boolean proven;

  public TemplateJails(Starter starter, JailProvider fallback, TemplateSettings limits, SandboxSettings settings,
      ExecutorService io, Consumer<String> log) {
    this.starter = starter;
    this.fallback = fallback;
    this.limits = limits;
    this.settings = settings;
    this.io = io;
    this.log = log;
    for (Flavour flavour : Flavour.values()) {
      slots.put(flavour, new Slot(flavour));
    }
  }

  /** Starts every flavour's template now, side by side, and waits; false if one did not come up. */
  public boolean startAll() {
    List<CompletableFuture<Boolean>> starts = new ArrayList<>();
    for (Slot slot : slots.values()) {
      slot.starting.set(true);
      starts.add(CompletableFuture.supplyAsync(() -> {
        try {
          return slot.replace();
        } finally {
          slot.starting.set(false);
        }
      }, io));
    }
    return starts.stream().allMatch(CompletableFuture::join);
  }

  /** Lets executions fork from the templates: their self-test has passed. */
  public void prove() {
    proven = true;
  }

  /** The templates before their self-test has passed: for the self-test only. */
  public JailProvider unproven() {
    return new JailProvider() {
      @Override
      public Lease take(Flavour flavour) throws SandboxException {
        return fromTemplate(flavour);
      }

      @Override
      public Map<String, Object> stats() {
        return TemplateJails.this.stats();
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public String engine() {
    return proven && !closed ? "template" : "oneshot";
  }

  @Override
  public Lease take(Flavour flavour) throws SandboxException {
    if (!proven) {
      fallbacks.incrementAndGet();
      return fallback.take(flavour);
    }
    return fromTemplate(flavour);
  }

  private Lease fromTemplate(Flavour flavour) throws SandboxException {
    Slot slot = slots.get(flavour);
    Template template = slot.current;
    if (template != null && template.isServing()) {
      if (template.forks() >= limits.maxExecutions()
          || Duration.between(template.startedAt(), Instant.now()).compareTo(limits.maxAge()) > 0) {
        slot.replaceInBackground("it served " + template.forks() + " executions since "
            + template.startedAt());
      }
      try {
        Jail jail = slot.takeSpare();
        if (jail == null) {
          jail = new Jail(template.fork(), settings, io);
        }
        // The next spare is forked once this execution is over, not beside it: on two cores
        // a fork and a sandbox (9 ms of CPU for pandas) would slow the execution being waited for.
        jail.onClose(() -> slot.refill(template));
        return new Lease(jail, "template");
      } catch (SandboxException e) {
        slot.replaceInBackground(e.getMessage() + "; " + template.diagnostics().strip());
      }
    } else {
      slot.replaceInBackground(template == null ? "none was running"
          : "it died: " + template.diagnostics().strip());
    }
    fallbacks.incrementAndGet();
    return fallback.take(flavour);
  }

  @Override
  public Map<String, Object> stats() {
    Map<String, Object> stats = new LinkedHashMap<>();
    stats.put("templates_proven", proven);
    for (Slot slot : slots.values()) {
      Template template = slot.current;
      Map<String, Object> figures = new LinkedHashMap<>();
      figures.put("serving", template != null && template.isServing());
      figures.put("executions", template == null ? 0 : template.forks());
      figures.put("age_s", template == null ? 0
          : Duration.between(template.startedAt(), Instant.now()).toSeconds());
      figures.put("started", slot.started.get());
      figures.put("spares", slot.spares.size());
      stats.put(slot.flavour.name().toLowerCase(), figures);
    }
    stats.put("oneshot_fallbacks", fallbacks.get());
    return stats;
  }

  @Override
  public void close() {
    closed = true;
    retired.forEach(Template::close); // replaced ones still finishing their executions
    for (Slot slot : slots.values()) {
      slot.closeSpares();
      Template template = slot.current;
      if (template != null) {
        template.close();
      }
    }
  }

  /** The template serving one flavour, and its replacement while one starts. */
  private final class Slot {
    private final Flavour flavour;
    private final AtomicBoolean starting = new AtomicBoolean();
    private final AtomicLong started = new AtomicLong();
    private volatile Template current;
    private volatile Instant lastFailure = Instant.MIN;
    /** Children forked ahead of demand, each already in its sandbox and waiting for a job. */
    private final Deque<Jail> spares = new ConcurrentLinkedDeque<>();
    private final AtomicInteger forkingSpares = new AtomicInteger();

    Slot(Flavour flavour) {
      this.flavour = flavour;
    }

    /** A spare child that is still alive, or null. */
    Jail takeSpare() {
      Jail spare;
      while ((spare = spares.pollFirst()) != null) {
        if (spare.isAlive()) {
          return spare;
        }
        spare.close();
      }
      return null;
    }

    /**
     * Forks the next execution's child in the background. Making a sandbox includes moving the
     * child into its cgroups, which can wait for an RCU grace period (about 10 ms when the
     * machine is idle): a spare takes that off the request path. A spare holds nothing of any
     * request; it is the same child a request would have forked, made a little earlier.
     */
    void refill(Template template) {
      if (closed || spares.size() + forkingSpares.get() >= SPARES) {
        return;
      }
      forkingSpares.incrementAndGet();
      io.execute(() -> {
        try {
          if (template == current && template.isServing()) {
            spares.addLast(new Jail(template.fork(), settings, io));
          }
        } catch (SandboxException | RuntimeException e) {
          // The template is failing: the next request finds out and replaces it.
        } finally {
          forkingSpares.decrementAndGet();
        }
        if (closed || template != current) {
          closeSpares();
        }
      });
    }

    void closeSpares() {
      Jail spare;
      while ((spare = spares.pollFirst()) != null) {
        spare.close();
      }
    }

    void replaceInBackground(String why) {
      if (closed || Duration.between(lastFailure, Instant.now()).compareTo(RETRY_AFTER) < 0
          || !starting.compareAndSet(false, true)) {
        return;
      }
      log.accept("replacing the " + name() + " template: " + why);
      io.execute(() -> {
        try {
          replace();
        } finally {
          starting.set(false);
        }
      });
    }

    /** Starts a new template and puts it in place of the old one, which ends after its executions. */
    boolean replace() {
      long begin = System.nanoTime();
      try {
        Template fresh = starter.start(flavour);
        Template old = current;
        current = fresh;
        started.incrementAndGet();
        closeSpares(); // the old template's
        if (old != null) {
          old.retire();
          retired.removeIf(Template::isReleased);
          retired.add(old);
        }
        if (closed) {
          fresh.close();
        } else {
          refill(fresh);
        }
        log.accept("template " + name() + " serving after " + (System.nanoTime() - begin) / 1_000_000 + " ms");
        return true;
      } catch (SandboxException | RuntimeException e) {
        lastFailure = Instant.now();
        log.accept("template " + name() + " failed to start; one-shot jails serve it meanwhile: " + e.getMessage());
        return false;
      }
    }

    private String name() {
      return flavour.name().toLowerCase();
    }
  }
}
