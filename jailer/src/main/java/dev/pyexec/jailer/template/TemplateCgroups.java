package dev.pyexec.jailer.template;

import dev.pyexec.jailer.CgroupMode;
import dev.pyexec.jailer.Cgroups;
import dev.pyexec.jailer.SandboxSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The per-execution cgroups of one template (cgroup v1: a memory and a pids group per
 * execution; cgroup v2: one group with both). The server, root on the host, makes each group
 * with its limits and lets only the template's host uid write its {@code cgroup.procs}; the
 * forked child then moves itself in before any caller code runs. On v2 the template's zygote
 * lives in a leaf of the template's own group, whose {@code cgroup.procs} the template may
 * write too: a move needs that right on the common ancestor. The template sees these directories under {@code /tmp/cg}, which
 * every child covers with its own tmpfs before the script is loaded.
 *
 * <p>A group whose execution has ended and which is empty again serves a later execution of
 * the same template: making and removing two groups cost each execution about 0.4 ms. A group
 * holds limits, not data; what a script leaves charged to it is reclaimable page cache.
 */
public final class TemplateCgroups {
  static final String IN_TEMPLATE = "/tmp/cg";
  private static final String TEMPLATE_PREFIX = "tmpl-";
  private static final String[] V1_CONTROLLERS = {"memory", "pids"};
  /** The name of the single v2 hierarchy as the template sees it, under /tmp/cg. */
  static final String V2_HIERARCHY = "unified";
  private static final String ZYGOTE_LEAF = "zygote";

  private final List<Path> roots;
  private final List<String> controllers;
  private final int hostUid;
  private final long memoryBytes;
  private final int maxProcesses;
  private final AtomicLong next = new AtomicLong();
  private final java.util.Deque<String> free = new java.util.concurrent.ConcurrentLinkedDeque<>();

  private TemplateCgroups(List<Path> roots, List<String> controllers, int hostUid, long memoryBytes,
      int maxProcesses) {
    this.roots = roots;
    this.controllers = controllers;
    this.hostUid = hostUid;
    this.memoryBytes = memoryBytes;
    this.maxProcesses = maxProcesses;
  }

  /** No per-execution cgroups: rlimits only. */
  static TemplateCgroups none() {
    return new TemplateCgroups(List.of(), List.of(), 0, 0, 0);
  }

  /** The groups of a template in the profile's cgroup mode, on the platform's cgroups. */
  static TemplateCgroups forTemplate(CgroupMode mode, Cgroups platform, int hostUid, SandboxSettings settings)
      throws IOException {
    return switch (mode) {
      case V1 -> v1(platform, hostUid, settings);
      case V2 -> v2(platform.v2Parent().orElseThrow(), hostUid, settings);
      case NONE -> none();
    };
  }


  private static String name(int hostUid) {
    // The server's pid in the name lets a later server remove what a killed one left.
    return TEMPLATE_PREFIX + ProcessHandle.current().pid() + "-" + hostUid;
  }

  /** Groups under {@code /sys/fs/cgroup/{memory,pids}/pyexec/tmpl-<server pid>-<uid>/}, made now. */
  private static TemplateCgroups v1(Cgroups platform, int hostUid, SandboxSettings settings) throws IOException {
    List<Path> roots = new ArrayList<>();
    for (Path parent : List.of(platform.memoryParent(), platform.pidsParent())) {
      Path root = parent.resolve(name(hostUid));
      Files.createDirectories(root);
      roots.add(root);
    }
    return new TemplateCgroups(List.copyOf(roots), List.of(V1_CONTROLLERS), hostUid,
        (long) settings.memoryMb() << 20, settings.maxProcesses());
  }

  /**
   * Groups under {@code <jails parent>/tmpl-<server pid>-<uid>/} on a cgroup v2 tree whose
   * parent has the memory and pids controllers enabled for its children, made now.
   */
  private static TemplateCgroups v2(Path jailsParent, int hostUid, SandboxSettings settings) throws IOException {
    Path root = jailsParent.resolve(name(hostUid));
    Files.createDirectories(root);
    write(root.resolve("cgroup.subtree_control"), "+memory +pids");
    Files.createDirectories(root.resolve(ZYGOTE_LEAF));
    Files.setAttribute(root.resolve("cgroup.procs"), "unix:uid", hostUid);
    return new TemplateCgroups(List.of(root), List.of(V2_HIERARCHY), hostUid,
        (long) settings.memoryMb() << 20, settings.maxProcesses());
  }

