package dev.pyexec.function.soak;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Counts what a server process and its executions hold, from /proc and /sys/fs/cgroup, so that a
 * count after a run can be compared with one before it. Other sandboxes may run on the same
 * machine (other test runs): only what descends from this server, or was orphaned by a jail,
 * is counted as its own.
 */
final class ProcessCensus {
  /** The host uids the service's jails run as (UidAllocator.standard()). */
  private static final int JAIL_UID_MIN = 200_000;
  private static final int JAIL_UID_MAX = 250_000;
  private static final Path CGROUPS = Path.of("/sys/fs/cgroup");
  /** A template's cgroup names the server that made it: {@code tmpl-<server pid>-<uid>}. */
  private static final Pattern TEMPLATE_GROUP = Pattern.compile("/tmpl-(\\d+)-\\d+");
  private static final Pattern HEAP_USED =
      Pattern.compile("(generation|heap|space)\\s+total \\d+K, used (\\d+)K");

  private final long server;
  private final Path jcmd;

  ProcessCensus(long server, Path jcmd) {
    this.server = server;
    this.jcmd = jcmd;
  }

  /** One look at everything counted. */
  record Snapshot(List<Long> processes, int fds, int cgroups, int threads, int files) {}

  Snapshot take() {
    return new Snapshot(executionProcesses(), fds(), cgroups(), threads(), files());
  }

  /**
   * The engine's directories in the temporary directory (a template's host directory
   * {@code pyexec-template-*}, extracted assets {@code pyexec-assets-*}) that no live process names on its command
   * line: what a dead jail or template left behind. A server's own assets directory counts
   * while it has no jail running; it is there before and after alike.
   */
  int files() {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    StringBuilder cmdlines = new StringBuilder();
    for (long pid : allPids()) {
      try {
        cmdlines.append(Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ')).append('\n');
      } catch (IOException | RuntimeException e) {
        // ended while we looked
      }
    }
    String referenced = cmdlines.toString();
    int count = 0;
    try (Stream<Path> entries = Files.list(tmp)) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        String name = entry.getFileName().toString();
        if ((name.startsWith("pyexec-template-") || name.startsWith("pyexec-assets-"))
            && !referenced.contains(entry.toString())) {
          count++;
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return count;
  }

  /** Processes under the server (any depth) and jail-uid processes orphaned to init. */
  List<Long> executionProcesses() {
    Map<Long, Long> parents = new HashMap<>();
    Map<Long, Integer> uids = new HashMap<>();
    for (long pid : allPids()) {
      try {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        parents.put(pid, Long.parseLong(fields[1]));
        uids.put(pid, uid(pid));
      } catch (IOException | RuntimeException e) {
        // ended while we looked
      }
    }
    List<Long> ours = new ArrayList<>();
    for (long pid : parents.keySet()) {
      if (pid == server) {
        continue;
      }
      if (descendsFromServer(pid, parents) || (parents.get(pid) == 1 && isJailUid(uids.get(pid)))) {
        ours.add(pid);
      }
    }
    ours.sort(Long::compare);
    return ours;
  }

  /** Descendants only: what the chaos thread may kill. */
  List<Long> descendants() {
    Map<Long, Long> parents = new HashMap<>();
    for (long pid : allPids()) {
      try {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        parents.put(pid, Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]));
      } catch (IOException | RuntimeException e) {
        // ended while we looked
      }
    }
    List<Long> ours = new ArrayList<>();
    for (long pid : parents.keySet()) {
      if (pid != server && descendsFromServer(pid, parents)) {
        ours.add(pid);
      }
    }
    return ours;
  }

  private boolean descendsFromServer(long pid, Map<Long, Long> parents) {
    Set<Long> seen = new HashSet<>();
    Long current = parents.get(pid);
    while (current != null && current > 1 && seen.add(current)) {
      if (current == server) {
        return true;
      }
      current = parents.get(current);
    }
    return false;
  }

  private static boolean isJailUid(Integer uid) {
    return uid != null && uid >= JAIL_UID_MIN && uid < JAIL_UID_MAX;
  }

