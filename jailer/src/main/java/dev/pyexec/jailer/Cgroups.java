package dev.pyexec.jailer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The cgroups this instance may put jails in: which hierarchy, and the directories under which
 * per-jail groups with memory and pids limits can be made (v1: one per controller, v2: the
 * delegated jails parent). Both engines use it: nsjail gets the parents on its command line, and
 * {@link #create} makes a per-execution group directly.
 *
 * @param memoryParent where per-jail memory groups go (null without cgroups)
 * @param pidsParent where per-jail pids groups go (the same directory as memory on v2)
 * @param detail what was found or done, for the operator's log
 */
public record Cgroups(CgroupMode mode, Path memoryParent, Path pidsParent, String detail) {
  public Cgroups {
    if ((mode == CgroupMode.NONE) != (memoryParent == null || pidsParent == null)) {
      throw new IllegalArgumentException("parents must be given exactly when there are cgroups");
    }
  }

  public static Cgroups none(String why) {
    return new Cgroups(CgroupMode.NONE, null, null, why);
  }

  /**
   * The best this machine offers. On cgroup v2 this changes the tree: the container's processes
   * move into a leaf so that controllers can be enabled for the jails (see {@link CgroupV2Delegation}).
   */
  public static Cgroups detect() {
    Path memory = CgroupMode.ROOT.resolve("memory").resolve(CgroupMode.PARENT);
    Path pids = CgroupMode.ROOT.resolve("pids").resolve(CgroupMode.PARENT);
    if (CgroupMode.detectV1()) {
      return new Cgroups(CgroupMode.V1, memory, pids, "cgroup v1: jails under " + memory + " and " + pids);
    }
    return CgroupV2Delegation.fromProc(Path.of("/proc/self")).delegate();
  }

  /** The directories per-jail groups go in: one per controller on v1, the jails parent on v2. */
  public List<Path> parents() {
    return switch (mode) {
      case V1 -> List.of(memoryParent, pidsParent);
      case V2 -> List.of(memoryParent);
      case NONE -> List.of();
    };
  }

  /** The delegated v2 directory nsjail makes its per-jail groups in ({@code --cgroupv2_mount}). */
  public Optional<Path> v2Parent() {
    return mode == CgroupMode.V2 ? Optional.of(memoryParent) : Optional.empty();
  }

  /**
   * Makes a per-execution group {@code name} with the limits; the caller moves the execution's
   * first process in ({@link JailCgroup#add}) before its code runs and closes the group after.
   */
  public JailCgroup create(String name, long memoryBytes, int maxPids) throws IOException {
    if (mode == CgroupMode.NONE) {
      throw new IllegalStateException("no cgroups on this platform: " + detail);
    }
    if (name.contains("/") || name.startsWith(".")) {
      throw new IllegalArgumentException("not a plain cgroup name: " + name);
    }
    List<Path> made = new ArrayList<>();
    try {
      Path memory = Files.createDirectory(memoryParent.resolve(name));
      made.add(memory);
      Path pids = memory;
      if (!pidsParent.equals(memoryParent)) {
        pids = Files.createDirectory(pidsParent.resolve(name));
        made.add(pids);
      }
      if (mode == CgroupMode.V2) {
        write(memory.resolve("memory.max"), Long.toString(memoryBytes));
        // No swap for jails: a limit that swaps instead of killing only delays the verdict.
        writeIfPresent(memory.resolve("memory.swap.max"), "0");
      } else {
        write(memory.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
      }
      write(pids.resolve("pids.max"), Integer.toString(maxPids));
      return new JailCgroup(made);
    } catch (IOException | RuntimeException e) {
      new JailCgroup(made).close();
      throw e;
    }
  }

  /**
   * Kills whatever is still in a group, then removes it, retrying for up to about 3 s while the
   * kernel tears its members down (a group is busy until its last process is gone, and a dying
   * PID namespace takes a while on a loaded machine). Returns whether it is gone.
   */
  public static boolean killAndRemove(Path group) {
    for (int attempt = 0; attempt < 300 && Files.isDirectory(group); attempt++) {
      killMembers(group);
      try {
        Files.deleteIfExists(group);
      } catch (IOException e) {
        try {
          Thread.sleep(10);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return !Files.isDirectory(group);
  }

  /** SIGKILL to every process in a group (as root on the host). */
  public static void killMembers(Path group) {
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

  static void write(Path file, String value) throws IOException {
    Files.writeString(file, value, StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
  }

  private static void writeIfPresent(Path file, String value) throws IOException {
    if (Files.exists(file)) {
      write(file, value);
    }
  }

  /** One execution's group(s): one directory on v2, one per controller on v1. */
  public record JailCgroup(List<Path> directories) implements AutoCloseable {
    public JailCgroup {
      directories = List.copyOf(directories);
    }

    /** Moves process {@code pid} (and so everything it starts later) into the group. */
    public void add(long pid) throws IOException {
      for (Path dir : directories) {
        write(dir.resolve("cgroup.procs"), Long.toString(pid));
      }
    }

    /** Removes the group; its processes must have ended (a populated group stays). */
    @Override
    public void close() {
      for (Path dir : directories) {
        try {
          Files.deleteIfExists(dir);
        } catch (IOException e) {
          // Still populated: the start-up sweep removes it once its processes are gone.
        }
      }
    }
  }
}
