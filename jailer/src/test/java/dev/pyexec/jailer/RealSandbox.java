package dev.pyexec.jailer;

import dev.pyexec.jailer.template.TemplateJails;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The real nsjail and Python, as the tests use them: never a fake. Each instance runs its jails
 * under a uid range of its own, so a test can count exactly the processes its jails left behind.
 */
final class RealSandbox implements AutoCloseable {
  final UidAllocator uids;
  final Sandbox sandbox;
  final List<String> log = new ArrayList<>();

  private RealSandbox(SandboxSettings settings, EngineSettings engine) {
    int base = 300_000 + ThreadLocalRandom.current().nextInt(1000) * 1000;
    this.uids = new UidAllocator(base, 1000);
    this.sandbox = new SandboxStarter(settings, log::add, uids).start(engine);
    assertWithMessage("the sandbox must come up for these tests; log: %s", log)
        .that(sandbox.health().healthy()).isTrue();
    if (engine.engine() == EngineSettings.Engine.TEMPLATE) {
      // Templates prove themselves in the background; these tests are about them, so wait.
      for (int i = 0; i < 600 && !sandbox.health().engine().equals("template"); i++) {
        sleep(100);
      }
      assertWithMessage("the template engine must serve for these tests; log: %s", log)
          .that(sandbox.health().engine()).isEqualTo("template");
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** With the engine the build asks for ({@code -Dpyexec.engine=oneshot} runs the suite on one-shot jails). */
  static RealSandbox start() {
    return new RealSandbox(settings(), engineFromBuild());
  }

  static RealSandbox start(SandboxSettings settings, EngineSettings engine) {
    return new RealSandbox(settings, engine);
  }

  static EngineSettings engineFromBuild() {
    return "oneshot".equals(System.getProperty("pyexec.engine", "template"))
        ? EngineSettings.oneshot()
        : EngineSettings.defaults();
  }

  static Path nsjail() {
    Path configured = Path.of(System.getProperty("pyexec.nsjail", "nsjail"));
    if (configured.isAbsolute()) {
      return configured;
    }
    Path cached = Path.of(System.getProperty("user.home"), ".cache", "pyexec", "nsjail");
    return Files.exists(cached) ? cached : configured;
  }

  static SandboxSettings settings() {
    return SandboxSettings.defaults(nsjail());
  }

  ExecutionOutcome run(String script) {
    return run(script, Duration.ofSeconds(10));
  }

  ExecutionOutcome run(String script, Duration timeout) {
    return sandbox.execute(new ScriptJob(script, timeout));
  }

  /** The object main() returned, asserting the run succeeded (saying why where it did not). */
  JsonObject resultOf(String script) {
    ExecutionOutcome outcome = run(script);
    assertWithMessage("%s / %s / %s", outcome.message(), outcome.traceback(), outcome.internalDetail())
        .that(outcome.kind()).isEqualTo(ExecutionOutcome.Kind.SUCCESS);
    return outcome.result().getAsJsonObject();
  }

  /**
   * Processes still running under this sandbox's uids other than its templates' zygotes, which
   * live on by design; waits a little for the kernel to reap.
   */
  List<Long> leftoverProcesses() throws InterruptedException {
    return leftoverProcesses(0);
  }

  /** Processes still running under this sandbox's uids, waiting a little for the kernel to reap. */
  List<Long> leftoverProcesses(int allowed) throws InterruptedException {
    List<Long> pids = List.of();
    for (int i = 0; i < 40; i++) {
      pids = jailedPids();
      if (pids.size() <= allowed) {
        return pids;
      }
      Thread.sleep(50);
    }
    return pids;
  }

  /**
   * Jailed processes but the engine's own: a template's zygote (nsjail's child), and up to
   * {@link TemplateJails#SPARES} of its children (spares waiting for a job).
   */
  private List<Long> jailedPids() {
    Map<Long, Long> parents = new HashMap<>();
    try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        String name = entry.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          List<String> status = Files.readAllLines(entry.resolve("status"));
          if (uids.owns(Integer.parseInt(field(status, "Uid:").split("\\s+")[0]))) {
            parents.put(Long.parseLong(name), Long.parseLong(field(status, "PPid:")));
          }
        } catch (IOException | RuntimeException e) {
          // The process ended while we looked.
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Set<Long> zygotes = new HashSet<>();
    parents.forEach((pid, parent) -> {
      if (isZygote(pid, parent)) {
        zygotes.add(pid);
      }
    });
    Map<Long, Integer> sparesSeen = new HashMap<>();
    List<Long> pids = new ArrayList<>();
    for (Map.Entry<Long, Long> process : new TreeMap<>(parents).entrySet()) {
      long pid = process.getKey();
      long parent = process.getValue();
      if (zygotes.contains(pid)
          || zygotes.contains(parent) && sparesSeen.merge(parent, 1, Integer::sum) <= TemplateJails.SPARES) {
        continue;
      }
      pids.add(pid);
    }
    return pids;
  }

  private static String field(List<String> status, String name) {
    return status.stream().filter(line -> line.startsWith(name)).findFirst()
        .orElseThrow().substring(name.length()).trim();
  }


  /** A template's zygote: the runner-less Python that nsjail started for a template. */
  private static boolean isZygote(long pid, long parent) {
    try {
      String comm = Files.readString(Path.of("/proc", Long.toString(parent), "comm")).strip();
      String cmdline = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")));
      return comm.equals("nsjail") && cmdline.contains("zygote.py");
    } catch (IOException e) {
      return false;
    }
  }


  @Override
  public void close() {
    sandbox.close();
  }
}
