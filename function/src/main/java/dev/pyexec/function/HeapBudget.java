package dev.pyexec.function;

/**
 * How many executions (and requests waiting for one) the JVM heap can hold at their worst at
 * once. One execution's worst case is the server's per-execution budget
 * ({@link ServiceConfig#executionBudgetBytes}: the result frame, stdout, the job, slack). A
 * request waiting for a slot may be reading and parsing its body: the raw body and the parse
 * tree built from it, up to twice the body limit at once.
 *
 * @param maxHeapBytes {@code Runtime.maxMemory()}
 * @param perExecutionBytes worst case held for one running execution
 * @param perRequestBytes worst case held for one request while its body is read and parsed
 */
record HeapBudget(long maxHeapBytes, long perExecutionBytes, long perRequestBytes) {
  /**
   * The server itself: Jetty, the invoker, classes, the engine's bookkeeping. The soak measures
   * 10-18 MiB live after a full collection; the rest is room for garbage between collections.
   */
  static final long SERVER_RESERVE_BYTES = 96L << 20;

  static HeapBudget of(long maxHeapBytes, long perExecutionBytes, int bodyLimitBytes) {
    return new HeapBudget(maxHeapBytes, perExecutionBytes, 2L * bodyLimitBytes);
  }

  /** What the heap can hold, given what the operator asked for. */
  record Fit(int concurrency, int queueSize, boolean lowered, String explanation) {}

  /**
   * The asked concurrency and queue, lowered until their worst case fits the heap: the queue
   * first (turning a caller away is cheaper than running short of memory for all), then the
   * executions, never below one execution and an empty queue.
   */
  Fit fit(int concurrency, int queueSize) {
    long room = maxHeapBytes - SERVER_RESERVE_BYTES;
    int c = concurrency;
    int q = queueSize;
    while (q > 0 && need(c, q) > room) {
      q--;
    }
    while (c > 1 && need(c, q) > room) {
      c--;
    }
    boolean lowered = c != concurrency || q != queueSize;
    String explanation = String.format(
        "heap %d MiB: %d MiB for the server, %d MiB per execution, %d MiB per waiting request (body and parse);"
            + " %d executions + %d waiting need %d MiB%s",
        mib(maxHeapBytes), mib(SERVER_RESERVE_BYTES), mib(perExecutionBytes), mib(perRequestBytes),
        c, q, mib(need(c, q)),
        lowered ? " (lowered from " + concurrency + " + " + queueSize + " to fit the heap"
            + (need(c, q) > room ? "; even this does not fit: give the JVM more memory" : "") + ")" : "");
    return new Fit(c, q, lowered, explanation);
  }

  /**
   * At most executions + queue requests are in the instance at once (AdmissionControl's
   * intake). A running one holds its execution budget (its job included; its raw body is gone);
   * any other may be mid-parse. Running costs more than parsing, so the worst case is every slot
   * running and every queue place parsing.
   */
  private long need(int concurrency, int queueSize) {
    return concurrency * perExecutionBytes + (long) queueSize * perRequestBytes;
  }

  private static long mib(long bytes) {
    return bytes >> 20;
  }
}
