package dev.pyexec.jailer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * Reads the jail's result channel (nsjail's stderr, handed to the runner): a ready line once the
 * runner waits for its job, then one length-prefixed frame carrying the execution's nonce. Any
 * other text is nsjail's own diagnostics, kept (capped) for the log. Frames with another nonce
 * are ignored, so nothing a script writes blindly to a stray descriptor can pass for a result.
 *
 * <p>Everything here is hostile input, read with bounded memory whatever arrives: a line is kept
 * up to {@link #LINE_LIMIT} bytes and the rest of it skipped, diagnostics stop at
 * {@link #DIAGNOSTICS_LIMIT}, the one frame is held once and only up to
 * {@link JobLimits#frameLimit}, and the channel is read to its end (discarding) so that no writer
 * ever blocks on it.
 */
final class ResultChannel {
  static final String READY_LINE = "\u001ePYEXEC-READY";
  static final String FRAME_MARK = "\u001ePYEXEC ";
  static final int LINE_LIMIT = 8192;
  static final int DIAGNOSTICS_LIMIT = 16 * 1024;
  private static final String LOADER_NOISE = ": no version information available (required by ";

  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CompletableFuture<String> nonce = new CompletableFuture<>();
  private final CompletableFuture<ResultFrame> frame = new CompletableFuture<>();
  private final StringBuilder diagnostics = new StringBuilder();
  private final long frameLimit;
  private volatile boolean sawReady;

  ResultChannel(int resultLimitBytes) {
    this.frameLimit = JobLimits.frameLimit(resultLimitBytes);
  }

  /** Whether the runner really came up (ready() also completes when the channel just ends). */
  boolean sawReady() {
    return sawReady;
  }

  CompletableFuture<Void> ready() {
    return ready;
  }

  /** Completes with the frame, or null when the channel ended without a whole one. */
  CompletableFuture<ResultFrame> frame() {
    return frame;
  }

  /** The nonce only this execution's runner was told; set when the job is handed over. */
  void expect(String value) {
    nonce.complete(value);
  }

  CompletableFuture<String> nonce() {
    return nonce;
  }

  synchronized String diagnostics() {
    return diagnostics.toString();
  }

  void read(InputStream in) {
    try (in) {
      Lines lines = new Lines(in);
      String line;
      while ((line = lines.next()) != null) {
        if (line.endsWith(READY_LINE)) {
          sawReady = true;
          ready.complete(null);
        } else if (line.startsWith(FRAME_MARK)) {
          announced(line.substring(FRAME_MARK.length()), lines);
        } else if (!line.isEmpty()) {
          note(line);
        }
      }
    } catch (IOException e) {
      note("result channel read failed: " + e);
    } finally {
      frame.complete(null);
      ready.complete(null);
    }
  }

  /** A frame mark: "<nonce> <length>". Only ours is read; its length decides what is kept. */
  private void announced(String rest, Lines lines) throws IOException {
    String[] parts = rest.split(" ", -1);
    String expected = nonce.getNow(null);
    if (parts.length != 2 || expected == null || !parts[0].equals(expected) || frame.isDone()) {
      return;
    }
    long length;
    try {
      length = Long.parseLong(parts[1]);
    } catch (NumberFormatException e) {
      frame.complete(ResultFrame.OVERSIZE);
      return;
    }
    if (length < 0 || length > frameLimit) {
      // Not read into memory: the rest of the channel is skipped line by line.
      frame.complete(ResultFrame.OVERSIZE);
      return;
    }
    byte[] body = new byte[(int) length];
    if (lines.readFully(body)) {
      frame.complete(new ResultFrame(body, false));
    }
    // A frame cut short means the runner died while writing it: no frame, like a crash.
  }

  private synchronized void note(String line) {
    if (line.endsWith(")") && line.contains(LOADER_NOISE)) {
      return; // glibc's loader on a prebuilt nsjail linked against a libnl without symbol versions
    }
    if (diagnostics.length() < DIAGNOSTICS_LIMIT) {
      String clean = line.length() > 2000 ? line.substring(0, 2000) + "..." : line;
      diagnostics.append(clean).append('\n');
    }
  }

  /** Newline-separated lines, each kept up to LINE_LIMIT bytes; the rest of a line is skipped. */
  private static final class Lines {
    private final InputStream in;
    private final byte[] buffer = new byte[16384];
    private final byte[] line = new byte[LINE_LIMIT];
    private int pos;
    private int end;

    Lines(InputStream in) {
      this.in = in;
    }

    private boolean fill() throws IOException {
      if (pos < end) {
        return true;
      }
      int n = in.read(buffer);
      pos = 0;
      end = Math.max(n, 0);
      return n > 0;
    }

    String next() throws IOException {
      int kept = 0;
      boolean any = false;
      while (fill()) {
        any = true;
        int start = pos;
        while (pos < end && buffer[pos] != '\n') {
          pos++;
        }
        int take = Math.min(pos - start, LINE_LIMIT - kept);
        System.arraycopy(buffer, start, line, kept, take);
        kept += take;
        if (pos < end) {
          pos++;
          return new String(line, 0, kept, StandardCharsets.UTF_8);
        }
      }
      return any ? new String(line, 0, kept, StandardCharsets.UTF_8) : null;
    }

    /** Fills target from what follows; false if the stream ended first. */
    boolean readFully(byte[] target) throws IOException {
      int filled = 0;
      while (filled < target.length) {
        if (!fill()) {
          return false;
        }
        int take = Math.min(end - pos, target.length - filled);
        System.arraycopy(buffer, pos, target, filled, take);
        pos += take;
        filled += take;
      }
      return true;
    }
  }
}
