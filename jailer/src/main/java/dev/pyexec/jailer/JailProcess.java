package dev.pyexec.jailer;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;

/**
 * The one sandboxed runner process of an execution, whichever engine made it: a one-shot
 * nsjail, or a child forked from a template. {@link Jail} drives it the same way either way.
 */
public interface JailProcess {
  /** Where the job goes; closing it is the end of the job (the runner reads to EOF). */
  OutputStream jobInput();

  /** The script's stdout. */
  InputStream stdout();

  /** The runner's result channel: the ready line, then the nonce-tagged frame. */
  InputStream channel();

  /** Waits for the process to end; true if it has. */
  boolean waitFor(Duration wait);

  boolean isAlive();

  /** The runner's exit code, or 128 + the signal that killed it; -1 while unknown. */
  int exitCode();

  /**
   * Ends the process and everything it started, and releases what it held (cgroups). Bounded
   * in time; safe to call more than once.
   */
  void destroy();
}
