package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class HeapBudgetTest {
  private static final long MIB = 1 << 20;

  @Test
  void oneExecutionsWorstCaseIsThreeCopiesOfItsCaps() {
    HeapBudget budget = HeapBudget.of(512 * MIB, 1 << 20, 8 << 20, 2 << 20);
    assertThat(budget.perExecutionBytes()).isEqualTo(3 * ((1 << 20) + (8 << 20) + (16 << 20) + (64 << 10)));
    assertThat(budget.perRequestBytes()).isEqualTo(4 * MIB);
  }

  @Test
  void aLargeHeapKeepsWhatTheOperatorAsked() {
    HeapBudget.Fit fit = HeapBudget.of(4096 * MIB, 1 << 20, 8 << 20, 2 << 20).fit(4, 32);
    assertThat(fit.concurrency()).isEqualTo(4);
    assertThat(fit.queueSize()).isEqualTo(32);
    assertThat(fit.lowered()).isFalse();
  }

  @Test
  void aSmallHeapShortensTheQueueBeforeTheExecutions() {
    HeapBudget.Fit fit = HeapBudget.of(512 * MIB, 1 << 20, 8 << 20, 2 << 20).fit(4, 32);
    assertThat(fit.concurrency()).isEqualTo(4);
    assertThat(fit.queueSize()).isLessThan(32);
    assertThat(fit.lowered()).isTrue();
    assertThat(fit.explanation()).contains("lowered from 4 + 32");
  }

  @Test
  void aTinyHeapStillRunsOneExecutionAndSaysItIsShort() {
    HeapBudget.Fit fit = HeapBudget.of(128 * MIB, 1 << 20, 8 << 20, 2 << 20).fit(8, 64);
    assertThat(fit.concurrency()).isEqualTo(1);
    assertThat(fit.queueSize()).isEqualTo(0);
    assertThat(fit.explanation()).contains("give the JVM more memory");
  }

  @Test
  void theServiceConfigurationIsLoweredToFitTheHeap() {
    ServiceConfig config = ServiceConfig.fromEnvironment(Map.of("PYEXEC_MAX_CONCURRENCY", "16"), 2, 512 * MIB);
    assertThat(config.concurrency()).isLessThan(16);
    assertThat(config.concurrency() * HeapBudget.of(512 * MIB, 1 << 20, 8 << 20, 2 << 20).perExecutionBytes())
        .isAtMost(512 * MIB);
  }
}
