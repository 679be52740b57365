package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pyexec.jailer.EngineSettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceConfigTest {
  @Test
  void defaultsFollowTheSpec() {
    ServiceConfig config = ServiceConfig.fromEnvironment(Map.of(), 2);
    assertThat(config.defaultTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.sandbox().maxTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.sandbox().memoryMb()).isEqualTo(512);
    assertThat(config.sandbox().maxProcesses()).isEqualTo(32);
    assertThat(config.sandbox().stdoutLimitBytes()).isEqualTo(1 << 20);
    assertThat(config.scriptLimitBytes()).isEqualTo(256 * 1024);
    assertThat(config.concurrency()).isEqualTo(4);
    assertThat(config.engine().engine()).isEqualTo(EngineSettings.Engine.TEMPLATE);
    assertThat(config.engine().template().maxExecutions()).isEqualTo(5000);
  }

  @Test
  void theBodyLimitFitsTheScriptStdinAndFileCapsAfterEncoding() {
    assertThat(ServiceConfig.fromEnvironment(Map.of(), 2).bodyLimitBytes()).isEqualTo(16 << 20);
  }

  @Test
  void theExecutionBudgetIsTheDocumentedSumOfTheCaps() {
    // frame (1 MiB line + 8 MiB result + 16 MiB files) + 3 x 1 MiB stdout + 1 MiB stdin
    // + 8 MiB input files + 2 x 256 KiB script + 4 MiB slack
    assertThat(ServiceConfig.fromEnvironment(Map.of(), 2).executionBudgetBytes()).isEqualTo(43_515_904L);
  }

  @Test
  void operatorSettingsAreRead() {
    ServiceConfig config = ServiceConfig.fromEnvironment(Map.of(
        "PYEXEC_MAX_TIMEOUT_S", "60", "PYEXEC_DEFAULT_TIMEOUT_S", "2.5", "PYEXEC_MEMORY_MB", "1024",
        "PYEXEC_MAX_CONCURRENCY", "3", "PYEXEC_ENGINE", "oneshot", "PYEXEC_TEMPLATE_MAX_EXECUTIONS", "100", "PYEXEC_NSJAIL", "/opt/nsjail"), 2);
    assertThat(config.sandbox().maxTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(config.defaultTimeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(config.sandbox().memoryMb()).isEqualTo(1024);
    assertThat(config.concurrency()).isEqualTo(3);
    assertThat(config.engine().engine()).isEqualTo(EngineSettings.Engine.ONESHOT);
    assertThat(config.engine().template().maxExecutions()).isEqualTo(100);
    assertThat(config.sandbox().nsjail().toString()).isEqualTo("/opt/nsjail");
  }

  @Test
  void everyBadValueIsNamedInOneMessage() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> ServiceConfig.fromEnvironment(Map.of("PYEXEC_MEMORY_MB", "lots", "PYEXEC_ENGINE", "maybe",
            "PYEXEC_MAX_CONCURRENCY", "0"), 2));
    assertThat(error).hasMessageThat().contains("PYEXEC_MEMORY_MB=lots is not a whole number");
    assertThat(error).hasMessageThat().contains("PYEXEC_ENGINE=maybe must be template or oneshot");
    assertThat(error).hasMessageThat().contains("PYEXEC_MAX_CONCURRENCY=0 is out of range");
  }

  @Test
  void defaultTimeoutMayNotExceedTheMaximum() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> ServiceConfig.fromEnvironment(Map.of("PYEXEC_MAX_TIMEOUT_S", "5", "PYEXEC_DEFAULT_TIMEOUT_S", "10"), 2));
    assertThat(error).hasMessageThat().contains("PYEXEC_DEFAULT_TIMEOUT_S=10");
  }
}
