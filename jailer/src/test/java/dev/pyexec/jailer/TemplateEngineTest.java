package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The template engine (SPEC section 2): executions forked from one template are as isolated
 * from each other as one-shot jails, checked with executions running side by side; and the
 * template survives what a script does to it, or is replaced.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TemplateEngineTest {
  private RealSandbox jails;

  @BeforeAll
  void start() {
    jails = RealSandbox.start(RealSandbox.settings(), EngineSettings.defaults());
  }

  @AfterAll
  void stop() {
    jails.close();
  }

  /** Runs the scripts at the same time; each starts once all have been handed out. */
  private List<ExecutionOutcome> sideBySide(String... scripts) {
    List<CompletableFuture<ExecutionOutcome>> runs = new ArrayList<>();
    for (String script : scripts) {
      runs.add(CompletableFuture.supplyAsync(() -> jails.run(script, Duration.ofSeconds(20))));
    }
    return runs.stream().map(CompletableFuture::join).toList();
  }

  @Test
  void templateEngineServesWhereThePlatformAllowsIt() {
    assertThat(jails.sandbox.health().engine()).isEqualTo("template");
    assertThat(jails.run("def main():\n    return 1").jailSource()).isEqualTo("template");
  }

  @Test
  void concurrentExecutionsSeeNeitherEachOthersFilesNorProcesses() {
    // Each leaves a file in /tmp and /dev/shm, a SysV queue, an abstract and a path socket,
    // waits, then reports what of the other it can find or touch.
    String script = """
        import os, socket, time, ctypes, signal
        def main():
            me = str(time.monotonic_ns())
            open('/tmp/mark-' + me, 'w').close()
            open('/dev/shm/mark-' + me, 'w').close()
            libc = ctypes.CDLL(None, use_errno=True)
            queue = libc.msgget(0x5EED, 0o1666)
            abstract = socket.socket(socket.AF_UNIX)
            abstract.bind('\\0pyexec-sibling')
            path = socket.socket(socket.AF_UNIX)
            path.bind('/tmp/sock-' + me)
            time.sleep(1.0)
            killed = []
            for pid in range(2, 400):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
            return {
                'tmp': sorted(n for n in os.listdir('/tmp') if n.startswith(('mark-', 'sock-'))),
                'shm': sorted(os.listdir('/dev/shm')),
                'pids': sorted(p for p in os.listdir('/proc') if p.isdigit()),
                'queue_was_new': queue >= 0,
                'killed': killed,
                'ptrace': libc.ptrace(16, 1, 0, 0),
            }
        """;
    List<ExecutionOutcome> outcomes = sideBySide(script, script, script);
    for (ExecutionOutcome outcome : outcomes) {
      assertWithMessage("%s / %s", outcome.message(), outcome.traceback()).that(outcome.kind()).isEqualTo(Kind.SUCCESS);
      JsonObject seen = outcome.result().getAsJsonObject();
      assertThat(seen.getAsJsonArray("tmp").size()).isEqualTo(2);
      assertThat(seen.getAsJsonArray("shm").size()).isEqualTo(1);
      assertThat(seen.getAsJsonArray("pids").toString()).isEqualTo("[\"1\"]");
      assertThat(seen.get("queue_was_new").getAsBoolean()).isTrue();
      assertThat(seen.getAsJsonArray("killed").size()).isEqualTo(0);
      assertThat(seen.get("ptrace").getAsInt()).isEqualTo(-1);
    }
  }

  @Test
  void theWorkingDirectoryIsTheExecutionsOwnTmp() {
    jails.resultOf("def main():\n    open('left-behind', 'w').write('x')\n    return {}");
    JsonObject next = jails.resultOf("import os\ndef main():\n"
        + "    return {'cwd': os.getcwd(), 'here': sorted(os.listdir('.')), 'same': os.path.samefile('.', '/tmp')}");
    assertThat(next.get("cwd").getAsString()).isEqualTo("/tmp");
    assertThat(next.get("same").getAsBoolean()).isTrue();
    assertThat(next.getAsJsonArray("here").toString()).doesNotContain("left-behind");
    assertThat(next.getAsJsonArray("here").toString()).doesNotContain("zygote.sock");
  }

  @Test
  void environmentAndModuleStateDoNotCarryOver() {
    jails.resultOf("import os, json\ndef main():\n"
        + "    os.environ['LEFT_BEHIND'] = 'yes'\n"
        + "    json.dumps = lambda *a, **k: 'patched'\n"
        + "    import pandas\n"
        + "    pandas.DataFrame.sum = lambda self: 'patched'\n"
        + "    return {}");
    JsonObject next = jails.resultOf("import os, json, pandas\ndef main():\n"
        + "    return {'env': os.environ.get('LEFT_BEHIND'), 'json': json.dumps([1]),\n"
        + "            'pandas': int(pandas.DataFrame({'a': [1, 2]}).sum()['a'])}");
    assertThat(next.get("env").isJsonNull()).isTrue();
    assertThat(next.get("json").getAsString()).isEqualTo("[1]");
    assertThat(next.get("pandas").getAsInt()).isEqualTo(3);
  }

  @Test
  void everyExecutionGetsRandomnessOfItsOwn() {
    String script = "import random, uuid, tempfile, numpy\ndef main():\n"
        + "    return [random.random(), float(numpy.random.rand()), str(uuid.uuid4()), tempfile.mktemp()]";
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      ExecutionOutcome outcome = jails.run(script);
      assertWithMessage("%s", outcome.internalDetail()).that(outcome.kind()).isEqualTo(Kind.SUCCESS);
      for (var value : outcome.result().getAsJsonArray()) {
        assertWithMessage("a random value repeated across executions").that(seen.add(value.toString())).isTrue();
      }
    }
  }

  @Test
  void forkBombAndMemoryBombNextToASteadyExecutionLeaveItCorrect() {
    String steady = "import time, pandas\ndef main():\n"
        + "    total = 0\n"
        + "    for i in range(10):\n"
        + "        total += int(pandas.Series(range(1000)).sum())\n"
        + "        time.sleep(0.1)\n"
        + "    return total";
    String forkBomb = "import os, time\ndef main():\n"
        + "    for _ in range(200):\n"
        + "        try:\n"
        + "            if os.fork() == 0:\n"
        + "                time.sleep(5)\n"
        + "                os._exit(0)\n"
        + "        except OSError:\n"
        + "            pass\n"
        + "    time.sleep(1)\n"
        + "    return 'contained'";
    String memoryBomb = "def main():\n    blocks = []\n    while True:\n        blocks.append(bytearray(32 << 20))";
    List<ExecutionOutcome> outcomes = sideBySide(steady, forkBomb, memoryBomb);
    assertWithMessage("%s", outcomes.get(0).internalDetail()).that(outcomes.get(0).kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcomes.get(0).result().getAsLong()).isEqualTo(10 * 499500L);
    assertThat(outcomes.get(1).kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcomes.get(2).kind()).isAnyOf(Kind.SCRIPT_ERROR, Kind.LIMIT_EXCEEDED);
  }

  @Test
  void hostileScriptsLeaveTheTemplateServing() throws InterruptedException {
    long startedBefore = started("plain");
    jails.run("import os, signal\ndef main():\n"
        + "    for pid in (0, 1):\n"
        + "        try:\n"
        + "            os.kill(pid, signal.SIGKILL)\n"
        + "        except OSError:\n"
        + "            pass\n"
        + "    os.closerange(0, 1024)\n"
        + "    return 1");
    jails.run("def main():\n    with open('/tmp/fill', 'wb') as f:\n"
        + "        while True:\n            f.write(b'x' * (1 << 20))");
    jails.run("import time\ndef main():\n    time.sleep(30)", Duration.ofMillis(500));
    ExecutionOutcome next = jails.run("def main():\n    return 'still fine'");
    assertWithMessage("%s", next.internalDetail()).that(next.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(next.jailSource()).isEqualTo("template");
    assertThat(started("plain")).isEqualTo(startedBefore);
    assertWithMessage("jailed processes left behind").that(jails.leftoverProcesses()).isEmpty();
  }

  @Test
  void aKilledTemplateIsReplacedAndExecutionsNeverFailMeanwhile() throws Exception {
    long startedBefore = started("data");
    CompletableFuture<ExecutionOutcome> inFlight = CompletableFuture.supplyAsync(
        () -> jails.run("import pandas, time\ndef main():\n    time.sleep(3)"));
    Thread.sleep(500);
    killZygotes("\"pandas\"");
    assertThat(inFlight.join().kind()).isEqualTo(Kind.SANDBOX_FAILURE);
    for (int i = 0; i < 5; i++) {
      ExecutionOutcome outcome = jails.run("import pandas\ndef main():\n    return 2");
      assertWithMessage("%s", outcome.internalDetail()).that(outcome.kind()).isEqualTo(Kind.SUCCESS);
    }
    for (int i = 0; i < 100 && started("data") == startedBefore; i++) {
      Thread.sleep(100);
    }
    assertThat(started("data")).isGreaterThan(startedBefore);
    assertThat(jails.run("import pandas\ndef main():\n    return 3").jailSource()).isEqualTo("template");
    Path groups = Path.of("/sys/fs/cgroup/memory/pyexec");
    if (jails.sandbox.health().profile().endsWith("cgroup-v1")) {
      String mine = "tmpl-" + ProcessHandle.current().pid() + "-";
      for (int i = 0; i < 50 && templateGroups(groups, mine) > 2; i++) {
        Thread.sleep(100);
      }
      assertWithMessage("cgroups of the dead template left behind").that(templateGroups(groups, mine)).isEqualTo(2);
    }
  }

  /** Template groups (tmpl-<server pid>-<uid>) of this test's sandbox. */
  private long templateGroups(Path parent, String prefix) throws IOException {
    try (Stream<Path> children = Files.list(parent)) {
      return children.map(child -> child.getFileName().toString())
          .filter(name -> name.startsWith(prefix))
          .filter(name -> jails.uids.owns(Integer.parseInt(name.substring(prefix.length()))))
          .count();
    }
  }

  @Test
  void aTemplateIsReplacedAfterItsExecutionLimit() throws Exception {
    try (RealSandbox small = RealSandbox.start(RealSandbox.settings(),
        new EngineSettings(EngineSettings.Engine.TEMPLATE, new TemplateSettings(3, Duration.ofHours(1))))) {
      for (int i = 0; i < 8; i++) {
        assertThat(small.run("def main():\n    return 1").kind()).isEqualTo(Kind.SUCCESS);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> plain = (Map<String, Object>) small.sandbox.health().engineStats().get("plain");
      assertThat((Long) plain.get("started")).isAtLeast(2L);
    }
  }

  private long started(String flavour) {
    @SuppressWarnings("unchecked")
    Map<String, Object> figures = (Map<String, Object>) jails.sandbox.health().engineStats().get(flavour);
    return (Long) figures.get("started");
  }

  /** SIGKILL to the zygotes of this sandbox whose preloads are as given. */
  private void killZygotes(String preloads) throws IOException {
    try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        if (!entry.getFileName().toString().chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String cmdline = new String(Files.readAllBytes(entry.resolve("cmdline"))).replace('\0', ' ');
          String uidLine = Files.readAllLines(entry.resolve("status")).stream()
              .filter(line -> line.startsWith("Uid:")).findFirst().orElse("Uid: 0");
          int uid = Integer.parseInt(uidLine.split("\\s+")[1]);
          if (jails.uids.owns(uid) && cmdline.contains("zygote.py") && cmdline.contains(preloads)) {
            new ProcessBuilder("kill", "-9", entry.getFileName().toString()).start().waitFor();
          }
        } catch (IOException | InterruptedException | RuntimeException e) {
          // Gone meanwhile.
        }
      }
    }
  }
}
