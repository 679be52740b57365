package dev.pyexec.jailer;

import dev.pyexec.jailer.oneshot.ColdJails;
import dev.pyexec.jailer.oneshot.NsjailLauncher;
import static com.google.common.truth.Truth.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SelfTestTest {
  private final JailAssets assets = JailAssets.extract();
  private final ExecutorService io = Executors.newCachedThreadPool();
  private final NsjailLauncher launcher =
      new NsjailLauncher(RealSandbox.settings(), assets, new UidAllocator(260_000, 1000), io);

  @AfterEach
  void cleanUp() {
    io.shutdownNow();
    assets.close();
  }

  @Test
  void candidatesGoFromStrongestToWeakest() {
    List<String> names = SandboxProfile.candidates(CgroupMode.V1).stream().map(SandboxProfile::name).toList();
    assertThat(names).containsExactly("full+cgroup-v1", "full", "reduced+cgroup-v1", "reduced",
        "full+cgroup-v1-noproc", "full-noproc", "reduced+cgroup-v1-noproc", "reduced-noproc").inOrder();
  }

  @Test
  void firstPassingProfileIsChosen() {
    SelfTest.Report report = new SelfTest(RealSandbox.settings(), launcher)
        .choose(List.of(new SandboxProfile("full", true, CgroupMode.NONE)));
    assertThat(report.chosen().map(SandboxProfile::name)).hasValue("full");
  }

  @Test
  void aProfileThatCannotRunIsRejectedWithTheReason() {
    SandboxSettings broken = new SandboxSettings(RealSandbox.nsjail(), java.nio.file.Path.of("/usr/bin/no-python"),
        512, 32, 64, 16, 1 << 20, 8 << 20, Duration.ofSeconds(30));
    NsjailLauncher brokenLauncher = new NsjailLauncher(broken, assets, new UidAllocator(261_000, 1000), io);
    SelfTest.Report report = new SelfTest(broken, brokenLauncher)
        .choose(List.of(new SandboxProfile("full", true, CgroupMode.NONE)));
    assertThat(report.chosen()).isEmpty();
    assertThat(report.findings().get(0)).contains("SANDBOX_FAILURE");
  }

  @Test
  void jailWithoutItsOwnProcStillProvesItsIsolation() {
    SandboxProfile noProc = new SandboxProfile("full-noproc", true, CgroupMode.NONE, false);
    assertThat(new SelfTest(RealSandbox.settings(), launcher).check(noProc)).isNull();
    NsjailSandbox sandbox = new NsjailSandbox(RealSandbox.settings(), noProc, new ColdJails(launcher, noProc));
    ExecutionOutcome outcome = sandbox.execute(new ScriptJob(
        "import os, pandas\ndef main():\n    return os.path.exists('/proc/self')", Duration.ofSeconds(20)));
    assertThat(outcome.kind()).isEqualTo(ExecutionOutcome.Kind.SUCCESS);
    assertThat(outcome.result().getAsBoolean()).isFalse();
  }

  @Test
  void repeatedSandboxFailuresMakeTheInstanceUnhealthy() {
    SandboxProfile full = new SandboxProfile("full", true, CgroupMode.NONE);
    SandboxSettings broken = new SandboxSettings(RealSandbox.nsjail(), java.nio.file.Path.of("/usr/bin/no-python"),
        512, 32, 64, 16, 1 << 20, 8 << 20, Duration.ofSeconds(30));
    NsjailSandbox failing = new NsjailSandbox(broken, full,
        new ColdJails(new NsjailLauncher(broken, assets, new UidAllocator(262_000, 1000), io), full));
    for (int i = 0; i < NsjailSandbox.UNHEALTHY_AFTER; i++) {
      assertThat(failing.health().healthy()).isTrue();
      assertThat(failing.execute(new ScriptJob("def main():\n    return 1", Duration.ofSeconds(5))).kind())
          .isEqualTo(ExecutionOutcome.Kind.SANDBOX_FAILURE);
    }
    assertThat(failing.health().healthy()).isFalse();
    assertThat(failing.health().detail()).contains("failed in the sandbox");
  }
}
