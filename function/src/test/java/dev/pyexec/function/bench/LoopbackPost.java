package dev.pyexec.function.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.time.Duration;

/**
 * One JSON POST with the blocking HttpURLConnection, as the load tools (bench, soak) send them:
 * it costs the 2-core machine far less CPU per request than java.net.http.HttpClient, and reading
 * the body to its end lets the keep-alive connection be reused.
 */
public final class LoopbackPost {
  /** @param retryAfter the Retry-After header, or null */
  public record Answer(int status, byte[] body, String retryAfter) {}

  private LoopbackPost() {}

  public static Answer send(URL url, byte[] body, Duration readTimeout) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) url.openConnection();
    connection.setRequestMethod("POST");
    connection.setDoOutput(true);
    connection.setConnectTimeout(30_000);
    connection.setReadTimeout((int) readTimeout.toMillis());
    connection.setRequestProperty("Content-Type", "application/json");
    connection.setFixedLengthStreamingMode(body.length);
    try (OutputStream out = connection.getOutputStream()) {
      out.write(body);
    }
    int status = connection.getResponseCode();
    byte[] bytes;
    try (InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream()) {
      bytes = in == null ? new byte[0] : in.readAllBytes();
    }
    return new Answer(status, bytes, connection.getHeaderField("Retry-After"));
  }
}
