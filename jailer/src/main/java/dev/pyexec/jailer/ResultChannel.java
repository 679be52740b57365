package dev.pyexec.jailer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * Reads the jail's result channel (nsjail's stderr, handed to the runner): a ready line once the
 * runner waits for its script, then one result frame carrying the execution's nonce. Any other
 * text is nsjail's own diagnostics, kept (capped) for the log. Frames with another nonce are
 * ignored, so nothing a script writes blindly to a stray descriptor can pass for a result.
 */
final class ResultChannel {
  static final String READY_LINE = "\u001ePYEXEC-READY";
  static final String FRAME_MARK = "\u001ePYEXEC ";
  private static final int DIAGNOSTICS_LIMIT = 16 * 1024;
  private static final String LOADER_NOISE = ": no version information available (required by ";

  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CompletableFuture<String> nonce = new CompletableFuture<>();
  private final CompletableFuture<String> frame = new CompletableFuture<>();
  private final StringBuilder diagnostics = new StringBuilder();
  private final int lineLimit;
  private volatile boolean sawReady;

  ResultChannel(int resultLimitBytes) {
    // The runner escapes the result to ASCII: \\uXXXX makes a character at most 3x its UTF-8 size.
    this.lineLimit = resultLimitBytes * 3 + 64 * 1024;
  }

  /** Whether the runner really came up (ready() also completes when the channel just ends). */
  boolean sawReady() {
    return sawReady;
  }

  CompletableFuture<Void> ready() {
    return ready;
  }

  /** Completes with the frame's JSON, or null when the channel ended without one. */
  CompletableFuture<String> frame() {
    return frame;
  }

  /** The nonce only this execution's runner was told; set when the script is handed over. */
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
      LineReader lines = new LineReader(in, lineLimit);
      String line;
      while ((line = lines.next()) != null) {
        // Bytes a script wrote blindly to the channel may precede a mark on the same line.
        int frameAt = line.indexOf(FRAME_MARK);
        if (line.endsWith(READY_LINE)) {
          sawReady = true;
          ready.complete(null);
        } else if (frameAt >= 0) {
          accept(line.substring(frameAt + FRAME_MARK.length()));
        } else {
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

  private void accept(String rest) {
    int space = rest.indexOf(' ');
    String expected = nonce.getNow(null);
    if (space > 0 && expected != null && rest.substring(0, space).equals(expected)) {
      frame.complete(rest.substring(space + 1));
    }
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

  /** Newline-separated lines with a length cap; an over-long line is cut, not buffered. */
  private static final class LineReader {
    private final InputStream in;
    private final int limit;
    private final byte[] buffer = new byte[16384];
    private int pos;
    private int end;

    LineReader(InputStream in, int limit) {
      this.in = in;
      this.limit = limit;
    }

    String next() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      boolean any = false;
      while (true) {
        if (pos == end) {
          end = in.read(buffer);
          pos = 0;
          if (end <= 0) {
            end = 0;
            return any ? line.toString(StandardCharsets.UTF_8) : null;
          }
        }
        any = true;
        int start = pos;
        while (pos < end && buffer[pos] != '\n') {
          pos++;
        }
        int room = limit - line.size();
        if (room > 0) {
          line.write(buffer, start, Math.min(pos - start, room));
        }
        if (pos < end) {
          pos++;
          return line.toString(StandardCharsets.UTF_8);
        }
      }
    }
  }
}
