package dev.pyexec.jailer;

/**
 * The fixed caps on what travels with a job (SPEC section 1): stdin and files in, files out.
 * The server refuses requests past the input caps; the runner enforces the output caps and
 * {@link ResultChannel} refuses any frame larger than they allow.
 */
public final class JobLimits {
  public static final int STDIN_BYTES = 1 << 20;
  public static final int INPUT_FILES = 64;
  public static final int INPUT_BYTES = 8 << 20;
  public static final int OUTPUT_FILES = 64;
  public static final int OUTPUT_BYTES = 16 << 20;
  /** The frame's JSON line (outcome, messages, traceback, file names); the runner cuts to fit. */
  public static final int FRAME_HEADER_BYTES = 1 << 20;

  private JobLimits() {}

  /** The largest frame a runner can honestly send for this result cap. */
  public static long frameLimit(int resultLimitBytes) {
    return (long) FRAME_HEADER_BYTES + resultLimitBytes + OUTPUT_BYTES;
  }
}
