package dev.pyexec.jailer.oneshot;

import dev.pyexec.jailer.Cgroups;
import dev.pyexec.jailer.Flavour;
import dev.pyexec.jailer.Jail;
import dev.pyexec.jailer.JailAssets;
import dev.pyexec.jailer.NsjailCommand;
import dev.pyexec.jailer.SandboxException;
import dev.pyexec.jailer.SandboxProfile;
import dev.pyexec.jailer.SandboxSettings;
import dev.pyexec.jailer.UidAllocator;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;

/** Starts jails: one nsjail process each, its runner importing its flavour's preloads. */
public final class NsjailLauncher {
  private final SandboxSettings settings;
  private final NsjailCommand command;
  private final Cgroups cgroups;
  private final UidAllocator uids;
  private final ExecutorService io;
  private final Set<Jail> live = ConcurrentHashMap.newKeySet();

  public NsjailLauncher(SandboxSettings settings, JailAssets assets, UidAllocator uids,
      ExecutorService io) {
    this(settings, assets, uids, io, Cgroups.none("not detected"));
  }

  /** @param cgroups where the jails' cgroups go, as detected at start */
  public NsjailLauncher(SandboxSettings settings, JailAssets assets, UidAllocator uids,
      ExecutorService io, Cgroups cgroups) {
    this.settings = settings;
    this.command = new NsjailCommand(settings, assets, cgroups);
    this.cgroups = cgroups;
    this.uids = uids;
    this.io = io;
  }

  /**
   * @param lifetime the longest this jail may exist, waiting included (nsjail's own backstop)
   */
  public Jail launch(SandboxProfile profile, Flavour flavour, Duration lifetime) throws SandboxException {
    ProcessBuilder builder = new ProcessBuilder(command.build(profile, flavour, uids.next(), lifetime));
    // nsjail passes the jail an environment of its own (keep_env: false); give it none of ours.
    builder.environment().clear();
    builder.directory(new java.io.File("/"));
    try {
      Jail jail = new Jail(new NsjailProcess(builder.start(), profile, cgroups), settings, io);
      live.add(jail);
      jail.onClose(() -> live.remove(jail));
      return jail;
    } catch (IOException e) {
      throw new SandboxException("cannot start nsjail at " + settings.nsjail() + ": " + e.getMessage(), e);
    }
  }

  public SandboxSettings settings() {
    return settings;
  }

  /** Ends every jail this launcher started that is still running (at shutdown). */
  public void closeAll() {
    List.copyOf(live).forEach(Jail::close);
  }
}
