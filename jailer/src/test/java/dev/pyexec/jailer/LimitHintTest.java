package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A failed thread or process start names the limit that can really have run out, per profile. */
class LimitHintTest {
  private static String messageFor(CgroupMode cgroups, String type, String detail) {
    OutcomeClassifier classifier = new OutcomeClassifier(RealSandbox.settings(),
        new SandboxProfile("test", true, cgroups));
    String frame = "{\"status\":\"error\",\"kind\":\"exception\",\"type\":\"" + type + "\",\"message\":\""
        + detail + "\",\"traceback\":\"\",\"phase\":\"main\"}\n";
    RawRun run = new RawRun(true, new ResultFrame(frame.getBytes(StandardCharsets.UTF_8), false), 0, false,
        CapturedOutput.EMPTY, "", Duration.ofMillis(5));
    return classifier.classify(run, Duration.ofSeconds(5)).message();
  }

  @Test
  void withCgroupsAFailedThreadStartNamesTheProcessLimitOnly() {
    String message = messageFor(CgroupMode.V2, "RuntimeError", "can't start new thread");
    assertThat(message).contains("at most 32 processes and threads");
    assertThat(message).doesNotContain("address-space");
  }

  @Test
  void withoutCgroupsAFailedThreadStartAlsoNamesTheAddressSpaceLimit() {
    String message = messageFor(CgroupMode.NONE, "RuntimeError", "can't start new thread");
    assertThat(message).contains("at most 32 processes and threads");
    assertThat(message).contains("512 MiB address-space limit");
  }

  @Test
  void aRefusedForkNamesTheProcessLimit() {
    assertThat(messageFor(CgroupMode.NONE, "BlockingIOError", "[Errno 11] Resource temporarily unavailable"))
        .contains("at most 32 processes and threads");
  }

  @Test
  void outOfAddressSpaceWithoutCgroupsNamesTheMemoryLimit() {
    assertThat(messageFor(CgroupMode.NONE, "OSError", "[Errno 12] Cannot allocate memory"))
        .contains("512 MiB of address space");
  }
}
