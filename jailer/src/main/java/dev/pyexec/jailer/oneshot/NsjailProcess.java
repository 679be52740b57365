package dev.pyexec.jailer.oneshot;

import dev.pyexec.jailer.CgroupMode;
import dev.pyexec.jailer.Cgroups;
import dev.pyexec.jailer.JailProcess;
import dev.pyexec.jailer.SandboxProfile;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A one-shot jail: one nsjail process whose PID 1 is the runner. */
final class NsjailProcess implements JailProcess {
  private static final Duration EXIT_GRACE = Duration.ofSeconds(2);

  private final Process process;
  private final SandboxProfile profile;
  private final Cgroups cgroups;

  NsjailProcess(Process process, SandboxProfile profile, Cgroups cgroups) {
    this.process = process;
    this.profile = profile;
    this.cgroups = cgroups;
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

  /** nsjail removes its groups itself when it can; after a SIGKILL they are still there. */
  private void removeLeftoverCgroups() {
    if (profile.cgroups() == CgroupMode.NONE) {
      return;
    }
    String group = "NSJAIL." + process.pid();
    for (Path parent : cgroups.parents()) {
      Cgroups.killAndRemove(parent.resolve(group));
    }
  }

}
