package dev.pyexec.function;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Base64;

/**
 * Writes a JSON body straight to the response stream: strings escaped as they go out, the
 * runner's result bytes and base64 of output files passed through in chunks, so a big answer is
 * never built in memory first.
 */
final class JsonOut {
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  private static final int CHUNK = 8192;

  private final OutputStream out;
  private final byte[] buffer = new byte[CHUNK + 16];
  private int used;

  JsonOut(OutputStream out) {
    this.out = out;
  }

  /** Text that needs no escaping (structure, field names, numbers). */
  JsonOut raw(String ascii) throws IOException {
    for (int i = 0; i < ascii.length(); i++) {
      put(ascii.charAt(i));
    }
    return this;
  }

  JsonOut bytes(byte[] array, int offset, int length) throws IOException {
    flushBuffer();
    out.write(array, offset, length);
    return this;
  }

  /** A JSON string, escaped like Gson does (no HTML escaping), encoded as UTF-8. */
  JsonOut string(String text) throws IOException {
    put('"');
    int length = text.length();
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> escape('"');
        case '\\' -> escape('\\');
        case '\n' -> escape('n');
        case '\r' -> escape('r');
        case '\t' -> escape('t');
        case '\b' -> escape('b');
        case '\f' -> escape('f');
        default -> {
          if (c < 0x20 || c == '\u2028' || c == '\u2029') {
            unicodeEscape(c);
          } else if (c < 0x80) {
            put(c);
          } else if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
            utf8(Character.toCodePoint(c, text.charAt(++i)));
          } else if (Character.isSurrogate(c)) {
            utf8(0xFFFD); // a lone surrogate has no UTF-8 form
          } else {
            utf8(c);
          }
        }
      }
    }
    put('"');
    return this;
  }

  /** A JSON string holding the base64 of the bytes, encoded chunk by chunk. */
  JsonOut base64(byte[] array, int offset, int length) throws IOException {
    put('"');
    flushBuffer();
    Base64.Encoder encoder = Base64.getEncoder();
    int step = 3 * 4096; // a multiple of 3: no padding until the last chunk
    for (int at = 0; at < length; at += step) {
      int n = Math.min(step, length - at);
      ByteBuffer encoded = encoder.encode(ByteBuffer.wrap(array, offset + at, n));
      out.write(encoded.array(), encoded.arrayOffset(), encoded.remaining());
    }
    put('"');
    return this;
  }

  void flush() throws IOException {
    flushBuffer();
    out.flush();
  }

  private void escape(char c) throws IOException {
    put('\\');
    put(c);
  }

  private void unicodeEscape(char c) throws IOException {
    put('\\');
    put('u');
    put(HEX[(c >> 12) & 0xF]);
    put(HEX[(c >> 8) & 0xF]);
    put(HEX[(c >> 4) & 0xF]);
    put(HEX[c & 0xF]);
  }

  private void utf8(int codePoint) throws IOException {
    if (codePoint < 0x800) {
      putByte((byte) (0xC0 | codePoint >> 6));
    } else if (codePoint < 0x10000) {
      putByte((byte) (0xE0 | codePoint >> 12));
      putByte((byte) (0x80 | (codePoint >> 6) & 0x3F));
    } else {
      putByte((byte) (0xF0 | codePoint >> 18));
      putByte((byte) (0x80 | (codePoint >> 12) & 0x3F));
      putByte((byte) (0x80 | (codePoint >> 6) & 0x3F));
    }
    putByte((byte) (0x80 | codePoint & 0x3F));
  }

  private void put(char c) throws IOException {
    putByte((byte) c);
  }

  private void putByte(byte b) throws IOException {
    if (used == CHUNK) {
      flushBuffer();
    }
    buffer[used++] = b;
  }

  private void flushBuffer() throws IOException {
    if (used > 0) {
      out.write(buffer, 0, used);
      used = 0;
    }
  }
}
