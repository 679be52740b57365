package dev.pyexec.jailer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which cgroup hierarchy nsjail may use for the per-jail memory and pids limits. Detected, never
 * assumed: the development machines have a v1/v2 hybrid, Cloud Run gen2 a unified v2 tree in
 * which the container's cgroup already holds processes. {@link Cgroups} says where jails go.
 */
public enum CgroupMode {
  /** cgroup v1 memory and pids controllers under {@code /sys/fs/cgroup/{memory,pids}}. */
  V1,
  /** A unified cgroup v2 tree, delegated to the jails (see {@link CgroupV2Delegation}). */
  V2,
  /** No usable cgroups: rlimits only (RLIMIT_AS per process, RLIMIT_NPROC per jail). */
  NONE;

  /** The parent cgroup nsjail creates its per-jail groups in (v1). */
  public static final String PARENT = "pyexec";

  static final Path ROOT = Path.of("/sys/fs/cgroup");

  /** The best mode this machine offers; prefer {@link Cgroups#detect()}, which also says where. */
  public static CgroupMode detect() {
    return Cgroups.detect().mode();
  }

  /** Whether v1 memory and pids controllers are mounted and our parent groups exist in both. */
  static boolean detectV1() {
    Path memory = ROOT.resolve("memory");
    Path pids = ROOT.resolve("pids");
    return Files.isDirectory(memory) && Files.isDirectory(pids)
        && prepareParent(memory) && prepareParent(pids);
  }

  private static boolean prepareParent(Path controller) {
    try {
      Path parent = Files.createDirectories(controller.resolve(PARENT));
      sweepStale(parent);
      return true;
    } catch (IOException | SecurityException e) {
      return false;
    }
  }

  /**
   * Removes per-jail groups whose process is gone: a server killed outright cannot let its jails
   * clean up after themselves.
   */
  static void sweepStale(Path parent) throws IOException {
    try (var children = Files.list(parent)) {
      for (Path child : (Iterable<Path>) children::iterator) {
        String name = child.getFileName().toString();
        int dot = name.indexOf('.');
        if (name.startsWith("NSJAIL") && dot > 0 && !Files.exists(Path.of("/proc", name.substring(dot + 1)))) {
          try {
            Files.delete(child);
          } catch (IOException e) {
            // Still has processes; leave it.
          }
        }
      }
    }
  }
}
