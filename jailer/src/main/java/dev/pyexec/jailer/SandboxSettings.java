package dev.pyexec.jailer;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The operator's limits for every execution (SPEC section 2). Callers only choose a timeout,
 * and never one above {@link #maxTimeout()}.
 */
public record SandboxSettings(
    Path nsjail,
    Path python,
    int memoryMb,
    int maxProcesses,
    int tmpfsMb,
    int maxFileMb,
    int stdoutLimitBytes,
    int resultLimitBytes,
    Duration maxTimeout) {

  public SandboxSettings {
    requirePositive("memoryMb", memoryMb);
    requirePositive("maxProcesses", maxProcesses);
    requirePositive("tmpfsMb", tmpfsMb);
    requirePositive("maxFileMb", maxFileMb);
    requirePositive("stdoutLimitBytes", stdoutLimitBytes);
    requirePositive("resultLimitBytes", resultLimitBytes);
    if (maxTimeout.isNegative() || maxTimeout.isZero()) {
      throw new IllegalArgumentException("maxTimeout must be positive, got " + maxTimeout);
    }
    if (memoryMb < 64) {
      throw new IllegalArgumentException("memoryMb must be at least 64 (Python needs it), got " + memoryMb);
    }
  }

  public static SandboxSettings defaults(Path nsjail) {
    return new SandboxSettings(
        nsjail, Path.of("/usr/bin/python3"), 512, 32, 64, 16, 1 << 20, 8 << 20, Duration.ofSeconds(30));
  }

  private static void requirePositive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }
}
