package dev.pyexec.jailer.oneshot;

import dev.pyexec.jailer.Flavour;
import dev.pyexec.jailer.Jail;
import dev.pyexec.jailer.JailProvider;
import dev.pyexec.jailer.SandboxException;
import dev.pyexec.jailer.SandboxProfile;
import java.time.Duration;
import java.util.Map;

/** Starts a fresh jail for every execution: the one-shot engine, and the template engine's fallback. */
public final class ColdJails implements JailProvider {
  private final NsjailLauncher launcher;
  private final SandboxProfile profile;

  public ColdJails(NsjailLauncher launcher, SandboxProfile profile) {
    this.launcher = launcher;
    this.profile = profile;
  }

  @Override
  public Lease take(Flavour flavour) throws SandboxException {
    // A cold jail preloads nothing: the script imports what it uses, once.
    Duration lifetime = launcher.settings().maxTimeout().plus(Jail.STARTUP_ALLOWANCE);
    return new Lease(launcher.launch(profile, Flavour.PLAIN, lifetime), "cold");
  }

  @Override
  public Map<String, Object> stats() {
    return Map.of();
  }

  @Override
  public void close() {}
}
