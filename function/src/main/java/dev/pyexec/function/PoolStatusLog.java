package dev.pyexec.function;

import dev.pyexec.jailer.Sandbox;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Puts the warm pool's sizes, hits and misses in the log now and then, for operators who read
 * logs rather than poll /health. A line only when something changed since the last one, so an
 * idle instance stays quiet. (Each request's own line says where its jail came from.)
 */
final class PoolStatusLog implements AutoCloseable {
  private final Sandbox sandbox;
  private final RequestLog log;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "pool-status-log");
    thread.setDaemon(true);
    return thread;
  });
  private Map<String, Object> last = Map.of();

  PoolStatusLog(Sandbox sandbox, RequestLog log) {
    this.sandbox = sandbox;
    this.log = log;
  }

  /** Reports every {@code every} from now on, on a daemon thread of its own. */
  PoolStatusLog start(Duration every) {
    timer.scheduleWithFixedDelay(this::report, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** Logs the pool's figures if the pool is on and they changed since the last line. */
  synchronized void report() {
    Map<String, Object> pool = sandbox.health().pool();
    if (pool.isEmpty() || pool.equals(last)) {
      return;
    }
    last = pool;
    log.event("INFO", "warm pool status", pool);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
