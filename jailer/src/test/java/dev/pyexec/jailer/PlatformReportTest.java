package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlatformReportTest {
  private static final String GVISOR_FINDING = "full: SANDBOX_FAILURE: the jail did not start; nsjail: [E] "
      + "prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP): Invalid argument";

  @Test
  void gvisorsSecurebitsRefusalIsExplainedAsCloudRunsFirstGeneration() {
    PlatformReport report = new PlatformReport(Map.of("cap_sys_admin", true));
    assertThat(report.explain(List.of(GVISOR_FINDING)).orElseThrow())
        .contains("second generation execution environment");
  }

  @Test
  void aMissingCapSysAdminIsNamedWhenNoProfileRan() {
    PlatformReport report = new PlatformReport(Map.of("cap_sys_admin", false, "cap_eff", "000001ffffdfffff"));
    assertThat(report.explain(List.of("full: SANDBOX_FAILURE: Operation not permitted")).orElseThrow())
        .contains("CAP_SYS_ADMIN");
  }

  @Test
  void otherFailuresGetNoPlatformVerdict() {
    PlatformReport report = new PlatformReport(Map.of("cap_sys_admin", true));
    assertThat(report.explain(List.of("full: the script ran as root"))).isEmpty();
  }

  @Test
  void capSysAdminIsBit21OfCapEff() {
    assertThat(PlatformReport.hasCapability("000001ffffffffff", 21)).isTrue();
    assertThat(PlatformReport.hasCapability("000001ffffdfffff", 21)).isFalse();
  }

  @Test
  void thisProcessGetsOneLineWithEveryFact() {
    String line = PlatformReport.read().logLine();
    assertThat(line).startsWith("platform {");
    for (String fact : List.of("cap_eff", "seccomp", "no_new_privs", "uid_map", "cgroup_version", "cgroup_path",
        "cgroup_writable", "proc_mount")) {
      assertThat(line).contains("\"" + fact + "\"");
    }
  }
}
