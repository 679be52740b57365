package dev.pyexec.jailer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A one-shot jail: one nsjail process whose PID 1 is the runner. */
final class NsjailProcess implements JailProcess {
  private static final Duration EXIT_GRACE = Duration.ofSeconds(2);

  private final Process process;
  private final SandboxProfile profile;

  NsjailProcess(Process process, SandboxProfile profile) {
    this.process = process;
    this.profile = profile;
  }

  @Override
  public OutputStream jobInput() {
    return process.getOutputStream();
  }

  @Override
  public InputStream stdout() {
    return process.getInputStream();
  }

  @Override
  public InputStream channel() {
    return process.getErrorStream();
  }

  @Override
  public boolean waitFor(Duration wait) {
    try {
      return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public int exitCode() {
    return process.isAlive() ? -1 : process.exitValue();
  }

  /**
   * SIGTERM first so nsjail kills its namespace and removes its cgroups itself; SIGKILL if it
   * does not go; then any cgroup it left behind is removed.
   */
  @Override
  public void destroy() {
    if (process.isAlive()) {
      process.destroy();
      if (!waitFor(EXIT_GRACE)) {
        process.destroyForcibly();
        waitFor(EXIT_GRACE);
      }
    }
    removeLeftoverCgroups();
  }

  private void removeLeftoverCgroups() {
    if (profile.cgroups() != CgroupMode.V1) {
      return;
    }
    String group = "NSJAIL." + process.pid();
    for (String controller : new String[] {"memory", "pids"}) {
      Path dir = CgroupMode.ROOT.resolve(controller).resolve(CgroupMode.PARENT).resolve(group);
      try {
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        // Still populated for a moment, or gone already; the janitor sweep catches the rest.
      }
    }
  }
}
