package dev.pyexec.function;

import dev.pyexec.jailer.PoolSettings;
import dev.pyexec.jailer.SandboxSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The operator's settings, read from environment variables (all optional; README lists them) and
 * validated at start-up so a typo stops the instance with a clear message instead of running
 * with a surprise.
 */
record ServiceConfig(
    SandboxSettings sandbox,
    PoolSettings pool,
    Duration defaultTimeout,
    int scriptLimitBytes,
    int bodyLimitBytes,
    int concurrency,
    int queueSize,
    Duration queueWait,
    Duration bodyReadTimeout,
    HeapBudget.Fit heapFit) {

  /** Without a heap bound (tests, tools): as if the heap were unlimited. */
  static ServiceConfig fromEnvironment(Map<String, String> env, int cpus) {
    return fromEnvironment(env, cpus, Long.MAX_VALUE);
  }

  /** @param maxHeapBytes {@code Runtime.maxMemory()}: concurrency and queue are lowered to fit it */
  static ServiceConfig fromEnvironment(Map<String, String> env, int cpus, long maxHeapBytes) {
    Reader r = new Reader(env);
    int concurrency = r.integer("PYEXEC_MAX_CONCURRENCY", Math.max(2, Math.min(16, 2 * cpus)), 1, 1024);
    int maxTimeout = r.integer("PYEXEC_MAX_TIMEOUT_S", 30, 1, 3600);
    double defaultTimeout = r.number("PYEXEC_DEFAULT_TIMEOUT_S", Math.min(10, maxTimeout), 0.001, maxTimeout);
    Path nsjail = r.executable("PYEXEC_NSJAIL", "nsjail");
    Path python = Path.of(r.string("PYEXEC_PYTHON", "/usr/bin/python3"));
    SandboxSettings sandbox = new SandboxSettings(
        nsjail,
        python,
        r.integer("PYEXEC_MEMORY_MB", 512, 64, 65536),
        r.integer("PYEXEC_MAX_PROCESSES", 32, 4, 4096),
        r.integer("PYEXEC_TMPFS_MB", 64, 1, 65536),
        r.integer("PYEXEC_MAX_FILE_MB", 16, 1, 65536),
        r.integer("PYEXEC_STDOUT_LIMIT_BYTES", 1 << 20, 1024, 64 << 20),
        r.integer("PYEXEC_RESULT_LIMIT_BYTES", 8 << 20, 1024, 64 << 20),
        Duration.ofSeconds(maxTimeout));
    PoolSettings pool = poolSettings(r, cpus);
    int scriptLimit = r.integer("PYEXEC_SCRIPT_LIMIT_BYTES", 256 * 1024, 1024, 16 << 20);
    // JSON escaping can make a script's body several times its own size.
    int bodyLimit = r.integer("PYEXEC_BODY_LIMIT_BYTES", Math.max(2 << 20, scriptLimit * 7), 1024, 256 << 20);
    int queueSize = r.integer("PYEXEC_QUEUE_SIZE", 8 * concurrency, 0, 100_000);
    HeapBudget.Fit fit = HeapBudget.of(maxHeapBytes, sandbox.stdoutLimitBytes(), sandbox.resultLimitBytes(), bodyLimit)
        .fit(concurrency, queueSize);
    ServiceConfig config = new ServiceConfig(
        sandbox,
        pool,
        Duration.ofMillis(Math.round(defaultTimeout * 1000)),
        scriptLimit,
        bodyLimit,
        fit.concurrency(),
        fit.queueSize(),
        Duration.ofMillis(r.integer("PYEXEC_QUEUE_WAIT_MS", 10_000, 0, 600_000)),
        Duration.ofSeconds(r.integer("PYEXEC_BODY_READ_TIMEOUT_S", 30, 1, 3600)),
        fit);
    r.failIfProblems();
    return config;
  }

  private static PoolSettings poolSettings(Reader r, int cpus) {
    PoolSettings d = PoolSettings.defaults(cpus);
    boolean enabled = r.flag("PYEXEC_POOL", true);
    int plainMin = r.integer("PYEXEC_POOL_PLAIN_MIN", d.plainMin(), 0, 256);
    int plainMax = r.integer("PYEXEC_POOL_PLAIN_MAX", Math.max(plainMin, d.plainMax()), 0, 256);
    int dataMin = r.integer("PYEXEC_POOL_DATA_MIN", d.dataMin(), 0, 256);
    int dataMax = r.integer("PYEXEC_POOL_DATA_MAX", Math.max(dataMin, d.dataMax()), 0, 256);
    if (plainMax < plainMin || dataMax < dataMin) {
      r.problem("pool maximum below minimum (PYEXEC_POOL_*_MIN/MAX)");
      return PoolSettings.off();
    }
    return new PoolSettings(enabled, plainMin, plainMax, dataMin, dataMax,
        Duration.ofSeconds(r.integer("PYEXEC_POOL_MAX_IDLE_S", (int) d.maxIdle().toSeconds(), 1, 3600)),
        r.integer("PYEXEC_POOL_REFILL_PARALLELISM", d.refillParallelism(), 1, 64),
        r.integer("PYEXEC_POOL_MEMORY_MB", d.memoryCeilingMb(), 0, 1 << 20));
  }

  /** Collects every bad variable, so the operator fixes them in one go. */
  private static final class Reader {
    private final Map<String, String> env;
    private final List<String> problems = new ArrayList<>();

    Reader(Map<String, String> env) {
      this.env = env;
    }

    String string(String name, String fallback) {
      String value = env.get(name);
      return value == null || value.isBlank() ? fallback : value.trim();
    }

    int integer(String name, int fallback, int min, int max) {
      String value = env.get(name);
      if (value == null || value.isBlank()) {
        return fallback;
      }
      try {
        int parsed = Integer.parseInt(value.trim());
        if (parsed < min || parsed > max) {
          problem(name + "=" + value + " is out of range " + min + ".." + max);
          return fallback;
        }
        return parsed;
      } catch (NumberFormatException e) {
        problem(name + "=" + value + " is not a whole number");
        return fallback;
      }
    }

    double number(String name, double fallback, double min, double max) {
      String value = env.get(name);
      if (value == null || value.isBlank()) {
        return fallback;
      }
      try {
        double parsed = Double.parseDouble(value.trim());
        if (!(parsed >= min && parsed <= max)) {
          problem(name + "=" + value + " is out of range " + min + ".." + max);
          return fallback;
        }
        return parsed;
      } catch (NumberFormatException e) {
        problem(name + "=" + value + " is not a number");
        return fallback;
      }
    }

    boolean flag(String name, boolean fallback) {
      String value = string(name, fallback ? "on" : "off").toLowerCase();
      return switch (value) {
        case "on", "true", "1", "yes" -> true;
        case "off", "false", "0", "no" -> false;
        default -> {
          problem(name + "=" + value + " must be on or off");
          yield fallback;
        }
      };
    }

    /** A path, or a bare name looked up on PATH like a shell would. */
    Path executable(String name, String fallback) {
      String value = string(name, fallback);
      if (value.contains("/")) {
        return Path.of(value);
      }
      for (String dir : env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin").split(":")) {
        Path candidate = Path.of(dir.isEmpty() ? "." : dir, value);
        if (Files.isExecutable(candidate)) {
          return candidate.toAbsolutePath();
        }
      }
      return Path.of(value);
    }

    void problem(String text) {
      problems.add(text);
    }

    void failIfProblems() {
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException("invalid configuration: " + String.join("; ", problems));
      }
    }
  }
}
