package dev.pyexec.jailer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The nsjail policy and the Python runner, copied out of the jar into a private directory so
 * nsjail can read the policy and bind-mount the runner (read-only) into every jail.
 *
 * <p>The runner is compiled to bytecode once here, with the jails' own Python: a script file is
 * compiled again on every run (never cached), which cost each execution about 3 ms of CPU. Only
 * our own runner is compiled outside the jail; caller scripts never are.
 */
public final class JailAssets implements AutoCloseable {
  static final String CONFIG = "nsjail.cfg";
  static final String CONFIG_NO_PROC = "nsjail-noproc.cfg";
  static final String RUNNER = "runner.py";
  static final String RUNNER_COMPILED = "runner.pyc";
  static final String CONFIG_TEMPLATE = "nsjail-template.cfg";
  static final String ZYGOTE = "zygote.py";
  static final String ZYGOTE_COMPILED = "zygote.pyc";
  private static final Duration COMPILE_TIMEOUT = Duration.ofSeconds(20);
  private static final String COMPILE = "import py_compile, sys; py_compile.compile(sys.argv[1], "
      + "cfile=sys.argv[2], doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)";

  private final Path directory;
  private final Path runner;
  private final Path zygote;
  private final Optional<String> compileProblem;

  private JailAssets(Path directory, boolean compiled, Optional<String> compileProblem) {
    this.directory = directory;
    this.runner = directory.resolve(compiled ? RUNNER_COMPILED : RUNNER);
    this.zygote = directory.resolve(compiled ? ZYGOTE_COMPILED : ZYGOTE);
    this.compileProblem = compileProblem;
  }

  /** The assets with the runner as source only, for tests of the command line. */
  public static JailAssets extract() {
    return extract(null);
  }

  /** @param python the jails' Python, which compiles the runner; null leaves it as source */
  public static JailAssets extract(Path python) {
    try {
      Path dir = Files.createTempDirectory("pyexec-assets-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      // The jailed uid must be able to read the runner, nothing else of ours is mounted.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      for (String name : new String[] {CONFIG, RUNNER, ZYGOTE}) {
        try (InputStream in = JailAssets.class.getResourceAsStream(name)) {
          if (in == null) {
            throw new IllegalStateException("resource missing from the jar: " + name);
          }
          Path target = dir.resolve(name);
          Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
          Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        }
      }
      // The same policy without its own /proc, for runtimes that refuse a new procfs mount.
      List<String> noProc = Files.readAllLines(dir.resolve(CONFIG)).stream()
          .filter(line -> !line.contains("dst: \"/proc\""))
          .toList();
      Files.write(dir.resolve(CONFIG_NO_PROC), noProc);
      Files.setPosixFilePermissions(dir.resolve(CONFIG_NO_PROC), PosixFilePermissions.fromString("rw-r--r--"));
      Files.writeString(dir.resolve(CONFIG_TEMPLATE), templatePolicy(Files.readString(dir.resolve(CONFIG))));
      Files.setPosixFilePermissions(dir.resolve(CONFIG_TEMPLATE), PosixFilePermissions.fromString("rw-r--r--"));
      if (python == null) {
        return new JailAssets(dir, false, Optional.empty());
      }
      Optional<String> problem = compile(python, dir, RUNNER, RUNNER_COMPILED)
          .or(() -> compile(python, dir, ZYGOTE, ZYGOTE_COMPILED));
      return new JailAssets(dir, problem.isEmpty(), problem);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the jail assets", e);
    }
  }

  /**
   * The template jail's policy: the jail's own, less exactly what the template needs to give
   * each child fresh namespaces and mounts (mount, unshare, clone with namespace flags) and a
   * writable /proc for the children's uid maps. Each child installs the full policy again, and
   * more, before caller code runs (zygote.py).
   */
  static String templatePolicy(String policy) {
    String[][] edits = {
        {"mount { dst: \"/proc\" fstype: \"proc\" rw: false }", "mount { dst: \"/proc\" fstype: \"proc\" rw: true }"},
        {"seccomp_string: \"  mount, umount,", "seccomp_string: \"  umount,"},
        {"seccomp_string: \"  unshare, setns,\"", "seccomp_string: \"  setns,\""},
        {"seccomp_string: \"ERRNO(1) { clone { (clone_flags & 0x7E020000) != 0 } }\"\n", ""},
    };
    String result = policy;
    for (String[] edit : edits) {
      if (!result.contains(edit[0])) {
        throw new IllegalStateException("nsjail.cfg changed: the template policy cannot find " + edit[0]);
      }
      result = result.replace(edit[0], edit[1]);
    }
    return result;
  }

  private static Optional<String> compile(Path python, Path dir, String source, String target) {
    Path compiled = dir.resolve(target);
    Path log = dir.resolve("compile.log");
    try {
      Process process = new ProcessBuilder(python.toString(), "-I", "-S", "-c", COMPILE,
          dir.resolve(source).toString(), compiled.toString())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      boolean exited = process.waitFor(COMPILE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        process.destroyForcibly();
      }
      String output = Files.readString(log, StandardCharsets.UTF_8).strip();
      Files.delete(log);
      if (!exited || process.exitValue() != 0 || !Files.isRegularFile(compiled)) {
        Files.deleteIfExists(compiled);
        return Optional.of("compiling " + source + " failed: " + (exited ? output : "timed out"));
      }
      Files.setPosixFilePermissions(compiled, PosixFilePermissions.fromString("rw-r--r--"));
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("compiling " + source + " failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("compiling " + source + " was interrupted");
    }
  }

  /** Why the runner runs from source (slower by a compile per execution), if it does. */
  public Optional<String> compileProblem() {
    return compileProblem;
  }

  public Path config() {
    return directory.resolve(CONFIG);
  }

  public Path configWithoutProc() {
    return directory.resolve(CONFIG_NO_PROC);
  }

  /** The runner the jails start: its bytecode when that could be made, else its source. */
  public Path runner() {
    return runner;
  }

  /** The template's fork server, compiled like the runner. */
  public Path zygote() {
    return zygote;
  }

  public Path templateConfig() {
    return directory.resolve(CONFIG_TEMPLATE);
  }

  @Override
  public void close() {
    try {
      Files.deleteIfExists(config());
      Files.deleteIfExists(configWithoutProc());
      Files.deleteIfExists(templateConfig());
      for (String name : new String[] {RUNNER_COMPILED, RUNNER, ZYGOTE_COMPILED, ZYGOTE}) {
        Files.deleteIfExists(directory.resolve(name));
      }
      Files.deleteIfExists(directory);
    } catch (IOException e) {
      // Best effort: a temp directory of two small files is left behind at worst.
    }
  }
}
