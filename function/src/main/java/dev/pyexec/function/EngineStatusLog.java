package dev.pyexec.function;

import dev.pyexec.jailer.Sandbox;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Puts the engine's figures (templates serving, their executions and age, one-shot fallbacks) in
 * the log now and then, for operators who read logs rather than poll /health. A line only when
 * something changed since the last one, so an idle instance stays quiet. (Each request's own
 * line says which engine ran it.)
 */
final class EngineStatusLog implements AutoCloseable {
  private final Sandbox sandbox;
  private final RequestLog log;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "engine-status-log");
    thread.setDaemon(true);
    return thread;
  });
  private Map<String, Object> last = Map.of();

  EngineStatusLog(Sandbox sandbox, RequestLog log) {
    this.sandbox = sandbox;
    this.log = log;
  }

  /** Reports every {@code every} from now on, on a daemon thread of its own. */
  EngineStatusLog start(Duration every) {
    timer.scheduleWithFixedDelay(this::report, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** Logs the engine's figures if it has any and they changed since the last line. */
  synchronized void report() {
    Map<String, Object> stats = sandbox.health().engineStats();
    if (stats.isEmpty() || stats.equals(last)) {
      return;
    }
    last = stats;
    log.event("INFO", "engine status", stats);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
