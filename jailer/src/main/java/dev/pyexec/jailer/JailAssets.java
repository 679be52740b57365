package dev.pyexec.jailer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The nsjail policy and the Python runner, copied out of the jar into a private directory so
 * nsjail can read the policy and bind-mount the runner (read-only) into every jail.
 */
public final class JailAssets implements AutoCloseable {
  static final String CONFIG = "nsjail.cfg";
  static final String CONFIG_NO_PROC = "nsjail-noproc.cfg";
  static final String RUNNER = "runner.py";

  private final Path directory;

  private JailAssets(Path directory) {
    this.directory = directory;
  }

  public static JailAssets extract() {
    try {
      Path dir = Files.createTempDirectory("pyexec-assets-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      // The jailed uid must be able to read the runner, nothing else of ours is mounted.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      for (String name : new String[] {CONFIG, RUNNER}) {
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
      return new JailAssets(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the jail assets", e);
    }
  }

  public Path config() {
    return directory.resolve(CONFIG);
  }

  public Path configWithoutProc() {
    return directory.resolve(CONFIG_NO_PROC);
  }

  public Path runner() {
    return directory.resolve(RUNNER);
  }

  @Override
  public void close() {
    try {
      Files.deleteIfExists(config());
      Files.deleteIfExists(configWithoutProc());
      Files.deleteIfExists(runner());
      Files.deleteIfExists(directory);
    } catch (IOException e) {
      // Best effort: a temp directory of two small files is left behind at worst.
    }
  }
}
