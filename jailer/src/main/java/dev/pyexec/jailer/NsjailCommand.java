package dev.pyexec.jailer;

import java.nio.file.Path;
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
    add(cmd, "--rlimit_as", Integer.toString(addressSpaceMb(settings, profile)));
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

  /**
   * The long-lived jail of a template: the same system view, uid mapping and namespaces, with
   * the template's policy (see {@link JailAssets#templatePolicy}), no time limit, its /tmp bound
   * from a private host directory that holds its socket (and its cgroup directories), and the
   * zygote in place of the runner. Executions get their own limits from the zygote.
   *
   * @param zygoteSettings the zygote's JSON settings (limits, mounts, cgroups for each child)
   */
  public List<String> buildTemplate(int hostUid, Path hostDir, List<String> cgroupMounts, String zygoteSettings) {
    List<String> cmd = new ArrayList<>();
    cmd.add(settings.nsjail().toString());
    cmd.add("--config");
    cmd.add(assets.templateConfig().toString());
    add(cmd, "--user", JAIL_UID + ":" + hostUid + ":1");
    add(cmd, "--group", JAIL_UID + ":" + hostUid + ":1");
    // The children join their per-execution cgroups, which must lie inside the cgroup namespace
    // they start in; each then unshares its own.
    cmd.add("--disable_clone_newcgroup");
    add(cmd, "--time_limit", "0");
    // nsjail's default niceness (19) would make every execution wait for a starved template;
    // each child lowers its own before the script runs (zygote.py).
    add(cmd, "--nice_level", "0");
    add(cmd, "--rlimit_cpu", "inf");
    add(cmd, "--rlimit_as", "inf");
    add(cmd, "--rlimit_fsize", Integer.toString(settings.maxFileMb()));
    // Counts the template's processes and every child's: each child has its own, lower limit.
    add(cmd, "--rlimit_nproc", Integer.toString(settings.maxProcesses() * 64));
    add(cmd, "--bindmount", hostDir + ":/tmp");
    for (String mount : cgroupMounts) {
      add(cmd, "--bindmount", mount);
    }
    add(cmd, "--bindmount_ro", assets.runner() + ":" + RUNNER_DIR_IN_JAIL + assets.runner().getFileName());
    add(cmd, "--bindmount_ro", assets.zygote() + ":" + RUNNER_DIR_IN_JAIL + assets.zygote().getFileName());
    cmd.add("--");
    cmd.add(settings.python().toString());
    cmd.add("-I");
    cmd.add("-S");
    cmd.add("-B");
    cmd.add(RUNNER_DIR_IN_JAIL + assets.zygote().getFileName());
    cmd.add(zygoteSettings);
    return List.copyOf(cmd);
  }

  /**
   * RLIMIT_AS of an execution, in MiB. Where a cgroup bounds memory, it is only a ceiling far
   * above it: an address-space limit also counts what threads reserve but never touch (a stack
   * and a malloc arena each), and at 512 MiB it stopped scripts at about 14 threads. The ceiling
   * still turns one huge allocation (np.ones(10**9)) into a clean MemoryError; growing use meets
   * the cgroup.
   */
  public static int addressSpaceMb(SandboxSettings settings, SandboxProfile profile) {
    return profile.cgroups() == CgroupMode.NONE
        ? settings.memoryMb()
        : settings.memoryMb() * CGROUP_ADDRESS_SPACE_FACTOR;
  }

  private static void add(List<String> cmd, String flag, String value) {
    cmd.add(flag);
    cmd.add(value);
  }
}
