package dev.pyexec.function;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the time a request body may take to arrive. Jetty's idle timeout restarts with every
 * byte, so a client sending one byte a second would hold a request thread for as long as it
 * likes; past the deadline its connection is closed, which fails the blocked read.
 */
final class ReadDeadline {
  private final Duration limit;
  private final ScheduledExecutorService timer;

  ReadDeadline(Duration limit) {
    this.limit = limit;
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "body-read-deadline");
      thread.setDaemon(true);
      return thread;
    });
    executor.setRemoveOnCancelPolicy(true);
    this.timer = executor;
  }

  Duration limit() {
    return limit;
  }

  /** Starts the clock for one body; closing the handle stops it. */
  Handle start(Optional<ClientConnection> connection) {
    Handle handle = new Handle();
    if (connection.isEmpty()) {
      return handle;
    }
    handle.task = timer.schedule(() -> {
      handle.expired = true;
      connection.get().abort();
    }, limit.toMillis(), TimeUnit.MILLISECONDS);
    return handle;
  }

  static final class Handle implements AutoCloseable {
    private volatile ScheduledFuture<?> task;
    private volatile boolean expired;

    boolean expired() {
      return expired;
    }

    @Override
    public void close() {
      ScheduledFuture<?> t = task;
      if (t != null) {
        t.cancel(false);
      }
    }
  }
}
