package dev.pyexec.jailer;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One script to run, the wall-clock time it may take, what it reads on stdin and the files it
 * finds under /tmp.
 */
public record ScriptJob(String script, Duration timeout, byte[] stdin, List<InputFile> files) {
  public ScriptJob {
    Objects.requireNonNull(script, "script");
    Objects.requireNonNull(stdin, "stdin");
    files = List.copyOf(files);
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive");
    }
  }

  public ScriptJob(String script, Duration timeout) {
    this(script, timeout, new byte[0], List.of());
  }
}