  private static int uid(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("Uid:")) {
        return Integer.parseInt(line.split("\\s+")[1]);
      }
    }
    return -1;
  }

  private static List<Long> allPids() {
    List<Long> pids = new ArrayList<>();
    try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
      entries.map(p -> p.getFileName().toString())
          .filter(name -> name.chars().allMatch(Character::isDigit))
          .forEach(name -> pids.add(Long.parseLong(name)));
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return pids;
  }

  static String describe(long pid) {
    try {
      String cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').trim();
      return pid + " uid=" + uid(pid) + " " + (cmdline.length() > 120 ? cmdline.substring(0, 120) + "..." : cmdline);
    } catch (IOException e) {
      return pid + " (gone)";
    }
  }

  int fds() {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(server), "fd"))) {
      return (int) fds.count();
    } catch (IOException e) {
      return -1;
    }
  }

  /**
   * The server's threads that do something: Jetty's request pool, idle workers of thread pools
   * (which linger a minute after load) and the JIT's compiler threads (started and stopped on
   * demand) are left out, so what remains after a run and not before is a stuck thread.
   */
  int threads() {
    try {
      String dump = run(jcmd.toString(), Long.toString(server), "Thread.print");
      int count = 0;
      for (String thread : dump.split("\n\n")) {
        if (!thread.startsWith("\"")) {
          continue;
        }
        String name = thread.substring(1, thread.indexOf('"', 1));
        if (name.startsWith("qtp") || name.contains("CompilerThread") || thread.contains("ThreadPoolExecutor.getTask")) {
          continue;
        }
        count++;
      }
      return count;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * Per-execution cgroups of this server: everything below a {@code pyexec} parent of a v1
   * controller or of a v2 tree, and any nsjail group ({@code NSJAIL.<pid>}) anywhere, except
   * the groups of live nsjail processes that are not this server's and the template groups of
   * other live servers (other test runs).
   */
  int cgroups() {
    Set<Long> ours = new HashSet<>(descendants());
    int count = 0;
    for (Path dir : cgroupDirs()) {
      String name = dir.getFileName().toString();
      Matcher template = TEMPLATE_GROUP.matcher(dir.toString());
      if (template.find()) {
        long owner = Long.parseLong(template.group(1));
        if (owner != server && Files.exists(Path.of("/proc", Long.toString(owner)))) {
          continue; // a template group of another live server
        }
      }
      if (name.startsWith("exec-") && template.find(0) && emptyGroup(dir)) {
        // An emptied execution group of a template: the template keeps it for its next
        // execution (a pool bounded by the executions it ran at once), not a leftover. One of a
        // dead template still counts through its template group.
        continue;
      }
      if (name.startsWith("NSJAIL.")) {
        try {
          long pid = Long.parseLong(name.substring("NSJAIL.".length()));
          if (Files.exists(Path.of("/proc", Long.toString(pid))) && !ours.contains(pid)) {
            continue;
          }
        } catch (NumberFormatException e) {
          // not an nsjail pid: count it
        }
      }
      count++;
    }
    return count;
  }

  private static boolean emptyGroup(Path dir) {
    try {
      return Files.readString(dir.resolve("cgroup.procs")).isBlank();
    } catch (IOException e) {
      return true;
    }
  }

  private static List<Path> cgroupDirs() {
    List<Path> found = new ArrayList<>();
    if (!Files.isDirectory(CGROUPS)) {
      return found;
    }
    try (Stream<Path> walk = Files.walk(CGROUPS, 5)) {
      walk.filter(Files::isDirectory)
          .filter(p -> {
            String text = p.toString();
            String name = p.getFileName().toString();
            return name.startsWith("NSJAIL.") || (text.contains("/pyexec/") && !name.equals("pyexec"));
          })
          .forEach(found::add);
    } catch (IOException | RuntimeException e) {
      // a group vanished while walking: the next look will count again
    }
    return found;
  }

  /** Live heap in MiB after a full collection, from jcmd; negative when it cannot be measured. */
  double liveHeapMb() {
    try {
      run(jcmd.toString(), Long.toString(server), "GC.run");
      return heapUsedMb();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Heap in use right now (live and garbage), in MiB; negative when it cannot be measured. */
  double heapUsedMb() {
    try {
      String info = run(jcmd.toString(), Long.toString(server), "GC.heap_info");
      Matcher m = HEAP_USED.matcher(info);
      long kb = 0;
      boolean any = false;
      while (m.find()) {
        kb += Long.parseLong(m.group(2));
        any = true;
      }
      return any ? kb / 1024.0 : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The server's -Xmx (MaxHeapSize), in MiB; negative when it cannot be read. */
  double maxHeapMb() {
    try {
      Matcher m = Pattern.compile("MaxHeapSize=(\\d+)").matcher(run(jcmd.toString(), Long.toString(server), "VM.flags"));
      return m.find() ? Long.parseLong(m.group(1)) / 1048576.0 : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes());
    process.waitFor();
    return out;
  }
}
