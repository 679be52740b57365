package dev.pyexec.function;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** Reads a request body, refusing it as soon as it passes the cap instead of buffering it all. */
final class BodyReader {
  private final int limit;

  BodyReader(int limit) {
    this.limit = limit;
  }

  byte[] read(long declaredLength, InputStream in) throws ApiError, IOException {
    if (declaredLength > limit) {
      throw tooLarge();
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream((int) Math.max(0, Math.min(declaredLength, limit)));
    byte[] buffer = new byte[8192];
    int n;
    while ((n = in.read(buffer)) != -1) {
      if (body.size() + n > limit) {
        throw tooLarge();
      }
      body.write(buffer, 0, n);
    }
    return body.toByteArray();
  }

  private ApiError tooLarge() {
    return ApiError.tooLarge("request body is over the " + limit + "-byte limit");
  }
}
