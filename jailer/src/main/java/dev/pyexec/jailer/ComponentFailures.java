package dev.pyexec.jailer;

/**
 * Where a part of the service that must keep running (a pool or template maintainer, an I/O
 * pump, the HTTP layer) reports that it died or ran out of memory, so the instance says it is
 * unhealthy instead of serving on half broken. The function's implementation turns /health 503
 * and logs the cause as an error.
 */
@FunctionalInterface
public interface ComponentFailures {
  void failed(String component, Throwable cause);

  /** For tools and tests that have nowhere to report to. */
  ComponentFailures IGNORE = (component, cause) -> { };
}
