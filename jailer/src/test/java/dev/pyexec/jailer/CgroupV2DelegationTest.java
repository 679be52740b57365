package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CgroupV2DelegationTest {
  private static final String CGROUP2_AT_SYS_FS_CGROUP =
      "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate";

  @Test
  void inItsOwnCgroupNamespaceAContainerOwnsTheWholeMount() {
    CgroupV2Delegation found = CgroupV2Delegation.parse(List.of(CGROUP2_AT_SYS_FS_CGROUP), List.of("0::/"));
    assertThat(found.ownGroup()).hasValue(Path.of("/sys/fs/cgroup"));
  }

  @Test
  void withoutACgroupNamespaceTheGroupIsFoundBelowTheMount() {
    CgroupV2Delegation found = CgroupV2Delegation.parse(List.of(CGROUP2_AT_SYS_FS_CGROUP),
        List.of("0::/system.slice/pyexec.service"));
    assertThat(found.ownGroup()).hasValue(Path.of("/sys/fs/cgroup/system.slice/pyexec.service"));
  }

  @Test
  void aReadOnlyMountGivesNoCgroups() {
    String readOnly = CGROUP2_AT_SYS_FS_CGROUP.replace("/sys/fs/cgroup rw,", "/sys/fs/cgroup ro,");
    Cgroups cgroups = CgroupV2Delegation.parse(List.of(readOnly), List.of("0::/")).delegate();
    assertThat(cgroups.mode()).isEqualTo(CgroupMode.NONE);
    assertThat(cgroups.detail()).contains("read-only");
  }

  @Test
  void aHybridHostsUnifiedMountIsUsedWhenItIsTheOnlyOne() {
    String unified = "35 30 0:30 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate";
    CgroupV2Delegation found = CgroupV2Delegation.parse(List.of(unified), List.of("12:pids:/", "0::/user.slice"));
    assertThat(found.ownGroup()).hasValue(Path.of("/sys/fs/cgroup/unified/user.slice"));
  }

  @Test
  void withoutACgroup2MountThereIsNothingToDelegate() {
    Cgroups cgroups = CgroupV2Delegation.parse(
        List.of("22 1 0:21 / /proc rw,nosuid - proc proc rw"), List.of("0::/")).delegate();
    assertThat(cgroups.mode()).isEqualTo(CgroupMode.NONE);
    assertThat(cgroups.detail()).contains("no cgroup2");
  }
}
