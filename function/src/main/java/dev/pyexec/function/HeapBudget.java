package dev.pyexec.function;

/**
 * How many executions (and waiting requests) the JVM heap can hold at their worst at once. A
 * hostile script can fill every cap it has (stdout, result, output files, diagnostics); the
 * server keeps a bounded number of copies of each (bytes as read, the decoded text, the
 * response), so one execution's worst case is {@link #COPIES} times the sum of its caps. A
 * request, waiting or running, also holds its body and the script decoded from it.
 *
 * @param maxHeapBytes {@code Runtime.maxMemory()}
 * @param perExecutionBytes worst case held for one running execution
 * @param perRequestBytes worst case held for one admitted or waiting request's body
 */
record HeapBudget(long maxHeapBytes, long perExecutionBytes, long perRequestBytes) {
  /** Copies of a capped output the server may hold at once (bytes, text, response). */
  static final int COPIES = 3;
  /** Output files an execution may return (SPEC: 16 MiB in all). */
  static final long FILES_CAP_BYTES = 16L << 20;
  /** nsjail and runner diagnostics kept per execution, with room for line buffers. */
  static final long DIAGNOSTICS_BYTES = 64L << 10;
  /**
   * The server itself: Jetty, the invoker, classes, the engine's bookkeeping. The soak measures
   * about 17 MiB live after a full collection; the rest is room for garbage between collections.
   */
  static final long SERVER_RESERVE_BYTES = 96L << 20;

  static HeapBudget of(long maxHeapBytes, int stdoutLimitBytes, int resultLimitBytes, int bodyLimitBytes) {
    long perExecution = COPIES * ((long) stdoutLimitBytes + resultLimitBytes + FILES_CAP_BYTES + DIAGNOSTICS_BYTES);
    return new HeapBudget(maxHeapBytes, perExecution, 2L * bodyLimitBytes);
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
        "heap %d MiB: %d MiB for the server, %d MiB per execution (%d x its output caps), %d MiB per request body;"
            + " %d executions + %d waiting need %d MiB%s",
        mib(maxHeapBytes), mib(SERVER_RESERVE_BYTES), mib(perExecutionBytes), COPIES, mib(perRequestBytes),
        c, q, mib(need(c, q)),
        lowered ? " (lowered from " + concurrency + " + " + queueSize + " to fit the heap"
            + (need(c, q) > room ? "; even this does not fit: give the JVM more memory" : "") + ")" : "");
    return new Fit(c, q, lowered, explanation);
  }

  private long need(int concurrency, int queueSize) {
    return concurrency * perExecutionBytes + (long) (concurrency + queueSize) * perRequestBytes;
  }

  private static long mib(long bytes) {
    return bytes >> 20;
  }
}
