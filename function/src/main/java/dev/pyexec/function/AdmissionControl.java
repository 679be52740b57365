package dev.pyexec.function;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the executions an instance runs at once. The invoker serves up to 1024 requests at a
 * time; past the bound a few wait briefly in a bounded queue, the rest are turned away at once so
 * the caller can retry elsewhere instead of piling onto a saturated instance. The same bound
 * (executions + queue) applies to requests whose bodies are being read, before they ask for a
 * slot, so the heap never holds more bodies than {@link HeapBudget} counted.
 */
final class AdmissionControl {
  private final Semaphore intake;
  private final Semaphore running;
  private final AtomicInteger waiting = new AtomicInteger();
  private final int queueSize;
  private final Duration maxWait;

  AdmissionControl(int concurrency, int queueSize, Duration maxWait) {
    this.intake = new Semaphore(concurrency + queueSize);
    this.running = new Semaphore(concurrency, true);
    this.queueSize = queueSize;
    this.maxWait = maxWait;
  }

  /**
   * Room for one more request in the instance (its body read, waiting, running), to be closed
   * when it is answered; throws 503 at once when executions + queue are all taken.
   */
  Intake intake() throws ApiError {
    if (!intake.tryAcquire()) {
      // Answered before the body is read: the connection cannot carry another request after
      // this one (the rest of the body is still on it), so say so, or a client that reuses it
      // would find it closed under its next request.
      throw new ApiError(503, "overloaded", "This instance is saturated (every execution slot and queue place is"
          + " taken); retry shortly", java.util.Map.of("Retry-After", "1", "Connection", "close"));
    }
    return new Intake();
  }

  /** A slot to run in, to be closed when done; throws 503 when the instance is saturated. */
  Permit admit() throws ApiError, InterruptedException {
    if (running.tryAcquire()) {
      return new Permit();
    }
    if (waiting.incrementAndGet() > queueSize) {
      waiting.decrementAndGet();
      throw saturated("all execution slots are busy and the wait queue is full");
    }
    try {
      if (running.tryAcquire(maxWait.toMillis(), TimeUnit.MILLISECONDS)) {
        return new Permit();
      }
    } finally {
      waiting.decrementAndGet();
    }
    throw saturated("no execution slot became free within " + maxWait.toSeconds() + " s");
  }

  private static ApiError saturated(String why) {
    return new ApiError(503, "overloaded", "This instance is saturated (" + why + "); retry shortly",
        java.util.Map.of("Retry-After", "1"));
  }

  /** Returns its place exactly once. */
  final class Intake implements AutoCloseable {
    private boolean released;

    @Override
    public void close() {
      if (!released) {
        released = true;
        intake.release();
      }
    }
  }

  /** Returns its slot exactly once. */
  final class Permit implements AutoCloseable {
    private boolean released;

    @Override
    public void close() {
      if (!released) {
        released = true;
        running.release();
      }
    }
  }
}
