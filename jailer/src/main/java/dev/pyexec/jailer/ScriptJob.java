package dev.pyexec.jailer;

import java.time.Duration;
import java.util.Objects;

/** One script to run and the wall-clock time it may take. */
public record ScriptJob(String script, Duration timeout) {
  public ScriptJob {
    Objects.requireNonNull(script, "script");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive");
    }
  }
}
