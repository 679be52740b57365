package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Garbage at the HTTP edge, over raw sockets, against the real function under the real invoker
 * in a JVM of its own (its descriptors and processes are counted, and it takes a short body
 * deadline from its environment). Every request gets a 4xx JSON answer or a bounded close.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedInputTest {
  private static final int BODY_READ_TIMEOUT_S = 3;
  /** Jetty's idle timeout under the invoker: a stalled body ends there at the latest. */
  private static final Duration IDLE_BOUND = Duration.ofSeconds(35);
  private static final String SCRIPT = "{\"script\":\"def main():\\n    return 1\"}";

  private Process server;
  private int port;

  @BeforeAll
  void start() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    ProcessBuilder builder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC", "-Xmx256m",
        "-cp", System.getProperty("java.class.path"),
        "com.google.cloud.functions.invoker.runner.Invoker",
        "--port", Integer.toString(port), "--target", ExecuteFunction.class.getName());
    builder.environment().put("PYEXEC_BODY_READ_TIMEOUT_S", Integer.toString(BODY_READ_TIMEOUT_S));
    builder.redirectErrorStream(true);
    builder.redirectOutput(Path.of("target", "malformed-input-server.log").toFile());
    server = builder.start();
    Process started = server;
    Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
    for (int i = 0; i < 300 && server.isAlive(); i++) {
      try {
        Exchange health = exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(
            StandardCharsets.US_ASCII), false, Duration.ofSeconds(2));
        if (health.status() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the server never became healthy");
  }

  @AfterAll
  void stop() throws InterruptedException {
    server.destroy();
    if (!server.waitFor(15, TimeUnit.SECONDS)) {
      server.destroyForcibly();
    }
  }

  /** What came back on one connection: the first response, and whether the server then closed. */
  record Exchange(int status, String contentType, String body, String rest, boolean closed, Duration took) {
    boolean isJsonError() {
      try {
        JsonObject json = JsonParser.parseString(body).getAsJsonObject();
        return contentType != null && contentType.startsWith("application/json") && json.has("error");
      } catch (RuntimeException e) {
        return false;
      }
    }
  }

  private static byte[] post(String contentType, String headers, byte[] body) {
    String head = "POST /execute HTTP/1.1\r\nHost: x\r\n"
        + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n") + headers + "\r\n";
    byte[] start = head.getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[start.length + body.length];
    System.arraycopy(start, 0, all, 0, start.length);
    System.arraycopy(body, 0, all, start.length, body.length);
    return all;
  }

  private static byte[] json(String body) {
    return post("application/json", "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n",
        body.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** The malformed requests that must each get a 4xx JSON answer at once. */
  private static Map<String, byte[]> quickCases() {
    Map<String, byte[]> cases = new LinkedHashMap<>();
    cases.put("truncated JSON", json("{\"script\": \"def main"));
    cases.put("invalid JSON", json("{script: 1}"));
    cases.put("not an object", json("[1, 2]"));
    cases.put("deeply nested arrays", json("[".repeat(100_000)));
    cases.put("deeply nested objects", json("{\"a\":".repeat(50_000)));
    cases.put("huge exponent", json("{\"script\":\"def main(): return 1\",\"timeout\":1e999999}"));
    cases.put("huge integer", json("{\"script\":\"def main(): return 1\",\"timeout\":" + "9".repeat(100_000) + "}"));
    cases.put("huge negative", json("{\"script\":\"def main(): return 1\",\"timeout\":-" + "9".repeat(400) + ".5}"));
    byte[] invalidUtf8 = bytes("{\"script\":\"def main(): return 'xx'\"}");
    invalidUtf8[invalidUtf8.length - 5] = (byte) 0xff;
    invalidUtf8[invalidUtf8.length - 4] = (byte) 0xfe;
    cases.put("invalid UTF-8", post("application/json", "Content-Length: " + invalidUtf8.length + "\r\n", invalidUtf8));
    cases.put("wrong content type", post("text/plain", "Content-Length: " + SCRIPT.length() + "\r\n", bytes(SCRIPT)));
    cases.put("form content type", post("application/x-www-form-urlencoded",
        "Content-Length: " + SCRIPT.length() + "\r\n", bytes(SCRIPT)));
    cases.put("missing content type", post(null, "Content-Length: " + SCRIPT.length() + "\r\n", bytes(SCRIPT)));
    cases.put("latin-1 charset", post("application/json; charset=iso-8859-1",
        "Content-Length: " + SCRIPT.length() + "\r\n", bytes(SCRIPT)));
    cases.put("gzip encoding", post("application/json", "Content-Encoding: gzip\r\nContent-Length: "
        + SCRIPT.length() + "\r\n", bytes(SCRIPT)));
    cases.put("over the body limit", post("application/json", "Content-Length: 300000000\r\n", bytes(SCRIPT)));
    cases.put("empty body", post("application/json", "Content-Length: 0\r\n", new byte[0]));
    return cases;
  }

  /** Requests whose body ends early: the client half-closes, so the server sees the end at once. */
  private static Map<String, byte[]> cutShortCases() {
    Map<String, byte[]> cases = new LinkedHashMap<>();
    cases.put("shorter than Content-Length", post("application/json", "Content-Length: 1000\r\n", bytes(SCRIPT)));
    cases.put("chunked body that stops", post("application/json", "Transfer-Encoding: chunked\r\n",
        bytes("10\r\n{\"script\":\"def m")));
    cases.put("bad chunk size", post("application/json", "Transfer-Encoding: chunked\r\n", bytes("ZZ\r\nabc\r\n")));
    return cases;
  }

  @Test
  void everyMalformedBodyGetsA4xxJsonAnswer() throws IOException {
    for (var entry : quickCases().entrySet()) {
      Exchange answer = exchange(entry.getValue(), false, Duration.ofSeconds(10));
      assertWithMessage("%s: %s", entry.getKey(), answer).that(answer.status()).isIn(List.of(400, 413, 415));
      assertWithMessage("%s: %s", entry.getKey(), answer).that(answer.isJsonError()).isTrue();
    }
  }

  @Test
  void aBodyThatEndsEarlyGetsA400JsonAnswer() throws IOException {
    for (var entry : cutShortCases().entrySet()) {
      Exchange answer = exchange(entry.getValue(), true, Duration.ofSeconds(10));
      assertWithMessage("%s: %s", entry.getKey(), answer).that(answer.status()).isEqualTo(400);
      assertWithMessage("%s: %s", entry.getKey(), answer).that(answer.isJsonError()).isTrue();
    }
  }

  @Test
  void bytesBeyondTheAnnouncedLengthAreRefusedAsTheNextRequest() throws IOException {
    byte[] request = json(SCRIPT);
    byte[] extra = bytes("{\"script\":\"x\"}"); // more body than Content-Length announced
    byte[] both = new byte[request.length + extra.length];
    System.arraycopy(request, 0, both, 0, request.length);
    System.arraycopy(extra, 0, both, request.length, extra.length);
    Exchange answer = exchange(both, false, Duration.ofSeconds(10), true);
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.body()).isEqualTo("{\"result\":1,\"stdout\":\"\"}");
    // Jetty answers the framing error itself (400, empty body) and closes the connection.
    assertThat(answer.rest()).startsWith("HTTP/1.1 400 ");
    assertThat(answer.closed()).isTrue();
  }

  @Test
  void stalledAndTricklingBodiesEndWithinBoundedTime() throws Exception {
    CompletableFuture<Exchange> stalled = CompletableFuture.supplyAsync(() -> uncheck(() -> exchange(
        post("application/json", "Content-Length: 1000\r\n", bytes(SCRIPT)), false, IDLE_BOUND)));
    CompletableFuture<Exchange> stalledChunks = CompletableFuture.supplyAsync(() -> uncheck(() -> exchange(
        post("application/json", "Transfer-Encoding: chunked\r\n", bytes("10\r\n{\"script\":\"def m")), false,
        IDLE_BOUND)));
    Exchange trickle = trickle(bytes("POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + SCRIPT.length() + "\r\n\r\n"), bytes(SCRIPT), Duration.ofSeconds(1));

    // One byte a second never trips Jetty's idle timeout: the body deadline closes it.
    assertWithMessage("%s", trickle).that(trickle.closed()).isTrue();
    assertThat(trickle.took()).isAtMost(Duration.ofSeconds(BODY_READ_TIMEOUT_S + 3));
    for (Exchange answer : List.of(stalled.get(), stalledChunks.get())) {
      assertWithMessage("%s", answer).that(answer.closed() || answer.status() == 400).isTrue();
      assertWithMessage("%s", answer).that(answer.status() == -1 || answer.isJsonError()).isTrue();
      assertThat(answer.took()).isLessThan(IDLE_BOUND);
    }
  }

  @Test
  void theExecutionOfAClientThatHangsUpIsEnded() throws Exception {
    String spin = "{\"script\":\"def main():\\n    while True:\\n        pass\",\"timeout\":20}";
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port));
      socket.getOutputStream().write(json(spin));
      socket.getOutputStream().flush();
      Thread.sleep(1500);
      assertWithMessage("the script should be running").that(busyDescendants()).isNotEmpty();
    }
    long start = System.nanoTime();
    List<Long> busy = busyDescendants();
    while (!busy.isEmpty() && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
      busy = busyDescendants();
    }
    assertWithMessage("processes still burning CPU after the client left").that(busy).isEmpty();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void thousandsOfMalformedRequestsCauseNo5xxAndNoLeak() throws Exception {
    // Settle first: the pool and Jetty's first connections.
    exchange(json(SCRIPT), false, Duration.ofSeconds(10));
    Thread.sleep(1000);
    int fdsBefore = serverFds();
    int processesBefore = descendants().size();
    List<byte[]> cases = new ArrayList<>(quickCases().values());
    Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    int requests = 0;
    for (int round = 0; requests < 2000; round++) {
      for (byte[] request : cases) {
        Exchange answer = exchange(request, false, Duration.ofSeconds(10));
        statuses.merge(answer.status(), 1, Integer::sum);
        requests++;
      }
      for (byte[] request : cutShortCases().values()) {
        Exchange answer = exchange(request, true, Duration.ofSeconds(10));
        statuses.merge(answer.status(), 1, Integer::sum);
        requests++;
      }
    }
    assertWithMessage("statuses %s", statuses).that(statuses.keySet().stream().allMatch(s -> s >= 400 && s < 500))
        .isTrue();
    int fdsAfter = serverFds();
    for (int i = 0; i < 50 && fdsAfter > fdsBefore; i++) {
      Thread.sleep(200);
      fdsAfter = serverFds();
    }
    assertThat(fdsAfter).isAtMost(fdsBefore);
    assertThat(descendants().size()).isAtMost(processesBefore);
    assertThat(exchange(json(SCRIPT), false, Duration.ofSeconds(10)).status()).isEqualTo(200);
  }

  /** Sends the request and reads the first response (and whatever follows until the server closes or waits). */
  private Exchange exchange(byte[] request, boolean halfClose, Duration wait) throws IOException {
    return exchange(request, halfClose, wait, false);
  }

  /** @param untilClose read on after the first response until the server closes (or a second of quiet) */
  private Exchange exchange(byte[] request, boolean halfClose, Duration wait, boolean untilClose) throws IOException {
    long start = System.nanoTime();
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      socket.setSoTimeout((int) wait.toMillis());
      OutputStream out = socket.getOutputStream();
      try {
        out.write(request);
        out.flush();
        if (halfClose) {
          socket.shutdownOutput();
        }
      } catch (IOException e) {
        // The server may answer and close before reading everything (over the limit): read on.
      }
      return read(socket.getInputStream(), start, socket, untilClose);
    }
  }

  /**
   * Sends the head at once, then the body one byte a second, reading between bytes, until the
   * server answers or closes. (Headers sent that slowly are Jetty's to bound, by its idle
   * timeout per byte; the function only ever sees whole heads.)
   */
  private Exchange trickle(byte[] head, byte[] request, Duration every) throws IOException {
    long start = System.nanoTime();
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      socket.setSoTimeout((int) every.toMillis());
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      out.write(head);
      for (byte b : request) {
        try {
          out.write(b);
          out.flush();
        } catch (IOException e) {
          return new Exchange(-1, null, "", "", true, Duration.ofNanos(System.nanoTime() - start));
        }
        try {
          int first = in.read();
          if (first == -1) {
            return new Exchange(-1, null, "", "", true, Duration.ofNanos(System.nanoTime() - start));
          }
          socket.setSoTimeout(5000);
          return read(new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(new byte[] {(byte) first}), in),
              start, socket, false);
        } catch (SocketTimeoutException e) {
          // nothing yet: the next byte
        } catch (IOException e) {
          return new Exchange(-1, null, "", "", true, Duration.ofNanos(System.nanoTime() - start));
        }
      }
      return new Exchange(-1, null, "", "", false, Duration.ofNanos(System.nanoTime() - start));
    }
  }

  private static Exchange read(InputStream in, long start, Socket socket, boolean untilClose) {
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    boolean closed = false;
    byte[] buffer = new byte[65536];
    try {
      int n;
      while ((n = in.read(buffer)) != -1) {
        received.write(buffer, 0, n);
        if (complete(received.toString(StandardCharsets.ISO_8859_1))) {
          if (!untilClose) {
            break;
          }
          socket.setSoTimeout(1000); // a whole response is in: only wait briefly for more or a close
        }
      }
      closed = true;
    } catch (SocketTimeoutException e) {
      // the server keeps the connection open
    } catch (IOException e) {
      closed = true; // reset
    }
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    String text = received.toString(StandardCharsets.ISO_8859_1);
    int headEnd = text.indexOf("\r\n\r\n");
    if (!text.startsWith("HTTP/1.1 ") || headEnd < 0) {
      return new Exchange(-1, null, text, "", closed, took);
    }
    int status = Integer.parseInt(text.substring(9, 12));
    String contentType = null;
    int length = 0;
    boolean chunked = false;
    for (String line : text.substring(0, headEnd).split("\r\n")) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-type:")) {
        contentType = line.substring(13).trim();
      } else if (lower.startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    StringBuilder raw = new StringBuilder();
    int bodyEnd;
    if (chunked) {
      int at = headEnd + 4;
      while (true) {
        int lineEnd = text.indexOf("\r\n", at);
        if (lineEnd < 0) {
          bodyEnd = text.length();
          break;
        }
        int size = Integer.parseInt(text.substring(at, lineEnd).split(";")[0].trim(), 16);
        if (size == 0) {
          int trailerEnd = text.indexOf("\r\n\r\n", at);
          bodyEnd = trailerEnd < 0 ? text.length() : trailerEnd + 4;
          break;
        }
        int end = Math.min(text.length(), lineEnd + 2 + size);
        raw.append(text, lineEnd + 2, end);
        at = Math.min(text.length(), end + 2);
      }
    } else {
      bodyEnd = Math.min(text.length(), headEnd + 4 + length);
      raw.append(text, headEnd + 4, bodyEnd);
    }
    String body = new String(raw.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    return new Exchange(status, contentType, body, text.substring(bodyEnd), closed, took);
  }

  private static boolean complete(String text) {
    int headEnd = text.indexOf("\r\n\r\n");
    if (headEnd < 0) {
      return false;
    }
    for (String line : text.substring(0, headEnd).split("\r\n")) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        return text.length() >= headEnd + 4 + Integer.parseInt(line.substring(15).trim());
      }
      if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        return text.indexOf("\r\n0\r\n\r\n", headEnd) >= 0;
      }
    }
    return true;
  }

  private int serverFds() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(server.pid()), "fd"))) {
      return (int) fds.count();
    }
  }

  private List<ProcessHandle> descendants() {
    return server.descendants().toList();
  }

  /** Descendants of the server that used at least a quarter of a CPU over the last half second. */
  private List<Long> busyDescendants() throws InterruptedException {
    Map<Long, Long> before = new LinkedHashMap<>();
    for (ProcessHandle p : descendants()) {
      before.put(p.pid(), cpuTicks(p.pid()));
    }
    Thread.sleep(500);
    List<Long> busy = new ArrayList<>();
    before.forEach((pid, ticks) -> {
      long now = cpuTicks(pid);
      if (ticks >= 0 && now - ticks >= 12) { // USER_HZ 100: 12 ticks in 0.5 s
        busy.add(pid);
      }
    });
    return busy;
  }

  private static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private interface IoCall<T> {
    T call() throws IOException;
  }

  private static <T> T uncheck(IoCall<T> call) {
    try {
      return call.call();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
