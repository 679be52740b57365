package dev.pyexec.jailer;

import java.util.Map;

/** What an instance has when no sandbox profile passed its self-test: it fails closed. */
public final class UnavailableSandbox implements Sandbox {
  private final String reason;

  public UnavailableSandbox(String reason) {
    this.reason = reason;
  }

  @Override
  public ExecutionOutcome execute(ScriptJob job) {
    return ExecutionOutcome.sandboxUnavailable(reason);
  }

  @Override
  public SandboxHealth health() {
    return new SandboxHealth(false, "none", "none", reason, Map.of());
  }

  @Override
  public void close() {}
}
