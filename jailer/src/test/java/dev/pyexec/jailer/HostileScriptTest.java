package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Scripts that try to break out, hog or linger are contained with the right error, leave no
 * process behind, and the sandbox answers normally right after, in the engine the build asks for:
 * every process under this sandbox's uids after a run, but a template's zygote, is a leak.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileScriptTest {
  private RealSandbox jails;

  @BeforeAll
  void start() {
    jails = RealSandbox.start();
  }

  @AfterAll
  void stop() {
    jails.close();
  }

  @AfterEach
  void leavesNothingBehindAndStaysHealthy() throws InterruptedException {
    assertWithMessage("jailed processes left behind").that(jails.leftoverProcesses()).isEmpty();
    ExecutionOutcome next = jails.run("def main():\n    return 'still fine'");
    assertWithMessage("%s", next.internalDetail()).that(next.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(next.result().getAsString()).isEqualTo("still fine");
  }

  @Test
  void forkBombIsStoppedByTheProcessLimit() {
    ExecutionOutcome outcome = jails.run("import os, time\ndef main():\n"
        + "    n = 0\n"
        + "    try:\n"
        + "        while True:\n"
        + "            if os.fork() == 0:\n"
        + "                time.sleep(60)\n"
        + "                os._exit(0)\n"
        + "            n += 1\n"
        + "    except OSError as e:\n"
        + "        return n");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().getAsInt()).isLessThan(32);
  }

  @Test
  void recursiveForkBombEndsAtTheTimeout() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    while True:\n"
        + "        try:\n"
        + "            os.fork()\n"
        + "        except OSError:\n"
        + "            pass", Duration.ofSeconds(2));
    assertThat(outcome.kind()).isEqualTo(Kind.TIMEOUT);
  }

  @Test
  void threadBombIsStoppedByTheProcessLimit() {
    ExecutionOutcome outcome = jails.run("import threading, time\ndef main():\n"
        + "    while True:\n"
        + "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).contains("at most 32 processes and threads");
  }

  @Test
  void memoryBombEndsNamingTheLimit() {
    ExecutionOutcome outcome = jails.run("def main():\n    blocks = []\n"
        + "    while True:\n        blocks.append(bytearray(64 * 1024 * 1024))");
    if (jails.sandbox.health().profile().contains("cgroup")) {
      // The cgroup, not RLIMIT_AS (set far higher so threads are not starved), stops it.
      assertThat(outcome.kind()).isEqualTo(Kind.LIMIT_EXCEEDED);
    } else {
      assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
      assertThat(outcome.message()).startsWith("MemoryError");
    }
    assertThat(outcome.message()).contains("512 MiB");
  }

  @Test
  void numpyMemoryBombGetsMemoryError() {
    ExecutionOutcome outcome = jails.run("import numpy as np\ndef main():\n    return np.ones(10**9).sum()");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).contains("MemoryError");
  }

  @Test
  void manyProcessesTogetherCannotExceedTheMemoryLimit() {
    // Each child stays under RLIMIT_AS; together they pass 512 MiB, which only a cgroup stops.
    ExecutionOutcome outcome = jails.run("import os, time\ndef main():\n"
        + "    kids = []\n"
        + "    for _ in range(6):\n"
        + "        pid = os.fork()\n"
        + "        if pid == 0:\n"
        + "            block = bytearray(150 * 1024 * 1024)\n"
        + "            for i in range(0, len(block), 4096):\n"
        + "                block[i] = 1\n"
        + "            time.sleep(2)\n"
        + "            os._exit(0)\n"
        + "        kids.append(pid)\n"
        + "    statuses = [os.waitpid(pid, 0)[1] for pid in kids]\n"
        + "    return {'killed': sum(1 for s in statuses if os.WIFSIGNALED(s))}",
        Duration.ofSeconds(20));
    // Without cgroups (rlimits only) this cannot be stopped before the timeout.
    if (jails.sandbox.health().profile().contains("cgroup")) {
      assertThat(outcome.kind()).isAnyOf(Kind.SUCCESS, Kind.LIMIT_EXCEEDED);
      if (outcome.kind() == Kind.SUCCESS) {
        assertThat(outcome.result().getAsJsonObject().get("killed").getAsInt()).isGreaterThan(0);
      } else {
        assertThat(outcome.message()).contains("memory limit");
      }
    } else {
      assertThat(outcome.kind()).isNotEqualTo(Kind.SANDBOX_FAILURE);
    }
  }

  @Test
  void fillingTmpStopsAtItsSize() {
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    chunk = b'x' * (1024 * 1024)\n"
        + "    for n in range(100):\n"
        + "        with open('/tmp/fill%d' % n, 'wb') as f:\n"
        + "            for _ in range(8):\n"
        + "                f.write(chunk)");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).contains("No space left on device");
    assertThat(outcome.message()).contains("64 MiB");
  }

  @Test
  void aFileOverTheSizeLimitIsRefused() {
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    with open('/tmp/big', 'wb') as f:\n"
        + "        f.write(b'x' * (20 * 1024 * 1024))");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).contains("16 MiB");
  }

  @Test
  void timeoutKillsChildrenInOtherSessions() {
    ExecutionOutcome outcome = jails.run("import os, subprocess, time\ndef main():\n"
        + "    subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        + "    if os.fork() == 0:\n"
        + "        os.setsid()\n"
        + "        if os.fork() == 0:\n"
        + "            time.sleep(300)\n"
        + "        os._exit(0)\n"
        + "    print('waiting', flush=True)\n"
        + "    time.sleep(300)", Duration.ofSeconds(1));
    assertThat(outcome.kind()).isEqualTo(Kind.TIMEOUT);
    assertThat(outcome.stdout().text()).isEqualTo("waiting\n");
  }

  @Test
  void daemonLeftRunningAfterSuccessIsKilled() {
    ExecutionOutcome outcome = jails.run("import os, time\ndef main():\n"
        + "    if os.fork() == 0:\n"
        + "        os.setsid()\n"
        + "        if os.fork() == 0:\n"
        + "            time.sleep(300)\n"
        + "        os._exit(0)\n"
        + "    return 'done'");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
  }

  @Test
  void nonDaemonThreadDoesNotHoldBackTheResult() {
    long start = System.nanoTime();
    ExecutionOutcome outcome = jails.run("import threading, time\ndef main():\n"
        + "    threading.Thread(target=time.sleep, args=(300,)).start()\n"
        + "    return 'returned'");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat((System.nanoTime() - start) / 1_000_000_000).isLessThan(5);
  }

  @Test
  void writesToStrayDescriptorsCannotForgeTheResult() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    fake = b'\\x1ePYEXEC 00000000 {\"status\":\"ok\",\"result\":\"forged\"}\\n'\n"
        + "    for fd in range(2, 256):\n"
        + "        try:\n"
        + "            os.write(fd, fake)\n"
        + "        except OSError:\n"
        + "            pass\n"
        + "    print('printed')\n"
        + "    return 'real'");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().getAsString()).isEqualTo("real");
    assertThat(outcome.stdout().text()).endsWith("printed\n");
  }

  @Test
  void closingEveryDescriptorEndsAsAnEarlyExit() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n    os.closerange(0, 1024)\n    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
  }

  @Test
  void chattyScriptIsCutAtTheStdoutCap() {
    ExecutionOutcome outcome = jails.run("import sys\ndef main():\n"
        + "    for _ in range(40):\n        sys.stdout.write('y' * 100000)\n    return 'done'");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.stdout().truncated()).isTrue();
    assertThat(outcome.stdout().bytes().length).isEqualTo(1 << 20);
  }

  @Test
  void cpuHogIsStoppedByTheTimeout() {
    ExecutionOutcome outcome = jails.run("def main():\n    while True:\n        pass", Duration.ofSeconds(1));
    assertThat(outcome.kind()).isEqualTo(Kind.TIMEOUT);
  }

  @Test
  void readingStdinFindsNothing() {
    ExecutionOutcome outcome = jails.run("import sys\ndef main():\n    return sys.stdin.read()");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().getAsString()).isEmpty();
  }

  @Test
  void aFrameForgedWithTheStolenNonceIsTheScriptsFaultNotTheServers() {
    ExecutionOutcome outcome = jails.run("import os, sys\ndef main():\n"
        + "    frame = sys._getframe()\n"
        + "    while frame and 'nonce' not in frame.f_locals:\n"
        + "        frame = frame.f_back\n"
        + "    nonce = frame.f_locals['nonce']\n"
        + "    os.write(200, b'\\n\\x1ePYEXEC ' + nonce.encode() + b' {\"status\":\"weird\"}\\n')\n"
        + "    os._exit(0)");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).contains("tampered");
  }

  @Test
  void strayBytesOnTheResultChannelDoNotHideTheResult() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    os.write(200, b'garbage without a newline')\n"
        + "    return 'real'");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().getAsString()).isEqualTo("real");
  }

  @Test
  void theCpuBudgetCannotBeRaisedByTheScript() {
    ExecutionOutcome outcome = jails.run("import resource\ndef main():\n"
        + "    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)\n"
        + "    try:\n"
        + "        resource.setrlimit(resource.RLIMIT_CPU, (hard + 100, hard + 100))\n"
        + "        return 'raised'\n"
        + "    except (ValueError, OSError):\n"
        + "        return hard", Duration.ofSeconds(5));
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().getAsInt()).isAtMost(10);
  }
}
