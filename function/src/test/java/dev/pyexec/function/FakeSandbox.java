package dev.pyexec.function;

import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.Sandbox;
import dev.pyexec.jailer.SandboxHealth;
import dev.pyexec.jailer.ScriptJob;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/** A stand-in sandbox for tests of the HTTP layer only: it proves nothing about isolation. */
final class FakeSandbox implements Sandbox {
  final CopyOnWriteArrayList<ScriptJob> jobs = new CopyOnWriteArrayList<>();
  private final Function<ScriptJob, ExecutionOutcome> answer;
  private final boolean healthy;
  volatile CountDownLatch gate;

  FakeSandbox(Function<ScriptJob, ExecutionOutcome> answer, boolean healthy) {
    this.answer = answer;
    this.healthy = healthy;
  }

  @Override
  public ExecutionOutcome execute(ScriptJob job) {
    jobs.add(job);
    CountDownLatch waitFor = gate;
    if (waitFor != null) {
      try {
        waitFor.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return answer.apply(job);
  }

  @Override
  public SandboxHealth health() {
    return new SandboxHealth(healthy, healthy ? "fake" : "none", healthy ? "oneshot" : "none",
        healthy ? "ready" : "nsjail missing", Map.of());
  }

  @Override
  public void close() {}
}
