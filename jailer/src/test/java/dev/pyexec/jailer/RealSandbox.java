package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertWithMessage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The real nsjail and Python, as the tests use them: never a fake. */
final class RealSandbox {
  private RealSandbox() {}

  static Path nsjail() {
    String configured = System.getProperty("pyexec.nsjail", "nsjail");
    Path path = Path.of(configured);
    if (!path.isAbsolute()) {
      Path cached = Path.of(System.getProperty("user.home"), ".cache", "pyexec", "nsjail");
      path = cached.toFile().exists() ? cached : path;
    }
    return path;
  }

  static SandboxSettings settings() {
    return SandboxSettings.defaults(nsjail());
  }

  /** Starts a sandbox and insists it is healthy: a test of isolation must not pass vacuously. */
  static Sandbox start(SandboxSettings settings, PoolSettings pool, List<String> log) {
    Sandbox sandbox = new SandboxStarter(settings, log::add).start(pool);
    assertWithMessage("sandbox must come up for these tests; log: %s", log)
        .that(sandbox.health().healthy()).isTrue();
    return sandbox;
  }

  static Sandbox start(PoolSettings pool) {
    return start(settings(), pool, new ArrayList<>());
  }
}
