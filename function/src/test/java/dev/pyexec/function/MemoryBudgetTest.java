package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import dev.pyexec.jailer.JobLimits;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's attack, against the real server under the invoker in a child JVM with the heap of a
 * 2 GiB Cloud Run instance (-Xmx512m): every execution slot at once runs a script that sends
 * the largest frame, stdout and output files the caps allow, or far more, through every
 * descriptor it has. The server must answer each, never run out of heap, and serve normally
 * right after. The peak heap comes from the child's GC log.
 */
class MemoryBudgetTest {
  private static final String STEAL_NONCE = "import os, sys\n"
      + "def nonce():\n"
      + "    f = sys._getframe()\n"
      + "    while 'nonce' not in f.f_locals:\n"
      + "        f = f.f_back\n"
      + "    return f.f_locals['nonce']\n"
      + "def pour(fd, total, chunk=b'x' * (1 << 20)):\n"
      + "    while total > 0:\n"
      + "        total -= os.write(fd, chunk[:min(total, len(chunk))])\n";
  /** A frame of exactly the largest size the server accepts, full of garbage. */
  private static final String LARGEST_FORGED_FRAME = STEAL_NONCE + "def main():\n"
      + "    size = " + JobLimits.frameLimit(8 << 20) + "\n"
      + "    os.write(200, b'\\n\\x1ePYEXEC ' + nonce().encode() + b' %d\\n' % size)\n"
      + "    pour(200, size)\n"
      + "    os._exit(0)\n";
  /** A frame announcing a terabyte, and 300 MiB of it actually sent. */
  private static final String ENDLESS_FORGED_FRAME = STEAL_NONCE + "def main():\n"
      + "    os.write(200, b'\\n\\x1ePYEXEC ' + nonce().encode() + b' %d\\n' % 10**12)\n"
      + "    pour(200, 300 << 20)\n"
      + "    os._exit(0)\n";
  /** 300 MiB of stdout, 64 MiB of one-line and 64 MiB of many-line noise on the channel, a huge message. */
  private static final String FLOOD_EVERY_DESCRIPTOR = STEAL_NONCE + "def main():\n"
      + "    pour(1, 300 << 20)\n"
      + "    pour(200, 64 << 20)\n"
      + "    pour(200, 64 << 20, b'noise\\n' * 100000)\n"
      + "    pour(2, 64 << 20)\n"
      + "    raise ValueError('m' * (50 << 20))\n";
  /** The largest honest answer: a result just under its cap, 16 MiB of files, stdout past its cap. */
  private static final String LARGEST_HONEST_ANSWER = "import os\ndef main():\n"
      + "    for name in ('a.bin', 'b.bin'):\n"
      + "        with open('/tmp/output/' + name, 'wb') as f:\n"
      + "            f.write(os.urandom(8 << 20))\n"
      + "    os.write(1, b'y' * (2 << 20))\n"
      + "    return 'r' * ((8 << 20) - 100)\n";

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void everySlotUnderAttackAtOnceStaysWithinTheHeapAndTheServerServesRightAfter(@TempDir Path dir)
      throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Path gcLog = dir.resolve("gc.log");
    Path output = dir.resolve("server.log");
    ProcessBuilder builder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-XX:+UseSerialGC", "-Xlog:gc:file=" + gcLog,
        "-cp", System.getProperty("java.class.path"),
        "com.google.cloud.functions.invoker.runner.Invoker",
        "--port", Integer.toString(port), "--target", ExecuteFunction.class.getName());
    builder.environment().put("PYEXEC_MAX_CONCURRENCY", "4");
    builder.redirectErrorStream(true).redirectOutput(output.toFile());
    Process server = builder.start();
    URI base = URI.create("http://127.0.0.1:" + port);
    try {
      awaitHealthy(base, server, output);
      long before = medianHelloMillis(base);

      List<String> attacks = List.of(LARGEST_FORGED_FRAME, ENDLESS_FORGED_FRAME, FLOOD_EVERY_DESCRIPTOR,
          LARGEST_HONEST_ANSWER);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<long[]>> answers = new ArrayList<>();
      try {
        for (int round = 0; round < 2; round++) {
          for (String attack : attacks) {
            answers.add(pool.submit(() -> timedExecute(base, attack)));
          }
        }
        for (int i = 0; i < answers.size(); i++) {
          long[] answer = answers.get(i).get();
          String which = "attack " + (i % attacks.size());
          if (attacks.get(i % attacks.size()) == LARGEST_HONEST_ANSWER) {
            assertWithMessage(which).that(answer[0]).isEqualTo(200);
            assertWithMessage(which + " response bytes").that(answer[2]).isGreaterThan(30L << 20);
          } else {
            assertWithMessage(which).that(answer[0]).isEqualTo(400);
          }
          assertWithMessage(which + " took ms").that(answer[1]).isLessThan(20_000L);
          System.out.println("BUDGET " + which + ": status " + answer[0] + ", " + answer[1] + " ms, "
              + answer[2] + " response bytes");
        }
      } finally {
        pool.shutdownNow();
      }

      long after = medianHelloMillis(base);
      System.out.println("BUDGET hello-world median before " + before + " ms, after " + after + " ms");
      assertThat(after).isAtMost(2 * before + 100);
      assertThat(server.isAlive()).isTrue();
      String log = Files.readString(output);
      assertWithMessage("server log").that(log).doesNotContain("OutOfMemoryError");
      long peak = peakHeapMb(Files.readString(gcLog));
      System.out.println("BUDGET peak heap before a collection: " + peak + " MiB of 512");
      assertThat(peak).isLessThan(512);
    } finally {
      server.destroy();
      if (!server.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  private void awaitHealthy(URI base, Process server, Path output) throws Exception {
    for (int i = 0; i < 300; i++) {
      assertWithMessage("server died: %s", Files.exists(output) ? Files.readString(output) : "")
          .that(server.isAlive()).isTrue();
      try {
        HttpResponse<String> health = client.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (health.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new AssertionError("server never became healthy: " + Files.readString(output));
  }

  /** {status, milliseconds, response bytes}; the body is counted, not kept. */
  private long[] timedExecute(URI base, String script) throws Exception {
    JsonObject body = new JsonObject();
    body.addProperty("script", script);
    body.addProperty("timeout", 20);
    long start = System.nanoTime();
    HttpResponse<java.io.InputStream> response = client.send(HttpRequest.newBuilder(base.resolve("/execute"))
        .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    long bytes = 0;
    byte[] buffer = new byte[65536];
    try (java.io.InputStream in = response.body()) {
      int n;
      while ((n = in.read(buffer)) != -1) {
        bytes += n;
      }
    }
    return new long[] {response.statusCode(), (System.nanoTime() - start) / 1_000_000, bytes};
  }

  private long medianHelloMillis(URI base) throws Exception {
    long[] times = new long[7];
    for (int i = 0; i < times.length; i++) {
      long[] answer = timedExecute(base, "def main():\n    return 'hello'");
      assertThat(answer[0]).isEqualTo(200);
      times[i] = answer[1];
    }
    Arrays.sort(times);
    return times[times.length / 2];
  }

  /** The largest heap occupancy the GC log shows before a collection ("Pause ... 300M->20M(494M)"). */
  static long peakHeapMb(String log) {
    Matcher m = Pattern.compile("(\\d+)M->(\\d+)M\\(").matcher(log);
    long peak = 0;
    while (m.find()) {
      peak = Math.max(peak, Long.parseLong(m.group(1)));
    }
    return peak;
  }
}
