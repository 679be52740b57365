package dev.pyexec.jailer;

import java.util.ArrayList;
import java.util.List;

/**
 * How strongly this platform lets us isolate a jail. Every profile keeps its own network, mount,
 * PID, IPC and UTS namespaces, an unprivileged uid, no capabilities, no_new_privs and the seccomp
 * policy; they differ in the user namespace (which some platforms refuse) and in whether cgroups
 * back the memory and process limits.
 */
public record SandboxProfile(String name, boolean userNamespace, CgroupMode cgroups) {

  /** Strongest first; the self-test takes the first one that proves its isolation. */
  public static List<SandboxProfile> candidates(CgroupMode detected) {
    List<SandboxProfile> list = new ArrayList<>();
    if (detected != CgroupMode.NONE) {
      list.add(new SandboxProfile("full+cgroup-" + detected.name().toLowerCase(), true, detected));
    }
    list.add(new SandboxProfile("full", true, CgroupMode.NONE));
    if (detected != CgroupMode.NONE) {
      list.add(new SandboxProfile("reduced+cgroup-" + detected.name().toLowerCase(), false, detected));
    }
    list.add(new SandboxProfile("reduced", false, CgroupMode.NONE));
    return List.copyOf(list);
  }
}
