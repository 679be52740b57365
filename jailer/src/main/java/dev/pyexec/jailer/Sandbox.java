package dev.pyexec.jailer;

/** Runs scripts in isolation. Thread-safe: every call gets a jail of its own. */
public interface Sandbox extends AutoCloseable {
  ExecutionOutcome execute(ScriptJob job);

  /**
   * The same, ended early when {@code cancellation} fires (the caller hung up): the engine ends
   * the execution's processes rather than letting them run to the timeout. An engine that cannot
   * cancel runs the job to its end.
   */
  default ExecutionOutcome execute(ScriptJob job, Cancellation cancellation) {
    return execute(job);
  }

  SandboxHealth health();

  @Override
  void close();
}
