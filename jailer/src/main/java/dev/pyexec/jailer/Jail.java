package dev.pyexec.jailer;

import java.io.IOException;
import java.io.OutputStream;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One sandboxed runner that waits for exactly one script, whichever engine made it. Used once,
 * then killed with everything it started: closing a jail ends its PID namespace.
 */
public final class Jail implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration EXIT_GRACE = Duration.ofSeconds(2);
  private static final Duration STDOUT_AFTER_FRAME = Duration.ofMillis(500);
  /** PIPE_BUF: a write this small to an empty pipe completes at once, even on a one-page pipe. */
  private static final int PIPE_CAPACITY = 4096;
  /** Longest a jail may take to come up before its script is handed over regardless. */
  public static final Duration STARTUP_ALLOWANCE = Duration.ofSeconds(10);

  private final JailProcess process;
  private final SandboxSettings settings;
  private final ExecutorService io;
  private final ResultChannel channel;
  private final CompletableFuture<CapturedOutput> stdout;
  private boolean used;
  private volatile Runnable closeListener = () -> { };

  public Jail(JailProcess process, SandboxSettings settings, ExecutorService io) {
    this.process = process;
    this.settings = settings;
    this.io = io;
    this.channel = new ResultChannel(settings.resultLimitBytes());
    OutputDrainer drainer = new OutputDrainer(settings.stdoutLimitBytes(), channel.nonce());
    this.stdout = drainer.output();
    CompletableFuture.runAsync(() -> drainer.drain(process.stdout()), io);
    CompletableFuture.runAsync(() -> channel.read(process.channel()), io);
  }

  /**
   * Waits until the runner has said it is ready, or the jail died, or the wait ran out. True if
   * it did say so, even if it has finished since: its job may be in its input already.
   */
  boolean awaitReady(Duration wait) {
    try {
      channel.ready().get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    return channel.sawReady();
  }

  /** Whether its runner is still there (a spare may have been ended with its template). */
  public boolean isAlive() {
    return process.isAlive();
  }

  /** Runs the action once this jail has been closed. */
  public void onClose(Runnable action) {
    closeListener = action;
  }

  /** A job of just a script: no stdin, no input files. */
  public RawRun run(String script, Duration timeout) {
    return run(new ScriptJob(script, timeout));
  }

  /**
   * Hands the job over and waits for its outcome. The timeout clock starts here, not when the
   * jail was launched. The jail is ended by this call (after a result, in the background).
   */
  public RawRun run(ScriptJob job) {
    Duration timeout = job.timeout();
    if (used) {
      throw new IllegalStateException("a jail runs one script only");
    }
    used = true;
    String nonce = HexFormat.of().formatHex(randomBytes());
    channel.expect(nonce);
    long cpuSeconds = (long) Math.ceil(timeout.toMillis() / 1000.0) + 1;
    JobPayload payload = JobPayload.of(nonce, cpuSeconds, settings.resultLimitBytes(), job);
    if (payload.length() <= PIPE_CAPACITY) {
      feed(payload); // fits the pipe: the write cannot block, whatever the runner does
    } else {
      // Written off this thread: a runner that does not read must not stall the timeout.
      CompletableFuture.runAsync(() -> feed(payload), io);
    }
    // The job waits in the pipe or socket while the jail may still be coming up (importing its
    // preloads, or a forked child making its sandbox): the script's time starts once it is ready.
    long start = System.nanoTime();
    if (!awaitReady(STARTUP_ALLOWANCE)) {
      // Never ready, so it never read the script: the caller may give it to another jail.
      close();
      return new RawRun(false, null, process.exitCode(), false, CapturedOutput.EMPTY,
          channel.diagnostics() + "the runner was not ready within " + STARTUP_ALLOWANCE.toSeconds() + " s",
          Duration.ofNanos(System.nanoTime() - start));
    }
    start = System.nanoTime();

    ResultFrame frame = null;
    boolean timedOut = false;
    try {
      frame = channel.frame().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      timedOut = true;
    } catch (ExecutionException e) {
      frame = null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
    int exitCode = -1;
    CapturedOutput out;
    if (frame != null) {
      // The runner ended stdout with its marker just before the frame, so stdout is complete
      // already. Tearing nsjail down (reaping, cgroup removal) is not the caller's business,
      // so it happens after the answer.
      out = awaitStdout(STDOUT_AFTER_FRAME);
      io.execute(this::close);
    } else {
      if (!timedOut) {
        // The channel closed without a frame: the jail has ended or is ending; take its status.
        process.waitFor(EXIT_GRACE);
        exitCode = process.exitCode();
      }
      close();
      out = awaitStdout(EXIT_GRACE);
    }
    return new RawRun(channel.sawReady(), frame, exitCode, timedOut, out, channel.diagnostics(), elapsed);
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  private void feed(JobPayload payload) {
    try (OutputStream in = process.jobInput()) {
      payload.writeTo(in);
    } catch (IOException e) {
      // The runner is gone; the outcome says why.
    }
  }

  private CapturedOutput awaitStdout(Duration wait) {
    CapturedOutput out = stdoutWithin(wait);
    if (out == null) {
      // Something still holds stdout open: end the jail, then take what was printed.
      close();
      out = stdoutWithin(EXIT_GRACE);
    }
    return out == null ? CapturedOutput.EMPTY : out;
  }

  /** The captured stdout, or null if it is not complete within the wait. */
  private CapturedOutput stdoutWithin(Duration wait) {
    try {
      return stdout.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return null;
    } catch (ExecutionException e) {
      return CapturedOutput.EMPTY;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CapturedOutput.EMPTY;
    }
  }

  /** Ends the jail and everything in it. */
  @Override
  public synchronized void close() {
    process.destroy();
    closeListener.run();
  }
}
