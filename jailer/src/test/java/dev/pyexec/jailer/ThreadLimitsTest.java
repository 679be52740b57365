package dev.pyexec.jailer;

import dev.pyexec.jailer.oneshot.ColdJails;
import dev.pyexec.jailer.oneshot.NsjailLauncher;
import static com.google.common.truth.Truth.assertWithMessage;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC: the memory bound must not stop a script from running 31 threads (32 tasks with the main
 * thread, the process limit). Each profile's memory bound is checked: the one this host picks
 * (cgroups here) and the rlimit-only fallback, where every thread's stack and malloc arena count
 * against RLIMIT_AS.
 */
class ThreadLimitsTest {
  private static final String THIRTY_ONE_THREADS = """
      %s
      import threading
      from concurrent.futures import ThreadPoolExecutor

      def main():
          barrier = threading.Barrier(31, timeout=30)
          with ThreadPoolExecutor(max_workers=31) as pool:
              [f.result() for f in [pool.submit(barrier.wait) for _ in range(31)]]
          return 'all 31 met at the barrier'
      """;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final JailAssets assets = JailAssets.extract();
  private final ExecutorService io = Executors.newCachedThreadPool();
  private final NsjailLauncher launcher =
      new NsjailLauncher(RealSandbox.settings(), assets, new UidAllocator(263_000, 1000), io);

  @AfterEach
  void cleanUp() {
    io.shutdownNow();
    assets.close();
  }

  private static ExecutionOutcome run(Sandbox sandbox, String imports) {
    return sandbox.execute(new ScriptJob(THIRTY_ONE_THREADS.formatted(imports), TIMEOUT));
  }

  private NsjailSandbox rlimitOnly() {
    SandboxProfile full = new SandboxProfile("full", true, CgroupMode.NONE);
    return new NsjailSandbox(RealSandbox.settings(), full, new ColdJails(launcher, full));
  }

  @Test
  void thirtyOneThreadsStartUnderThisHostsProfile() {
    try (RealSandbox sandbox = RealSandbox.start()) {
      ExecutionOutcome outcome = run(sandbox.sandbox, "");
      assertWithMessage("%s", outcome.message()).that(outcome.kind()).isEqualTo(ExecutionOutcome.Kind.SUCCESS);
    }
  }

  @Test
  void thirtyOneThreadsStartWithPandasImportedUnderThisHostsProfile() {
    try (RealSandbox sandbox = RealSandbox.start()) {
      ExecutionOutcome outcome = run(sandbox.sandbox, "import numpy, pandas");
      assertWithMessage("%s", outcome.message()).that(outcome.kind()).isEqualTo(ExecutionOutcome.Kind.SUCCESS);
    }
  }

  @Test
  void thirtyOneThreadsStartUnderTheAddressSpaceLimitAlone() {
    ExecutionOutcome outcome = run(rlimitOnly(), "");
    assertWithMessage("%s", outcome.message()).that(outcome.kind()).isEqualTo(ExecutionOutcome.Kind.SUCCESS);
  }

  @Test
  void thirtyOneThreadsStartWithPandasImportedUnderTheAddressSpaceLimitAlone() {
    ExecutionOutcome outcome = run(rlimitOnly(), "import numpy, pandas");
    assertWithMessage("%s", outcome.message()).that(outcome.kind()).isEqualTo(ExecutionOutcome.Kind.SUCCESS);
  }
}
