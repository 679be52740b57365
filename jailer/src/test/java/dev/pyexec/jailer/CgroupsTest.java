package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** The per-execution cgroup API, on whatever this host offers (cgroup v1 on the dev machines). */
class CgroupsTest {
  @Test
  void withoutCgroupsNoGroupCanBeMade() {
    Cgroups none = Cgroups.none("test");
    assertThat(none.v2Parent()).isEmpty();
    IllegalStateException refused = assertThrows(IllegalStateException.class, () -> none.create("x", 1 << 20, 4));
    assertThat(refused).hasMessageThat().contains("no cgroups");
  }

  @Test
  void aPerExecutionGroupHoldsItsProcessWithItsLimitsAndIsRemovedAfter() throws Exception {
    Cgroups cgroups = Cgroups.detect();
    assumeTrue(cgroups.mode() != CgroupMode.NONE, "this host has no usable cgroups: " + cgroups.detail());
    String name = "test-" + ThreadLocalRandom.current().nextInt(1_000_000);
    Process sleeper = new ProcessBuilder("sleep", "30").start();
    try (Cgroups.JailCgroup group = cgroups.create(name, 64L << 20, 8)) {
      group.add(sleeper.pid());
      assertThat(Files.readString(Path.of("/proc", Long.toString(sleeper.pid()), "cgroup"))).contains("/" + name);
      Path pids = group.directories().get(group.directories().size() - 1);
      assertThat(Files.readString(pids.resolve("pids.max")).strip()).isEqualTo("8");
      sleeper.destroyForcibly().waitFor();
      Thread.sleep(100); // the kernel takes the dead process out of the group
    } finally {
      sleeper.destroyForcibly();
    }
    assertThat(Files.exists(cgroups.memoryParent().resolve(name))).isFalse();
  }
}
