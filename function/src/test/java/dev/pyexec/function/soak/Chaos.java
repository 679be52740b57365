package dev.pyexec.function.soak;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Every few seconds, SIGKILLs one process chosen at random among the server's descendants: a
 * jail, an nsjail, a runner, a template or its zygote, whatever the engine runs. Remembers when,
 * so that a request in flight at a kill may fail (500 sandbox_error) without counting as wrong.
 */
final class Chaos implements Runnable {
  private final ProcessCensus census;
  private final Duration every;
  private final long until;
  private final Random random;
  final ConcurrentLinkedQueue<Long> killTimes = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<String> victims = new ConcurrentLinkedQueue<>();

  Chaos(ProcessCensus census, Duration every, long untilNanos, long seed) {
    this.census = census;
    this.every = every;
    this.until = untilNanos;
    this.random = new Random(seed);
  }

  @Override
  public void run() {
    while (System.nanoTime() < until) {
      try {
        Thread.sleep(every.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      List<Long> targets = census.descendants();
      if (targets.isEmpty() || System.nanoTime() >= until) {
        continue;
      }
      long pid = targets.get(random.nextInt(targets.size()));
      String who = ProcessCensus.describe(pid);
      killTimes.add(System.nanoTime());
      // ProcessHandle checks the start time too, so a reused pid is never hit.
      if (ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false)) {
        victims.add(who);
      }
    }
  }

  int kills() {
    return victims.size();
  }

  /** Whether a kill happened while a request was in flight, or shortly before it (margin). */
  boolean overlaps(long startNanos, long endNanos, Duration margin) {
    for (long t : killTimes) {
      if (t >= startNanos - margin.toNanos() && t <= endNanos) {
        return true;
      }
    }
    return false;
  }
}
