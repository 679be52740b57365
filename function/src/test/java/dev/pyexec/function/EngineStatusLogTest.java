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

class EngineStatusLogTest {
  /** A sandbox whose engine figures the test sets: about logging only, nothing runs. */
  private static final class EngineFigures implements Sandbox {
    volatile Map<String, Object> stats = Map.of();

    @Override
    public ExecutionOutcome execute(ScriptJob job) {
      throw new UnsupportedOperationException();
    }

    @Override
    public SandboxHealth health() {
      return new SandboxHealth(true, "fake", "template", "ready", stats);
    }

    @Override
    public void close() {}
  }

  private final List<String> lines = new ArrayList<>();
  private final EngineFigures sandbox = new EngineFigures();
  private final EngineStatusLog status = new EngineStatusLog(sandbox, new RequestLog(lines::add));

  @Test
  void theFiguresGoInOneJsonLine() {
    sandbox.stats = Map.of("plain_executions", 3, "oneshot_fallbacks", 0);
    status.report();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains("\"message\":\"engine status\"");
    assertThat(lines.get(0)).contains("\"plain_executions\":3");
    assertThat(lines.get(0)).contains("\"oneshot_fallbacks\":0");
  }

  @Test
  void unchangedFiguresAreNotLoggedAgain() {
    sandbox.stats = Map.of("plain_executions", 3);
    status.report();
    status.report();
    sandbox.stats = Map.of("plain_executions", 4);
    status.report();
    assertThat(lines).hasSize(2);
  }

  @Test
  void anEngineWithoutFiguresLogsNothing() {
    status.report();
    assertThat(lines).isEmpty();
  }
}
