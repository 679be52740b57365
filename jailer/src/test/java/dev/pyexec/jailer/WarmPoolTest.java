package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The warm pool serves from pre-started jails without weakening what a cold jail guarantees. */
class WarmPoolTest {
  private static PoolSettings pool(int plainMin, int plainMax, int dataMin, int dataMax, Duration maxIdle) {
    return new PoolSettings(true, plainMin, plainMax, dataMin, dataMax, maxIdle, 2, 1024);
  }

  private static long stat(RealSandbox jails, String key) {
    return ((Number) jails.sandbox.health().pool().get(key)).longValue();
  }

  private static void awaitPool(RealSandbox jails, Predicate<Map<String, Object>> condition)
      throws InterruptedException {
    for (int i = 0; i < 200; i++) {
      if (condition.test(jails.sandbox.health().pool())) {
        return;
      }
      Thread.sleep(50);
    }
    assertWithMessage("pool never reached the expected state: %s", jails.sandbox.health().pool()).fail();
  }

  private static boolean readyAtLeast(Map<String, Object> stats, String flavour, int count) {
    return ((Number) stats.get(flavour + "_ready")).intValue() >= count;
  }

  @Test
  void warmJailsServeBothFlavours() throws Exception {
    try (RealSandbox jails = RealSandbox.start(RealSandbox.settings(), pool(1, 2, 1, 2, Duration.ofSeconds(60)))) {
      awaitPool(jails, s -> readyAtLeast(s, "plain", 1) && readyAtLeast(s, "data", 1));
      ExecutionOutcome plain = jails.run("def main():\n    return 'plain'");
      ExecutionOutcome data = jails.run("import pandas as pd\ndef main():\n    return pd.__name__");
      assertThat(plain.jailSource()).isEqualTo("pool");
      assertThat(data.jailSource()).isEqualTo("pool");
      assertThat(data.result().getAsString()).isEqualTo("pandas");
      assertThat(stat(jails, "plain_hits")).isEqualTo(1);
      assertThat(stat(jails, "data_hits")).isEqualTo(1);
    }
  }

  @Test
  void nothingOfOneExecutionIsVisibleToTheNext() throws Exception {
    try (RealSandbox jails = RealSandbox.start(RealSandbox.settings(), pool(2, 2, 0, 0, Duration.ofSeconds(60)))) {
      awaitPool(jails, s -> readyAtLeast(s, "plain", 2));
      ExecutionOutcome tamper = jails.run("import json, os, sys, builtins\n"
          + "json.dumps = lambda *a, **k: '\"forged\"'\n"
          + "os.environ['LEAKED'] = '1'\n"
          + "sys.modules['leaked_module'] = sys\n"
          + "builtins.leaked_builtin = True\n"
          + "open('/tmp/leaked', 'w').write('x')\n"
          + "def main():\n    return 'tampered'");
      assertThat(tamper.jailSource()).isEqualTo("pool");
      awaitPool(jails, s -> readyAtLeast(s, "plain", 1));
      ExecutionOutcome next = jails.run("import json, os, sys, builtins\ndef main():\n"
          + "    return {'env': 'LEAKED' in os.environ, 'module': 'leaked_module' in sys.modules,"
          + " 'builtin': hasattr(builtins, 'leaked_builtin'), 'tmp': os.path.exists('/tmp/leaked'),"
          + " 'dumps': json.dumps([1])}");
      assertThat(next.jailSource()).isEqualTo("pool");
      assertThat(next.result().toString())
          .isEqualTo("{\"env\":false,\"module\":false,\"builtin\":false,\"tmp\":false,\"dumps\":\"[1]\"}");
    }
  }

  @Test
  void timeoutClockStartsAtHandOverNotAtLaunch() throws Exception {
    try (RealSandbox jails = RealSandbox.start(RealSandbox.settings(), pool(1, 1, 0, 0, Duration.ofSeconds(60)))) {
      awaitPool(jails, s -> readyAtLeast(s, "plain", 1));
      Thread.sleep(1500);
      ExecutionOutcome outcome = jails.run("import time\ndef main():\n    time.sleep(0.5)\n    return 'in time'",
          Duration.ofSeconds(1));
      assertThat(outcome.jailSource()).isEqualTo("pool");
      assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    }
  }

  @Test
  void hostileScriptsInPooledJailsLeaveThePoolHealthy() throws Exception {
    List<String> hostile = List.of(
        "import os\ndef main():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass",
        "import os, signal\ndef main():\n    os.kill(os.getppid() or 1, signal.SIGKILL)\n    os.kill(1, signal.SIGKILL)\n    return 'alive'",
        "import os\ndef main():\n    os.close(0)\n    os.close(1)\n    return 'closed'",
        "import os, time\ndef main():\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(300)\n    return 'daemon left'");
    try (RealSandbox jails = RealSandbox.start(RealSandbox.settings(), pool(2, 2, 0, 0, Duration.ofSeconds(60)))) {
      for (String script : hostile) {
        awaitPool(jails, s -> readyAtLeast(s, "plain", 2));
        ExecutionOutcome outcome = jails.run(script, Duration.ofSeconds(2));
        assertWithMessage(script).that(outcome.kind()).isNotEqualTo(Kind.SANDBOX_FAILURE);
        awaitPool(jails, s -> readyAtLeast(s, "plain", 2));
        // Only the two idle runners may remain under this sandbox's uids.
        assertWithMessage("after: %s", script).that(jails.leftoverProcesses(2).size()).isAtMost(2);
        ExecutionOutcome hello = jails.run("def main():\n    return 'ok'");
        assertThat(hello.jailSource()).isEqualTo("pool");
        assertThat(hello.result().getAsString()).isEqualTo("ok");
      }
    }
  }

  @Test
  void burstLargerThanThePoolGetsCorrectAnswers() throws Exception {
    try (RealSandbox jails = RealSandbox.start(RealSandbox.settings(), pool(2, 2, 1, 1, Duration.ofSeconds(60)))) {
      awaitPool(jails, s -> readyAtLeast(s, "plain", 2));
      ExecutorService clients = Executors.newFixedThreadPool(12);
      try {
        List<Future<ExecutionOutcome>> futures = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
          int n = i;
          String script = n % 3 == 0
              ? "import numpy as np\ndef main():\n    return int(np.int64(" + n + "))"
              : "def main():\n    return " + n;
          futures.add(clients.submit(() -> jails.run(script)));
        }
        for (int i = 0; i < futures.size(); i++) {
          ExecutionOutcome outcome = futures.get(i).get();
          assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
          assertThat(outcome.result().getAsInt()).isEqualTo(i);
        }
      } finally {
        clients.shutdownNow();
      }
      assertThat(stat(jails, "plain_misses") + stat(jails, "data_misses")).isGreaterThan(0);
    }
  }

  @Test
  void idleJailsAreRecycledAndThePoolShrinksWhenDemandStops() throws Exception {
    try (RealSandbox jails = RealSandbox.start(RealSandbox.settings(), pool(0, 4, 0, 0, Duration.ofSeconds(2)))) {
      for (int i = 0; i < 30; i++) {
        jails.run("def main():\n    return 1");
      }
      awaitPool(jails, s -> ((Number) s.get("plain_target")).intValue() >= 2);
      Thread.sleep(3000);
      assertThat(stat(jails, "recycled")).isGreaterThan(0);
      // Demand is counted over 10 s; after it the target falls back to the minimum of 0.
      awaitPool(jails, s -> ((Number) s.get("plain_target")).intValue() == 0
          && ((Number) s.get("plain_ready")).intValue() == 0);
    }
  }
}
