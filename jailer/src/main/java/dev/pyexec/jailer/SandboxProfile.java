package dev.pyexec.jailer;

import java.util.ArrayList;
import java.util.List;

/**
 * How strongly this platform lets us isolate a jail. Every profile keeps its own network, mount,
 * PID, IPC and UTS namespaces, an unprivileged uid, no capabilities, no_new_privs and the seccomp
 * policy; they differ in the user namespace (which some platforms refuse), in whether cgroups
 * back the memory and process limits, and in whether the jail gets its own /proc (a container
 * runtime that masks parts of its /proc makes the kernel refuse a new one).
 */
public record SandboxProfile(String name, boolean userNamespace, CgroupMode cgroups, boolean procfs) {

  public SandboxProfile(String name, boolean userNamespace, CgroupMode cgroups) {
    this(name, userNamespace, cgroups, true);
  }

  /** Strongest first; the self-test takes the first one that proves its isolation. */
  public static List<SandboxProfile> candidates(CgroupMode detected) {
    List<SandboxProfile> withProc = new ArrayList<>();
    if (detected != CgroupMode.NONE) {
      withProc.add(new SandboxProfile("full+cgroup-" + detected.name().toLowerCase(), true, detected));
    }
    withProc.add(new SandboxProfile("full", true, CgroupMode.NONE));
    if (detected != CgroupMode.NONE) {
      withProc.add(new SandboxProfile("reduced+cgroup-" + detected.name().toLowerCase(), false, detected));
    }
    withProc.add(new SandboxProfile("reduced", false, CgroupMode.NONE));
    List<SandboxProfile> all = new ArrayList<>(withProc);
    for (SandboxProfile profile : withProc) {
      all.add(new SandboxProfile(profile.name() + "-noproc", profile.userNamespace(), profile.cgroups(), false));
    }
    return List.copyOf(all);
  }
}
