package dev.pyexec.jailer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which cgroup hierarchy nsjail may use for the per-jail memory and pids limits. Detected, never
 * assumed: the development machines have a v1/v2 hybrid, Cloud Run gen2 its own layout.
 */
public enum CgroupMode {
  /** cgroup v1 memory and pids controllers under {@code /sys/fs/cgroup/{memory,pids}}. */
  V1,
  /** A unified cgroup v2 tree at {@code /sys/fs/cgroup}. */
  V2,
  /** No usable cgroups: rlimits only (RLIMIT_AS per process, RLIMIT_NPROC per jail). */
  NONE;

  /** The parent cgroup nsjail creates its per-jail groups in (v1). */
  public static final String PARENT = "pyexec";

  static final Path ROOT = Path.of("/sys/fs/cgroup");

  /** The best mode this machine seems to offer; the self-test confirms it really works. */
  public static CgroupMode detect() {
    Path memory = ROOT.resolve("memory");
    Path pids = ROOT.resolve("pids");
    if (Files.isDirectory(memory) && Files.isDirectory(pids)
        && prepareParent(memory) && prepareParent(pids)) {
      return V1;
    }
    if (Files.exists(ROOT.resolve("cgroup.controllers")) && Files.isWritable(ROOT)) {
      return V2;
    }
    return NONE;
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
   * Removes per-jail groups whose nsjail is gone: a server killed outright cannot let its jails
   * clean up after themselves.
   */
  private static void sweepStale(Path parent) throws IOException {
    try (var children = Files.list(parent)) {
      for (Path child : (Iterable<Path>) children::iterator) {
        String name = child.getFileName().toString();
        if (name.startsWith("NSJAIL.") && !Files.exists(Path.of("/proc", name.substring("NSJAIL.".length())))) {
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
