package dev.pyexec.jailer;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Runs every script in a jail of its own, from the given provider, and classifies the outcome. */
public final class NsjailSandbox implements Sandbox {
  private final SandboxSettings settings;
  private final SandboxProfile profile;
  private final JailProvider jails;
  private final OutcomeClassifier classifier;
  private final List<AutoCloseable> owned;
  /** Sandbox failures in a row; past the threshold the instance reports itself unhealthy. */
  private final AtomicInteger failuresInARow = new AtomicInteger();
  static final int UNHEALTHY_AFTER = 3;

  public NsjailSandbox(SandboxSettings settings, SandboxProfile profile, JailProvider jails) {
    this(settings, profile, jails, List.of());
  }

  /**
   * @param owned resources this sandbox releases when closed (assets, thread pool)
   */
  NsjailSandbox(SandboxSettings settings, SandboxProfile profile, JailProvider jails,
      List<AutoCloseable> owned) {
    this.settings = settings;
    this.profile = profile;
    this.jails = jails;
    this.classifier = new OutcomeClassifier(settings, profile);
    this.owned = List.copyOf(owned);
  }

  @Override
  public ExecutionOutcome execute(ScriptJob job) {
    return execute(job, new Cancellation());
  }

  @Override
  public ExecutionOutcome execute(ScriptJob job, Cancellation cancellation) {
    if (job.timeout().compareTo(settings.maxTimeout()) > 0) {
      throw new IllegalArgumentException("timeout " + job.timeout() + " is over the maximum "
          + settings.maxTimeout());
    }
    ExecutionOutcome outcome = null;
    // A jail whose runner never came up never saw the script: one more jail may take it. (A
    // template that dies just as it forks, for example, leaves such a child.)
    for (int attempt = 0; attempt < 2 && outcome == null; attempt++) {
      JailProvider.Lease lease;
      try {
        lease = jails.take(Flavour.forScript(job.script()));
      } catch (SandboxException e) {
        return track(ExecutionOutcome.sandboxFailure(CapturedOutput.EMPTY, e.getMessage(), Duration.ZERO)
            .withJailSource("none"));
      }
      Jail jail = lease.jail();
      // Closing the jail ends its PID namespace; run() then sees the channel end and returns.
      cancellation.onCancel(jail::close);
      RawRun run;
      try {
        run = jail.run(job);
      } catch (RuntimeException e) {
        jail.close();
        throw e;
      }
      if (run.started() || run.timedOut() || attempt == 1 || cancellation.isCancelled()) {
        outcome = classifier.classify(run, job.timeout()).withJailSource(lease.source());
      }
    }
    // A jail killed because its caller left says nothing about this instance's health.
    return cancellation.isCancelled() ? outcome : track(outcome);
  }

  /** Jails that keep failing mean this instance can no longer sandbox: say so in /health. */
  private ExecutionOutcome track(ExecutionOutcome outcome) {
    if (outcome.kind() == ExecutionOutcome.Kind.SANDBOX_FAILURE) {
      failuresInARow.incrementAndGet();
    } else {
      failuresInARow.set(0);
    }
    return outcome;
  }

  @Override
  public SandboxHealth health() {
    int failures = failuresInARow.get();
    if (failures >= UNHEALTHY_AFTER) {
      return new SandboxHealth(false, profile.name(), jails.engine(),
          "the last " + failures + " executions failed in the sandbox itself", jails.stats());
    }
    return new SandboxHealth(true, profile.name(), jails.engine(), "ready", jails.stats());
  }

  public SandboxProfile profile() {
    return profile;
  }

  @Override
  public void close() {
    jails.close();
    for (AutoCloseable resource : owned) {
      try {
        resource.close();
      } catch (Exception e) {
        // Closing is best effort; the process is usually on its way out.
      }
    }
  }
}