  /**
   * On v2, puts the template's zygote (a host pid) in its leaf, before it forks anything: its
   * children must start inside the template's group to be allowed to move to theirs.
   */
  void adoptZygote(long hostPid) throws IOException {
    if (controllers.equals(List.of(V2_HIERARCHY))) {
      write(roots.get(0).resolve(ZYGOTE_LEAF).resolve("cgroup.procs"), Long.toString(hostPid));
    }
  }

  /** Removes the template groups of servers that are gone (killed before they could clean up). */
  public static void sweepOrphans(List<Path> parents) {
    for (Path parent : parents) {
      try (var children = Files.list(parent)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          String name = child.getFileName().toString();
          String[] parts = name.split("-");
          if (name.startsWith(TEMPLATE_PREFIX) && parts.length == 3 && parts[1].chars().allMatch(Character::isDigit)
              && !Files.exists(Path.of("/proc", parts[1]))) {
            // Only removes: which controller a directory serves does not matter for that.
            new TemplateCgroups(List.of(child), List.of(V2_HIERARCHY), 0, 0, 0).removeAll();
          }
        }
      } catch (IOException e) {
        // No such hierarchy here.
      }
    }
  }

  boolean enabled() {
    return !roots.isEmpty();
  }

  /** The controller directory names the child writes itself into (under /tmp/cg). */
  List<String> controllers() {
    return controllers;
  }

  /** nsjail bind mounts that show the template its groups at /tmp/cg/<controller>. */
  List<String> bindMounts() {
    List<String> mounts = new ArrayList<>();
    for (int i = 0; i < roots.size(); i++) {
      mounts.add(roots.get(i) + ":" + IN_TEMPLATE + "/" + controllers.get(i));
    }
    return mounts;
  }

  /** An empty group with the execution's limits; "-" without cgroups. */
  String take() throws IOException {
    if (!enabled()) {
      return "-";
    }
    String reused = free.pollFirst();
    if (reused != null) {
      return reused;
    }
    String name = "exec-" + next.incrementAndGet();
    for (int i = 0; i < roots.size(); i++) {
      Path group = Files.createDirectory(roots.get(i).resolve(name));
      switch (controllers.get(i)) {
        case "memory" -> write(group.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
        case "pids" -> write(group.resolve("pids.max"), Integer.toString(maxProcesses));
        case V2_HIERARCHY -> {
          write(group.resolve("memory.max"), Long.toString(memoryBytes));
          if (Files.exists(group.resolve("memory.swap.max"))) {
            write(group.resolve("memory.swap.max"), "0");
          }
          write(group.resolve("pids.max"), Integer.toString(maxProcesses));
        }
        default -> throw new IllegalStateException("unknown controller " + controllers.get(i));
      }
      Files.setAttribute(group.resolve("cgroup.procs"), "unix:uid", hostUid);
    }
    return name;
  }

  /** The execution is over: its group, emptied, serves another one. */
  void release(String name) {
    if (!enabled() || "-".equals(name)) {
      return;
    }
    for (Path root : roots) {
      Path group = root.resolve(name);
      for (int attempt = 0; attempt < 50 && hasMembers(group); attempt++) {
        Cgroups.killMembers(group);
        sleep();
      }
      if (hasMembers(group)) {
        remove(name); // still not empty: never hand it to another execution
        return;
      }
    }
    free.addFirst(name);
  }

  private static boolean hasMembers(Path group) {
    try {
      return !Files.readString(group.resolve("cgroup.procs")).isBlank();
    } catch (IOException e) {
      return false;
    }
  }

  /** Kills whatever is still in the group, then removes it. */
  void remove(String name) {
    if (!enabled() || "-".equals(name)) {
      return;
    }
    for (Path root : roots) {
      Cgroups.killAndRemove(root.resolve(name));
    }
  }


  /** Removes the template's own directories (at its end, once its children are gone). */
  void removeAll() {
    for (Path root : roots) {
      try (var children = Files.list(root)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          if (Files.isDirectory(child)) {
            Cgroups.killAndRemove(child);
          }
        }
      } catch (IOException e) {
        // Gone already.
      }
      // Its members are gone or going: the root goes once the kernel has let go of them.
      Cgroups.killAndRemove(root);
    }
  }


  private static void write(Path file, String value) throws IOException {
    Files.writeString(file, value, StandardCharsets.US_ASCII);
  }

  private static void sleep() {
    try {
      Thread.sleep(10);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
