package dev.pyexec.jailer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads a script's stdout to the end, keeping at most {@code limit} bytes. Past the cap it keeps
 * reading and throws the bytes away, so a chatty script neither blocks on a full pipe nor fills
 * the server's memory.
 */
final class OutputDrainer {
  private OutputDrainer() {}

  static CapturedOutput drain(InputStream in, int limit) {
    ByteArrayOutputStream kept = new ByteArrayOutputStream(Math.min(limit, 8192));
    byte[] buffer = new byte[16384];
    boolean truncated = false;
    try (in) {
      int n;
      while ((n = in.read(buffer)) != -1) {
        int room = limit - kept.size();
        if (n > room) {
          truncated = true;
        }
        if (room > 0) {
          kept.write(buffer, 0, Math.min(n, room));
        }
      }
    } catch (IOException e) {
      // The jail is gone; what was read so far is what the script printed.
    }
    return new CapturedOutput(kept.toByteArray(), truncated);
  }
}
