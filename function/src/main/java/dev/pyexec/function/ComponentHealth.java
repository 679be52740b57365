package dev.pyexec.function;

import dev.pyexec.jailer.ComponentFailures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Which parts of this instance have died. A thread that ends on an uncaught exception, or any
 * part that reports an {@link OutOfMemoryError} or a death of its own, is logged as an error
 * with its cause and makes /health 503 for good: a component that silently stopped (a pool that
 * never refills, a template that is never restarted) degrades every later request, and Cloud
 * Run replaces an instance only when its probe fails.
 */
final class ComponentHealth implements ComponentFailures, Thread.UncaughtExceptionHandler {
  private final RequestLog log;
  private final Map<String, String> failed = new ConcurrentSkipListMap<>();

  ComponentHealth(RequestLog log) {
    this.log = log;
  }

  @Override
  public void failed(String component, Throwable cause) {
    failed.putIfAbsent(component, String.valueOf(cause));
    log.event("ERROR", component + " failed: " + cause + "; this instance now reports itself unhealthy",
        Map.of("component", component, "cause", stackTrace(cause)));
  }

  /** The JVM-wide fallback: every thread nobody else watches reports here when it dies. */
  @Override
  public void uncaughtException(Thread thread, Throwable cause) {
    failed("thread " + thread.getName(), cause);
  }

  boolean healthy() {
    return failed.isEmpty();
  }

  /** Names of the failed components, for /health (the causes are in the log). */
  List<String> failedComponents() {
    return List.copyOf(failed.keySet());
  }

  private static String stackTrace(Throwable cause) {
    StringWriter text = new StringWriter();
    try {
      cause.printStackTrace(new PrintWriter(text));
    } catch (Throwable t) {
      // Out of memory again while printing: the message alone will do.
      return String.valueOf(cause);
    }
    String trace = text.toString();
    return trace.length() > 8000 ? trace.substring(0, 8000) : trace;
  }
}
