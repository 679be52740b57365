package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.Sandbox;
import dev.pyexec.jailer.SandboxHealth;
import dev.pyexec.jailer.ScriptJob;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PoolStatusLogTest {
  /** A sandbox whose pool figures the test sets: about logging only, nothing runs. */
  private static final class PoolFigures implements Sandbox {
    volatile Map<String, Object> pool = Map.of();

    @Override
    public ExecutionOutcome execute(ScriptJob job) {
      throw new UnsupportedOperationException();
    }

    @Override
    public SandboxHealth health() {
      return new SandboxHealth(true, "fake", "ready", pool);
    }

    @Override
    public void close() {}
  }

  private final List<String> lines = new ArrayList<>();
  private final PoolFigures sandbox = new PoolFigures();
  private final PoolStatusLog status = new PoolStatusLog(sandbox, new RequestLog(lines::add));

  @Test
  void theFiguresGoInOneJsonLine() {
    sandbox.pool = Map.of("plain_ready", 3, "plain_hits", 10);
    status.report();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains("\"message\":\"warm pool status\"");
    assertThat(lines.get(0)).contains("\"plain_ready\":3");
    assertThat(lines.get(0)).contains("\"plain_hits\":10");
  }

  @Test
  void unchangedFiguresAreNotLoggedAgain() {
    sandbox.pool = Map.of("plain_ready", 3);
    status.report();
    status.report();
    sandbox.pool = Map.of("plain_ready", 2);
    status.report();
    assertThat(lines).hasSize(2);
  }

  @Test
  void withThePoolOffNothingIsLogged() {
    status.report();
    assertThat(lines).isEmpty();
  }
}
