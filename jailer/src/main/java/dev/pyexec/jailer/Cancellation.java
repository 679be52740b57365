package dev.pyexec.jailer;

import java.util.ArrayList;
import java.util.List;

/**
 * Says an execution is no longer wanted (its caller hung up). The engine registers how to end
 * the execution (kill its jail or its forked child) with {@link #onCancel}; whoever learns the
 * caller is gone calls {@link #cancel}, from any thread, at most once in effect.
 */
public final class Cancellation {
  private final List<Runnable> actions = new ArrayList<>();
  private boolean cancelled;

  /** Runs the action on cancel, or at once when the execution was cancelled already. */
  public void onCancel(Runnable action) {
    synchronized (this) {
      if (!cancelled) {
        actions.add(action);
        return;
      }
    }
    action.run();
  }

  public void cancel() {
    List<Runnable> toRun;
    synchronized (this) {
      if (cancelled) {
        return;
      }
      cancelled = true;
      toRun = List.copyOf(actions);
      actions.clear();
    }
    toRun.forEach(Runnable::run);
  }

  public synchronized boolean isCancelled() {
    return cancelled;
  }
}
