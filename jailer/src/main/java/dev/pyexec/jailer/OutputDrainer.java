package dev.pyexec.jailer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * Reads a script's stdout, keeping at most {@code limit} bytes. Past the cap it keeps reading and
 * throws the bytes away, so a chatty script neither blocks on a full pipe nor fills the server's
 * memory.
 *
 * <p>The output is complete at EOF, or earlier at the end marker the runner writes (with the
 * execution's nonce) just before its result frame. Waiting for EOF would mean waiting for nsjail
 * itself to exit, since it holds the same pipe; the marker lets the answer go out at once. The
 * pipe is still drained to EOF afterwards, so late writers never block.
 */
final class OutputDrainer {
  static final String END_MARK = "\u001ePYEXEC-END ";

  private final int limit;
  private final CompletableFuture<String> nonce;
  private final CompletableFuture<CapturedOutput> output = new CompletableFuture<>();

  OutputDrainer(int limit, CompletableFuture<String> nonce) {
    this.limit = limit;
    this.nonce = nonce;
  }

  CompletableFuture<CapturedOutput> output() {
    return output;
  }

  void drain(InputStream in) {
    ByteArrayOutputStream kept = new ByteArrayOutputStream(Math.min(limit, 8192));
    byte[] buffer = new byte[16384];
    byte[] marker = null;
    byte[] carry = new byte[0];
    long total = 0;
    try (in) {
      int n;
      while ((n = in.read(buffer)) != -1) {
        if (!output.isDone()) {
          int room = (int) Math.max(0, limit - total);
          kept.write(buffer, 0, Math.min(n, room));
          if (marker == null && nonce.isDone()) {
            marker = (END_MARK + nonce.getNow("") + "\n").getBytes(StandardCharsets.US_ASCII);
          }
          if (marker != null) {
            byte[] window = concat(carry, buffer, n);
            int at = indexOf(window, marker);
            if (at >= 0) {
              long end = total - carry.length + at;
              output.complete(captured(kept.toByteArray(), end));
              kept = null; // drained to EOF from here on: the buffer is not held while the answer goes out
            } else {
              carry = Arrays.copyOfRange(window, Math.max(0, window.length - marker.length + 1), window.length);
            }
          }
        }
        total += n;
      }
    } catch (IOException e) {
      // The jail is gone; what was read so far is what the script printed.
    }
    if (!output.isDone()) {
      output.complete(new CapturedOutput(kept.toByteArray(), total > limit));
    }
  }

  /** The output up to the marker at {@code end}, cut at the cap. */
  private CapturedOutput captured(byte[] kept, long end) {
    int length = (int) Math.min(end, Math.min(limit, kept.length));
    return new CapturedOutput(Arrays.copyOf(kept, length), end > limit);
  }

  private static byte[] concat(byte[] carry, byte[] buffer, int n) {
    byte[] window = Arrays.copyOf(carry, carry.length + n);
    System.arraycopy(buffer, 0, window, carry.length, n);
    return window;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
