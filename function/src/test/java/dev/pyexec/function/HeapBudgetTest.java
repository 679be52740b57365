package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class HeapBudgetTest {
  private static final long MIB = 1 << 20;

  private static final long BUDGET = 43_515_904L; // the server's per-execution budget with default caps
  private static final int BODY = 16 << 20;

  @Test
  void aRequestIsBudgetedItsBodyAndItsParseTree() {
    assertThat(HeapBudget.of(512 * MIB, BUDGET, BODY).perRequestBytes()).isEqualTo(32 * MIB);
  }

  @Test
  void aLargeHeapKeepsWhatTheOperatorAsked() {
    HeapBudget.Fit fit = HeapBudget.of(4096 * MIB, BUDGET, BODY).fit(4, 32);
    assertThat(fit.concurrency()).isEqualTo(4);
    assertThat(fit.queueSize()).isEqualTo(32);
    assertThat(fit.lowered()).isFalse();
  }

  @Test
  void aSmallHeapShortensTheQueueBeforeTheExecutions() {
    HeapBudget.Fit fit = HeapBudget.of(512 * MIB, BUDGET, BODY).fit(4, 32);
    assertThat(fit.concurrency()).isEqualTo(4);
    assertThat(fit.queueSize()).isLessThan(32);
    assertThat(fit.lowered()).isTrue();
    assertThat(fit.explanation()).contains("lowered from 4 + 32");
  }

  @Test
  void aTinyHeapStillRunsOneExecutionAndSaysItIsShort() {
    HeapBudget.Fit fit = HeapBudget.of(128 * MIB, BUDGET, BODY).fit(8, 64);
    assertThat(fit.concurrency()).isEqualTo(1);
    assertThat(fit.queueSize()).isEqualTo(0);
    assertThat(fit.explanation()).contains("give the JVM more memory");
  }

  @Test
  void theServiceConfigurationIsLoweredToFitTheHeap() {
    ServiceConfig config = ServiceConfig.fromEnvironment(Map.of("PYEXEC_MAX_CONCURRENCY", "16"), 2, 512 * MIB);
    assertThat(config.concurrency()).isLessThan(16);
    assertThat(config.concurrency() * config.executionBudgetBytes()
        + (long) config.queueSize() * 2 * config.bodyLimitBytes())
        .isAtMost(512 * MIB - HeapBudget.SERVER_RESERVE_BYTES);
  }
}
