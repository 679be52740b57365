package dev.pyexec.jailer;

/** Runs scripts in isolation. Thread-safe: every call gets a jail of its own. */
public interface Sandbox extends AutoCloseable {
  ExecutionOutcome execute(ScriptJob job);

  SandboxHealth health();

  @Override
  void close();
}
