package dev.pyexec.jailer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Makes a cgroup v2 subtree the jails can get memory and pids limits in, from inside a container.
 *
 * <p>cgroup v2 lets a group either hold processes or hand controllers to children, not both (the
 * "no internal processes" rule; the root is exempt). A container on Cloud Run gen2 starts in a
 * group of its own that already holds its processes, so enabling {@code +memory +pids} there
 * fails with EBUSY. nsjail's own answer (it moves only itself into {@code NSJAIL_SELF.<pid>})
 * cannot work while the JVM and PID 1 stay behind, so this moves every process of the group into
 * a leaf {@code pyexec-server} first, then enables the controllers and makes {@code pyexec-jails},
 * the parent nsjail creates its per-jail groups in ({@code --cgroupv2_mount}). Where any step is
 * refused it undoes the move and reports no cgroups: the profiles without cgroups remain.
 */
final class CgroupV2Delegation {
  static final String SERVER = "pyexec-server";
  static final String JAILS = "pyexec-jails";
  private static final String CONTROLLERS = "+memory +pids";
  private static final int MOVE_ROUNDS = 20;

  private final Optional<Path> own;
  private final boolean readOnly;
  private final String problem;

  private CgroupV2Delegation(Optional<Path> own, boolean readOnly, String problem) {
    this.own = own;
    this.readOnly = readOnly;
    this.problem = problem;
  }

  static CgroupV2Delegation fromProc(Path procSelf) {
    try {
      return parse(Files.readAllLines(procSelf.resolve("mountinfo")),
          Files.readAllLines(procSelf.resolve("cgroup")));
    } catch (IOException e) {
      return new CgroupV2Delegation(Optional.empty(), false, "cannot read " + procSelf + ": " + e.getMessage());
    }
  }

  /**
   * Finds this process's own v2 group as a directory: the cgroup2 mount (at /sys/fs/cgroup when
   * there are several) joined with our path in the hierarchy relative to the mount's root.
   */
  static CgroupV2Delegation parse(List<String> mountinfo, List<String> procSelfCgroup) {
    String path = procSelfCgroup.stream().filter(l -> l.startsWith("0::")).map(l -> l.substring(3))
        .findFirst().orElse(null);
    if (path == null) {
      return new CgroupV2Delegation(Optional.empty(), false, "this process is in no cgroup v2 group");
    }
    String[] best = null;
    for (String line : mountinfo) {
      int dash = line.indexOf(" - ");
      if (dash < 0) {
        continue;
      }
      String[] fields = line.substring(0, dash).split(" ");
      String[] after = line.substring(dash + 3).split(" ");
      if (fields.length < 6 || after.length < 1 || !after[0].equals("cgroup2")) {
        continue;
      }
      if (best == null || fields[4].equals(CgroupMode.ROOT.toString())) {
        best = fields;
      }
    }
    if (best == null) {
      return new CgroupV2Delegation(Optional.empty(), false, "no cgroup2 file system is mounted");
    }
    String root = unescape(best[3]);
    String relative;
    if (path.equals(root)) {
      relative = "";
    } else if (root.equals("/") && path.startsWith("/")) {
      relative = path.substring(1);
    } else if (path.startsWith(root + "/")) {
      relative = path.substring(root.length() + 1);
    } else {
      return new CgroupV2Delegation(Optional.empty(), false, "our cgroup " + path
          + " is outside the cgroup2 mount at " + unescape(best[4]));
    }
    boolean readOnly = Set.of(best[5].split(",")).contains("ro");
    Path mount = Path.of(unescape(best[4]));
    return new CgroupV2Delegation(Optional.of(relative.isEmpty() ? mount : mount.resolve(relative)), readOnly, null);
  }

  private static String unescape(String mountinfoField) {
    return mountinfoField.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
        .replace("\\134", "\\");
  }

  Optional<Path> ownGroup() {
    return own;
  }

  Cgroups delegate() {
    if (own.isEmpty()) {
      return Cgroups.none("no cgroups: " + problem);
    }
    Path group = own.get();
    if (readOnly) {
      return Cgroups.none("no cgroups: the cgroup v2 file system holding " + group + " is mounted read-only");
    }
    try {
      String controllers = Files.readString(group.resolve("cgroup.controllers"));
      if (!words(controllers).containsAll(Set.of("memory", "pids"))) {
        return Cgroups.none("no cgroups: " + group + " was given the controllers [" + controllers.strip()
            + "], not memory and pids");
      }
    } catch (IOException e) {
      return Cgroups.none("no cgroups: cannot read " + group.resolve("cgroup.controllers") + ": " + e.getMessage());
    }
    int moved = 0;
    try {
      Cgroups.write(group.resolve("cgroup.subtree_control"), CONTROLLERS);
    } catch (IOException refused) {
      if (!String.valueOf(refused.getMessage()).contains("busy")) {
        return Cgroups.none("no cgroups: cannot enable memory and pids in " + group + ": " + refused.getMessage());
      }
      // Our group holds processes (EBUSY): move them all into a leaf, then try again.
      Path server = group.resolve(SERVER);
      try {
        Files.createDirectories(server);
        moved = moveAll(group, server);
        Cgroups.write(group.resolve("cgroup.subtree_control"), CONTROLLERS);
      } catch (IOException e) {
        String undo = moveBack(server, group);
        return Cgroups.none("no cgroups: cannot delegate " + group + " to the jails (" + e.getMessage()
            + ")" + undo);
      }
    }
    Path jails = group.resolve(JAILS);
    try {
      Files.createDirectories(jails);
      Cgroups.write(jails.resolve("cgroup.subtree_control"), CONTROLLERS);
      CgroupMode.sweepStale(jails);
    } catch (IOException e) {
      return Cgroups.none("no cgroups: cannot enable memory and pids in " + jails + ": " + e.getMessage());
    }
    return new Cgroups(CgroupMode.V2, jails, jails, "cgroup v2: jails under " + jails
        + (moved > 0 ? " (moved " + moved + " processes of " + group + " into " + SERVER + ")" : ""));
  }

  /** Moves every process of {@code from} into {@code to}, again while new ones appear. */
  private static int moveAll(Path from, Path to) throws IOException {
    int moved = 0;
    for (int round = 0; round < MOVE_ROUNDS; round++) {
      List<String> pids = Files.readAllLines(from.resolve("cgroup.procs")).stream()
          .map(String::strip).filter(p -> !p.isEmpty()).toList();
      if (pids.isEmpty()) {
        return moved;
      }
      for (String pid : pids) {
        if (pid.equals("0")) {
          throw new IOException("a process of " + from + " is outside our PID namespace, so it cannot be moved");
        }
        try {
          Cgroups.write(to.resolve("cgroup.procs"), pid);
          moved++;
        } catch (NoSuchFileException gone) {
          // The process exited meanwhile.
        } catch (IOException e) {
          if (Files.exists(Path.of("/proc", pid))) {
            throw new IOException("cannot move process " + pid + " into " + to + ": " + e.getMessage(), e);
          }
        }
      }
    }
    throw new IOException(from + " kept getting new processes while they were moved out");
  }

  private static String moveBack(Path server, Path group) {
    try {
      if (Files.isDirectory(server)) {
        moveAll(server, group);
        Files.deleteIfExists(server);
      }
      return "";
    } catch (IOException e) {
      return "; moving the processes back failed too: " + e.getMessage();
    }
  }

  private static Set<String> words(String text) {
    return Set.of(text.strip().split("\\s+"));
  }
}
