package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NsjailCommandTest {
  private final JailAssets assets = JailAssets.extract();
  private final NsjailCommand command = new NsjailCommand(RealSandbox.settings(), assets);

  @AfterEach
  void cleanUp() {
    assets.close();
  }

  private static String joined(List<String> argv) {
    return String.join(" ", argv);
  }

  @Test
  void fullProfileMapsTheJailUidToAHostUidOfItsOwn() {
    List<String> argv = command.build(new SandboxProfile("full", true, CgroupMode.NONE), Flavour.PLAIN,
        200_123, Duration.ofSeconds(40));
    assertThat(joined(argv)).contains("--user 65534:200123:1 --group 65534:200123:1");
    assertThat(argv).doesNotContain("--disable_clone_newuser");
  }

  @Test
  void reducedProfileRunsAsTheHostUidWithoutAUserNamespace() {
    List<String> argv = command.build(new SandboxProfile("reduced", false, CgroupMode.NONE), Flavour.PLAIN,
        200_124, Duration.ofSeconds(40));
    assertThat(argv).contains("--disable_clone_newuser");
    assertThat(joined(argv)).contains("--user 200124:200124:1");
  }

  @Test
  void limitsComeFromTheSettings() {
    String argv = joined(command.build(new SandboxProfile("full", true, CgroupMode.V1), Flavour.DATA,
        200_000, Duration.ofSeconds(40)));
    assertThat(argv).contains("--rlimit_fsize 16");
    assertThat(argv).contains("--rlimit_nproc 32");
    assertThat(argv).contains("--cgroup_mem_max 536870912");
    assertThat(argv).contains("--cgroup_pids_max 32");
    assertThat(argv).contains("none:/tmp:tmpfs:size=67108864");
    assertThat(argv).contains("--time_limit 41");
    assertThat(argv).endsWith("/opt/pyexec/runner.py numpy,pandas");
  }

  @Test
  void cgroupProfilesRaiseTheAddressSpaceLimitFarAboveTheMemoryLimit() {
    String argv = joined(command.build(new SandboxProfile("full+cgroup-v1", true, CgroupMode.V1), Flavour.DATA,
        200_000, Duration.ofSeconds(40)));
    assertThat(argv).contains("--rlimit_as 2048");
  }

  @Test
  void profilesWithoutCgroupsBoundTheAddressSpace() {
    String argv = joined(command.build(new SandboxProfile("full", true, CgroupMode.NONE), Flavour.DATA,
        200_000, Duration.ofSeconds(40)));
    assertThat(argv).contains("--rlimit_as 512");
  }

  @Test
  void cgroupV2JailsAreMadeUnderTheDelegatedParent() {
    java.nio.file.Path jails = java.nio.file.Path.of("/sys/fs/cgroup/pyexec-jails");
    NsjailCommand v2 = new NsjailCommand(RealSandbox.settings(), assets,
        new Cgroups(CgroupMode.V2, jails, jails, "test"));
    String argv = joined(v2.build(new SandboxProfile("full+cgroup-v2", true, CgroupMode.V2), Flavour.PLAIN,
        200_000, Duration.ofSeconds(40)));
    assertThat(argv).contains("--use_cgroupv2 --cgroupv2_mount /sys/fs/cgroup/pyexec-jails");
    assertThat(argv).contains("--cgroup_mem_max 536870912");
  }

  @Test
  void pythonRunsIsolatedWithoutSite() {
    List<String> argv = command.build(new SandboxProfile("full", true, CgroupMode.NONE), Flavour.PLAIN,
        200_000, Duration.ofSeconds(40));
    int python = argv.indexOf("--") + 1;
    assertThat(argv.subList(python + 1, python + 4)).containsExactly("-I", "-S", "-B").inOrder();
  }
}
