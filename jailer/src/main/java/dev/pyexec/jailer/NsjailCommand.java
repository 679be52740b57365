package dev.pyexec.jailer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the nsjail command line for one jail: the fixed policy comes from the config file, the
 * per-jail and per-operator values from here.
 */
public final class NsjailCommand {
  /** Where the runner (source or bytecode) appears inside the jail. */
  static final String RUNNER_DIR_IN_JAIL = "/opt/pyexec/";
  /** RLIMIT_AS as a multiple of the memory limit where a cgroup is what bounds memory. */
  static final int CGROUP_ADDRESS_SPACE_FACTOR = 4;
  /** The uid scripts see inside a user namespace. */
  static final int JAIL_UID = 65534;

  private final SandboxSettings settings;
  private final JailAssets assets;
  private final Cgroups cgroups;

  /** For platforms without cgroups, or cgroup v1 at its standard place. */
  public NsjailCommand(SandboxSettings settings, JailAssets assets) {
    this(settings, assets, Cgroups.none("not detected"));
  }

  /** @param cgroups where the jails' cgroups go (cgroup-v2 profiles need its delegated parent) */
  public NsjailCommand(SandboxSettings settings, JailAssets assets, Cgroups cgroups) {
    this.settings = settings;
    this.assets = assets;
    this.cgroups = cgroups;
  }

  /**
   * @param lifetime how long the jail may live at most, a backstop behind the server's own
   *     wall-clock timeout (the jail may wait in the warm pool before its script arrives)
   */
  public List<String> build(SandboxProfile profile, Flavour flavour, int hostUid, Duration lifetime) {
    List<String> cmd = new ArrayList<>();
    cmd.add(settings.nsjail().toString());
    cmd.add("--config");
    cmd.add((profile.procfs() ? assets.config() : assets.configWithoutProc()).toString());
    if (profile.userNamespace()) {
      add(cmd, "--user", JAIL_UID + ":" + hostUid + ":1");
      add(cmd, "--group", JAIL_UID + ":" + hostUid + ":1");
    } else {
      cmd.add("--disable_clone_newuser");
      add(cmd, "--user", hostUid + ":" + hostUid + ":1");
      add(cmd, "--group", hostUid + ":" + hostUid + ":1");
    }
    add(cmd, "--time_limit", Long.toString(lifetime.toSeconds() + 1));
    // RLIMIT_CPU backstop; the runner lowers it to the request's timeout once the script arrives.
    add(cmd, "--rlimit_cpu", Long.toString(settings.maxTimeout().toSeconds() + 5));
    // Where a cgroup bounds memory, RLIMIT_AS is only a ceiling far above it: an address-space
    // limit also counts what threads reserve but never touch (a stack and a malloc arena each),
    // and at 512 MiB it stopped scripts at about 14 threads. The ceiling still turns one huge
    // allocation (np.ones(10**9)) into a clean MemoryError; growing use meets the cgroup.
    int addressSpaceMb = profile.cgroups() == CgroupMode.NONE
        ? settings.memoryMb()
        : settings.memoryMb() * CGROUP_ADDRESS_SPACE_FACTOR;
    add(cmd, "--rlimit_as", Integer.toString(addressSpaceMb));
    add(cmd, "--rlimit_fsize", Integer.toString(settings.maxFileMb()));
    add(cmd, "--rlimit_nproc", Integer.toString(settings.maxProcesses()));
    add(cmd, "--mount", "none:/tmp:tmpfs:size=" + ((long) settings.tmpfsMb() << 20) + ",mode=1777");
    String runnerInJail = RUNNER_DIR_IN_JAIL + assets.runner().getFileName();
    add(cmd, "--bindmount_ro", assets.runner() + ":" + runnerInJail);
    long memoryBytes = (long) settings.memoryMb() << 20;
    switch (profile.cgroups()) {
      case V1 -> {
        add(cmd, "--cgroup_mem_max", Long.toString(memoryBytes));
        add(cmd, "--cgroup_mem_parent", CgroupMode.PARENT);
        add(cmd, "--cgroup_pids_max", Integer.toString(settings.maxProcesses()));
        add(cmd, "--cgroup_pids_parent", CgroupMode.PARENT);
      }
      case V2 -> {
        cmd.add("--use_cgroupv2");
        // nsjail makes NSJAIL.<pid> under this directory, which must already hand memory and
        // pids to its children; by default it would try (and fail) at the container's own group.
        add(cmd, "--cgroupv2_mount", cgroups.v2Parent().orElseThrow(() -> new IllegalStateException(
            "a cgroup v2 profile without a delegated cgroup: " + cgroups.detail())).toString());
        add(cmd, "--cgroup_mem_max", Long.toString(memoryBytes));
        add(cmd, "--cgroup_pids_max", Integer.toString(settings.maxProcesses()));
      }
      case NONE -> { }
    }
    cmd.add("--");
    cmd.add(settings.python().toString());
    cmd.add("-I"); // isolated: no PYTHON* variables, no user site, no script dir on sys.path
    cmd.add("-S"); // no site: it costs every execution milliseconds; the runner sets sys.path
    cmd.add("-B");
    cmd.add(runnerInJail);
    cmd.add(flavour.preload());
    return List.copyOf(cmd);
  }

  private static void add(List<String> cmd, String flag, String value) {
    cmd.add(flag);
    cmd.add(value);
  }
}
