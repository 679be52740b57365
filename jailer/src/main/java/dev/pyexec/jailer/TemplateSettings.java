package dev.pyexec.jailer;

import java.time.Duration;

/**
 * When a template is replaced by a fresh one: after this many executions, or this age. A fresh
 * template bounds what any slow drift in a long-lived process (fragmentation, caches) can reach.
 */
public record TemplateSettings(long maxExecutions, Duration maxAge) {
  public TemplateSettings {
    if (maxExecutions < 1) {
      throw new IllegalArgumentException("maxExecutions must be positive, got " + maxExecutions);
    }
    if (maxAge.isNegative() || maxAge.isZero()) {
      throw new IllegalArgumentException("maxAge must be positive, got " + maxAge);
    }
  }

  public static TemplateSettings defaults() {
    return new TemplateSettings(5000, Duration.ofMinutes(30));
  }
}
