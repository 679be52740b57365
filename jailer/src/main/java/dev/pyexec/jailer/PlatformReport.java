package dev.pyexec.jailer;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the platform gave this process, read once at start-up, so that the first deploy on a new
 * platform answers from its log what the sandbox could use: capabilities, seccomp, no_new_privs,
 * the user namespace's id map, the cgroup and how /proc and the cgroup tree are mounted. It also
 * puts known platform refusals into words an operator can act on.
 */
public record PlatformReport(Map<String, Object> facts) {
  private static final int CAP_SYS_ADMIN = 21;
  private static final Gson GSON = new GsonBuilder().serializeNulls().create();

  public PlatformReport {
    facts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(facts));
  }

  public static PlatformReport read() {
    return read(Path.of("/proc/self"));
  }

  static PlatformReport read(Path procSelf) {
    Map<String, Object> facts = new LinkedHashMap<>();
    List<String> status = lines(procSelf.resolve("status"));
    String capEff = field(status, "CapEff");
    facts.put("cap_eff", capEff);
    facts.put("cap_sys_admin", capEff == null ? null : hasCapability(capEff, CAP_SYS_ADMIN));
    facts.put("seccomp", field(status, "Seccomp"));
    facts.put("no_new_privs", field(status, "NoNewPrivs"));
    facts.put("uid_map", String.join("; ", lines(procSelf.resolve("uid_map")).stream()
        .map(l -> l.strip().replaceAll("\\s+", " ")).toList()));
    facts.put("cgroup", String.join("; ", lines(procSelf.resolve("cgroup"))));
    List<String> mountinfo = lines(procSelf.resolve("mountinfo"));
    String cgroupMount = mount(mountinfo, CgroupMode.ROOT.toString());
    facts.put("cgroup_version", cgroupMount == null ? "none"
        : cgroupMount.contains(" cgroup2 ") ? "v2"
        : Files.isDirectory(CgroupMode.ROOT.resolve("memory")) ? "v1" : "unknown");
    facts.put("cgroup_mount", cgroupMount);
    CgroupV2Delegation v2 = CgroupV2Delegation.parse(mountinfo, lines(procSelf.resolve("cgroup")));
    facts.put("cgroup_path", v2.ownGroup().map(Path::toString).orElse(null));
    facts.put("cgroup_writable", v2.ownGroup()
        .map(dir -> Files.isWritable(dir.resolve("cgroup.subtree_control")) && !readOnly(cgroupMount))
        .orElse(Files.isWritable(CgroupMode.ROOT)));
    facts.put("proc_mount", mount(mountinfo, "/proc"));
    return new PlatformReport(facts);
  }

  /** One log line, a JSON object after the word "platform". */
  public String logLine() {
    return "platform " + GSON.toJson(facts);
  }

  /**
   * Why no profile could run, where the self-test's findings show a known platform limit; the
   * words go to the log and to /health.
   */
  public Optional<String> explain(List<String> findings) {
    String all = String.join("\n", findings);
    if (all.contains("PR_SET_SECUREBITS") && all.contains("Invalid argument")) {
      return Optional.of("this platform cannot run the sandbox: it refuses prctl(PR_SET_SECUREBITS), as"
          + " gVisor does (Cloud Run's first generation execution environment); on Cloud Run, deploy"
          + " with the second generation execution environment (execution_environment ="
          + " EXECUTION_ENVIRONMENT_GEN2)");
    }
    if (Boolean.FALSE.equals(facts.get("cap_sys_admin"))) {
      return Optional.of("this platform cannot run the sandbox: the server lacks CAP_SYS_ADMIN (CapEff "
          + facts.get("cap_eff") + ") and could not use a user namespace instead, and nsjail needs one"
          + " of the two to create the jail's namespaces and mounts; run the container with --cap-add"
          + " SYS_ADMIN, or where user namespaces are allowed (Cloud Run's second generation"
          + " execution environment has both)");
    }
    return Optional.empty();
  }

  static boolean hasCapability(String capEffHex, int capability) {
    return new BigInteger(capEffHex.strip(), 16).testBit(capability);
  }

  private static boolean readOnly(String mountLine) {
    String[] parts = mountLine == null ? new String[0] : mountLine.split(" ");
    return parts.length > 2 && List.of(parts[2].split(",")).contains("ro");
  }

  private static String field(List<String> status, String name) {
    return status.stream().filter(l -> l.startsWith(name + ":")).map(l -> l.substring(name.length() + 1).strip())
        .findFirst().orElse(null);
  }

  /** "mountpoint fstype options" of the last mount at {@code point} (the one that is visible). */
  private static String mount(List<String> mountinfo, String point) {
    String found = null;
    for (String line : mountinfo) {
      int dash = line.indexOf(" - ");
      String[] fields = line.split(" ");
      if (dash < 0 || fields.length < 6 || !fields[4].equals(point)) {
        continue;
      }
      String[] after = line.substring(dash + 3).split(" ");
      found = point + " " + after[0] + " " + fields[5] + (after.length > 2 ? " " + after[2] : "");
    }
    return found;
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      return List.of();
    }
  }
}
