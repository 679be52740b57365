package dev.pyexec.function;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads a request body, refusing it as soon as it passes the cap instead of buffering it all.
 * The bytes land in one array (sized from Content-Length when the client sent it), never in a
 * stream buffer plus a copy.
 */
final class BodyReader {
  private final int limit;

  BodyReader(int limit) {
    this.limit = limit;
  }

  /** The body: an array whose first {@link Body#length()} bytes are the request's. */
  Body read(long declaredLength, InputStream in) throws ApiError, IOException {
    if (declaredLength > limit) {
      throw tooLarge();
    }
    byte[] body = new byte[(int) (declaredLength >= 0 ? declaredLength : Math.min(8192, limit))];
    int length = 0;
    while (true) {
      if (length == body.length) {
        // Full: either the end, or a body longer than declared (or undeclared) that must grow.
        int next = in.read();
        if (next == -1) {
          return new Body(body, length);
        }
        if (length >= limit) {
          throw tooLarge();
        }
        body = Arrays.copyOf(body, (int) Math.min(limit, Math.max(8192, 2L * length)));
        body[length++] = (byte) next;
        continue;
      }
      int n = in.read(body, length, body.length - length);
      if (n == -1) {
        return new Body(body, length);
      }
      length += n;
    }
  }

  record Body(byte[] bytes, int length) {}

  private ApiError tooLarge() {
    return ApiError.tooLarge("request body is over the " + limit + "-byte limit");
  }
}
