package dev.pyexec.function;

import dev.pyexec.jailer.EngineSettings;
import dev.pyexec.jailer.TemplateSettings;
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
    EngineSettings engine,
    Duration defaultTimeout,
    int scriptLimitBytes,
    int bodyLimitBytes,
    int concurrency,
    int queueSize,
    Duration queueWait) {

  static ServiceConfig fromEnvironment(Map<String, String> env, int cpus) {
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
    EngineSettings engine = engineSettings(r);
    int scriptLimit = r.integer("PYEXEC_SCRIPT_LIMIT_BYTES", 256 * 1024, 1024, 16 << 20);
    ServiceConfig config = new ServiceConfig(
        sandbox,
        engine,
        Duration.ofMillis(Math.round(defaultTimeout * 1000)),
        scriptLimit,
        // JSON escaping can make a script several times its own size; base64 makes files 4/3 of
        // theirs: room for the script, stdin (1 MiB) and input files (8 MiB) caps at once.
        r.integer("PYEXEC_BODY_LIMIT_BYTES", Math.max(16 << 20, scriptLimit * 7 + (14 << 20)), 1024, 256 << 20),
        concurrency,
        r.integer("PYEXEC_QUEUE_SIZE", 8 * concurrency, 0, 100_000),
        Duration.ofMillis(r.integer("PYEXEC_QUEUE_WAIT_MS", 10_000, 0, 600_000)));
    r.failIfProblems();
    return config;
  }

  /** Slack for what is not a cap: the frame's parsed JSON line, I/O buffers, small objects. */
  static final long BUDGET_SLACK_BYTES = 4L << 20;

  /**
   * What the server holds for one execution at most, whatever the script does (README, "Memory
   * per execution"): the one result frame (its JSON line, the result and the output files, held
   * once and streamed out), stdout up to three times (the captured bytes, and their text, up to
   * twice the bytes, while the response is written), the stdin and input files of the job, and slack.
   */
  long executionBudgetBytes() {
    return dev.pyexec.jailer.JobLimits.frameLimit(sandbox.resultLimitBytes())
        + 3L * sandbox.stdoutLimitBytes()
        + dev.pyexec.jailer.JobLimits.STDIN_BYTES + dev.pyexec.jailer.JobLimits.INPUT_BYTES
        + scriptLimitBytes * 2L
        + BUDGET_SLACK_BYTES;
  }

  private static EngineSettings engineSettings(Reader r) {
    TemplateSettings d = TemplateSettings.defaults();
    TemplateSettings template = new TemplateSettings(
        r.integer("PYEXEC_TEMPLATE_MAX_EXECUTIONS", (int) d.maxExecutions(), 1, 100_000_000),
        Duration.ofSeconds(r.integer("PYEXEC_TEMPLATE_MAX_AGE_S", (int) d.maxAge().toSeconds(), 1, 7 * 24 * 3600)));
    String engine = r.string("PYEXEC_ENGINE", "template").toLowerCase();
    return switch (engine) {
      case "template" -> new EngineSettings(EngineSettings.Engine.TEMPLATE, template);
      case "oneshot" -> new EngineSettings(EngineSettings.Engine.ONESHOT, template);
      default -> {
        r.problem("PYEXEC_ENGINE=" + engine + " must be template or oneshot");
        yield EngineSettings.defaults();
      }
    };
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
