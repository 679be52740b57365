package dev.pyexec.jailer;

import dev.pyexec.jailer.oneshot.ColdJails;
import dev.pyexec.jailer.oneshot.NsjailLauncher;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Proves, before the instance takes traffic, that a jail really isolates: it runs a probe script
 * through the same path as every request and checks what the script can see.
 */
public final class SelfTest {
  // Asks the kernel directly (capget, prctl) rather than /proc, which some profiles lack.
  static final String PROBE = """
      import ctypes, os, socket
      class Header(ctypes.Structure):
          _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]
      class Data(ctypes.Structure):
          _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32),
                      ('inheritable', ctypes.c_uint32)]
      def main():
          libc = ctypes.CDLL(None, use_errno=True)
          header, data = Header(0x20080522, 0), (Data * 2)()
          if libc.capget(ctypes.byref(header), data) != 0:
              raise OSError(ctypes.get_errno(), 'capget failed')
          with open('/tmp/probe', 'w') as f:
              f.write('ok')
          libc.unshare.argtypes = [ctypes.c_int]
          unshare = libc.unshare(0x10000000)
          status = {}
          if os.path.exists('/proc/self/status'):
              for line in open('/proc/self/status'):
                  key, _, value = line.partition(':')
                  status[key] = value.strip()
          return {
              'uid': os.getuid(),
              'seccomp': status.get('Seccomp', 'unknown'),
              'unshare': 'refused' if unshare != 0 else 'allowed',
              'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) if status else [],
              'tmp': sorted(set(os.listdir('/tmp')) | set(os.listdir('.'))),
              'pid': os.getpid(),
              'cap_eff': sum(d.effective | d.permitted for d in data),
              'no_new_privs': str(libc.prctl(39, 0, 0, 0, 0)),
              'interfaces': [name for _, name in socket.if_nameindex()],
              'env': sorted(os.environ),
              'root': sorted(os.listdir('/')),
          }
      """;
  private static final Set<String> ALLOWED_ENV = Set.of("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL",
      "LC_CTYPE", "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "OMP_NUM_THREADS",
      "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "MPLCONFIGDIR", "MALLOC_ARENA_MAX");
  private static final Set<String> ALLOWED_ROOT = Set.of("bin", "dev", "etc", "lib", "lib64", "opt",
      "proc", "tmp", "usr");

  private final SandboxSettings settings;
  private final NsjailLauncher launcher;

  public SelfTest(SandboxSettings settings, NsjailLauncher launcher) {
    this.settings = settings;
    this.launcher = launcher;
  }

  /** The verdict on every candidate tried; the chosen one is the first that passed. */
  public record Report(Optional<SandboxProfile> chosen, List<String> findings) {}

  public Report choose(List<SandboxProfile> candidates) {
    List<String> findings = new ArrayList<>();
    for (SandboxProfile profile : candidates) {
      String problem = check(profile);
      if (problem == null) {
        findings.add(profile.name() + ": passed");
        return new Report(Optional.of(profile), findings);
      }
      findings.add(profile.name() + ": " + problem);
    }
    return new Report(Optional.empty(), findings);
  }

  /** Null when the profile isolates as promised, else what is wrong. */
  String check(SandboxProfile profile) {
    return check(new NsjailSandbox(settings, profile, new ColdJails(launcher, profile)), Flavour.PLAIN);
  }

  /**
   * Null when the template engine's children isolate as one-shot jails do, and more: each in
   * seccomp filter mode, unable to make namespaces, alone in its PID namespace and its /tmp (not
   * even the template's socket), and blind to a sibling running at the same time.
   */
  String checkTemplates(SandboxProfile profile, JailProvider templates) {
    NsjailSandbox sandbox = new NsjailSandbox(settings, profile, templates);
    for (Flavour flavour : Flavour.values()) {
      String problem = check(sandbox, flavour);
      if (problem != null) {
        return flavour.name().toLowerCase() + " template: " + problem;
      }
    }
    return checkSiblings(sandbox);
  }

  private String checkSiblings(NsjailSandbox sandbox) {
    java.util.concurrent.CompletableFuture<ExecutionOutcome> first = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> sandbox.execute(new ScriptJob(SIBLING, settings.maxTimeout())));
    ExecutionOutcome second = sandbox.execute(new ScriptJob(SIBLING, settings.maxTimeout()));
    ExecutionOutcome other = first.join();
    for (ExecutionOutcome outcome : List.of(second, other)) {
      if (outcome.kind() != ExecutionOutcome.Kind.SUCCESS) {
        return "a sibling probe failed: " + outcome.kind() + ": " + outcome.message();
      }
      if (!outcome.result().getAsBoolean()) {
        return "an execution saw its sibling's files or processes";
      }
    }
    return null;
  }

  /** Leaves a mark, waits for a sibling, and reports whether it saw anything but itself. */
  static final String SIBLING = """
      import os, time
      def main():
          open('/tmp/sibling-mark-%d' % time.monotonic_ns(), 'w').close()
          time.sleep(0.3)
          marks = [n for n in os.listdir('/tmp') if n.startswith('sibling-mark-')]
          pids = [p for p in os.listdir('/proc') if p.isdigit()]
          return len(marks) == 1 and pids == ['1']
      """;

  private String check(NsjailSandbox probe, Flavour flavour) {
    String script = flavour == Flavour.DATA ? "import numpy, pandas\n" + PROBE : PROBE;
    ExecutionOutcome outcome = probe.execute(new ScriptJob(script, settings.maxTimeout()));
    if (outcome.kind() != ExecutionOutcome.Kind.SUCCESS) {
      return outcome.kind() + ": " + outcome.message()
          + (outcome.internalDetail() == null ? "" : " / " + outcome.internalDetail());
    }
    JsonObject seen = outcome.result().getAsJsonObject();
    if (seen.get("uid").getAsInt() == 0) {
      return "the script ran as root";
    }
    if (seen.get("cap_eff").getAsLong() != 0) {
      return "the script kept capabilities";
    }
    if (!"1".equals(seen.get("no_new_privs").getAsString())) {
      return "no_new_privs is not set";
    }
    if (seen.get("pid").getAsInt() > 10) {
      return "the script is not in its own PID namespace";
    }
    if (!"refused".equals(seen.get("unshare").getAsString())) {
      return "the script could create a user namespace";
    }
    String seccomp = seen.get("seccomp").getAsString();
    if (!seccomp.equals("2") && !seccomp.equals("unknown")) {
      return "the script runs without a seccomp filter (mode " + seccomp + ")";
    }
    for (String name : strings(seen.getAsJsonArray("tmp"))) {
      if (!Set.of("probe", "output", ".matplotlib").contains(name)) {
        return "the script sees /tmp/" + name + " that it did not make";
      }
    }
    if (seen.getAsJsonArray("pids").size() > 1) {
      return "the script sees processes other than its own: " + seen.getAsJsonArray("pids");
    }
    for (String name : strings(seen.getAsJsonArray("interfaces"))) {
      if (!name.equals("lo")) {
        return "the script sees network interface " + name;
      }
    }
    for (String name : strings(seen.getAsJsonArray("env"))) {
      if (!ALLOWED_ENV.contains(name)) {
        return "the script sees environment variable " + name;
      }
    }
    for (String name : strings(seen.getAsJsonArray("root"))) {
      if (!ALLOWED_ROOT.contains(name)) {
        return "the script sees /" + name;
      }
    }
    return null;
  }

  private static List<String> strings(JsonArray array) {
    List<String> out = new ArrayList<>();
    for (JsonElement e : array) {
      out.add(e.getAsString());
    }
    return out;
  }
}
