package dev.pyexec.jailer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The per-execution cgroups of one template (cgroup v1: a memory and a pids group per
 * execution). The server, root on the host, makes each group with its limits and lets only the
 * template's host uid write its {@code cgroup.procs}; the forked child then moves itself in
 * before any caller code runs. The template sees these directories under {@code /tmp/cg}, which
 * every child covers with its own tmpfs before the script is loaded.
 *
 * <p>A group whose execution has ended and which is empty again serves a later execution of
 * the same template: making and removing two groups cost each execution about 0.4 ms. A group
 * holds limits, not data; what a script leaves charged to it is reclaimable page cache.
 */
final class TemplateCgroups {
  static final String IN_TEMPLATE = "/tmp/cg";
  private static final String TEMPLATE_PREFIX = "tmpl-";
  private static final String[] V1_CONTROLLERS = {"memory", "pids"};

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

  /**
   * Groups under {@code /sys/fs/cgroup/{memory,pids}/pyexec/tmpl-<server pid>-<uid>/}, made now.
   * The server's pid in the name lets a later server remove what a killed one left.
   */
  static TemplateCgroups v1(int hostUid, SandboxSettings settings) throws IOException {
    String template = TEMPLATE_PREFIX + ProcessHandle.current().pid() + "-" + hostUid;
    List<Path> roots = new ArrayList<>();
    for (String controller : V1_CONTROLLERS) {
      Path root = CgroupMode.ROOT.resolve(controller).resolve(CgroupMode.PARENT).resolve(template);
      Files.createDirectories(root);
      roots.add(root);
    }
    return new TemplateCgroups(List.copyOf(roots), List.of(V1_CONTROLLERS), hostUid,
        (long) settings.memoryMb() << 20, settings.maxProcesses());
  }

  /** Removes the template groups of servers that are gone (killed before they could clean up). */
  static void sweepOrphans() {
    for (String controller : V1_CONTROLLERS) {
      Path parent = CgroupMode.ROOT.resolve(controller).resolve(CgroupMode.PARENT);
      try (var children = Files.list(parent)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          String name = child.getFileName().toString();
          String[] parts = name.split("-");
          if (name.startsWith(TEMPLATE_PREFIX) && parts.length == 3 && parts[1].chars().allMatch(Character::isDigit)
              && !Files.exists(Path.of("/proc", parts[1]))) {
            new TemplateCgroups(List.of(child), List.of(controller), 0, 0, 0).removeAll();
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
        killMembers(group);
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
      Path group = root.resolve(name);
      for (int attempt = 0; attempt < 50 && Files.isDirectory(group); attempt++) {
        killMembers(group);
        try {
          Files.deleteIfExists(group);
        } catch (IOException e) {
          sleep();
        }
      }
    }
  }

  /** Removes the template's own directories (at its end, once its children are gone). */
  void removeAll() {
    for (Path root : roots) {
      try (var children = Files.list(root)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          if (Files.isDirectory(child)) {
            remove(child.getFileName().toString());
          }
        }
      } catch (IOException e) {
        // Gone already.
      }
      try {
        Files.deleteIfExists(root);
      } catch (IOException e) {
        // A member is still being torn down by the kernel; the start-up sweep removes it later.
      }
    }
  }

  private static void killMembers(Path group) {
    try {
      for (String line : Files.readAllLines(group.resolve("cgroup.procs"))) {
        if (!line.isBlank()) {
          ProcessHandle.of(Long.parseLong(line.trim())).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    } catch (IOException | RuntimeException e) {
      // The group or its members went away meanwhile.
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
