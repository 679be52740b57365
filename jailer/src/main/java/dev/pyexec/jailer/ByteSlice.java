package dev.pyexec.jailer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A range of a byte array, shared, never copied: the result and the output files are slices of
 * the one buffer their frame arrived in, so a big frame is held once, not once per part.
 */
public record ByteSlice(byte[] array, int offset, int length) {
  public static final ByteSlice EMPTY = new ByteSlice(new byte[0], 0, 0);

  public ByteSlice {
    Objects.requireNonNull(array, "array");
    Objects.checkFromIndexSize(offset, length, array.length);
  }

  public static ByteSlice of(byte[] bytes) {
    return new ByteSlice(bytes, 0, bytes.length);
  }

  public static ByteSlice utf8(String text) {
    return of(text.getBytes(StandardCharsets.UTF_8));
  }

  /** UTF-8 with invalid bytes replaced: a copy, for callers that want text. */
  public String text() {
    return new String(array, offset, length, StandardCharsets.UTF_8);
  }

  public byte[] toByteArray() {
    byte[] copy = new byte[length];
    System.arraycopy(array, offset, copy, 0, length);
    return copy;
  }

  public void writeTo(OutputStream out) throws IOException {
    out.write(array, offset, length);
  }
}
