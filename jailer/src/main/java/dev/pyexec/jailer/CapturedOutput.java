package dev.pyexec.jailer;

import java.nio.charset.StandardCharsets;

/** What a script printed, cut at the operator's cap. */
public record CapturedOutput(byte[] bytes, boolean truncated) {
  public static final CapturedOutput EMPTY = new CapturedOutput(new byte[0], false);

  /** UTF-8 with invalid bytes replaced (also a multi-byte character cut by the cap). */
  public String text() {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
