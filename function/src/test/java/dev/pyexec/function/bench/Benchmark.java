package dev.pyexec.function.bench;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Starts the function under the invoker on loopback twice, with the default engine (templates)
 * and with cold one-shot jails (a fresh nsjail and Python per request), runs the same scenarios
 * against each and prints latency, throughput, errors and CPU per execution side by side. Run
 * with {@code make bench}. Figures from one run are comparable; across runs on a noisy 2-core
 * machine, compare the ratios.
 */
public final class Benchmark {
  private static final Duration WARM_UP = Duration.ofSeconds(3);
  /** The JIT compiles the server's hot paths over its first thousand or so requests. */
  private static final Duration SERVER_WARM_UP = Duration.ofSeconds(Integer.getInteger("bench.serverWarmUp", 10));
  private static final Duration MEASURE = Duration.ofSeconds(Integer.getInteger("bench.seconds", 6));
  private static final long CLOCK_TICKS = 100; // USER_HZ on Linux

  /** One request of a scenario and the status it must get. */
  /** @param body the request body, UTF-8 encoded once rather than on every send */
  record Call(byte[] body, int expectedStatus) {}

  /**
   * @param think how long the single client of the concurrency-1 run pauses between requests:
   *     latency at a load the instance sustains. The 8 clients never pause: that run is the
   *     saturation throughput.
   */
  record Scenario(String name, Duration think, List<Call> calls, int[] concurrencies) {}

  record Result(String scenario, int concurrency, String mode, double p50, double p95, double p99,
      double perSecond, int errors, double cpuPerExec, double serverShare, int count) {}

  /** CPU clock ticks of the server JVM itself and of its sandbox (jails, templates, executions). */
  record CpuTicks(long server, long jails) {
    CpuTicks minus(CpuTicks earlier) {
      return new CpuTicks(server - earlier.server, jails - earlier.jails);
    }

    long total() {
      return server + jails;
    }
  }

  public static void main(String[] args) throws Exception {
    // HttpURLConnection keeps 5 idle connections per server by default: one per client is needed.
    System.setProperty("http.maxConnections", "32");
    String pandas = "import pandas as pd\n\ndef main():\n"
        + "    df = pd.DataFrame({'col1': [1, 2, 3], 'col2': [4.0, 5.0, 6.0]})\n"
        + "    df['sum'] = df['col1'] + df['col2']\n"
        + "    return {'shape': list(df.shape), 'total': float(df['sum'].sum())}";
    int[] both = {1, 8};
    List<Scenario> scenarios = List.of(
        new Scenario("hello", Duration.ofMillis(50), List.of(call("def main():\n    return 'hello world'", null, 200)),
            both),
        new Scenario("pandas", Duration.ofMillis(500), List.of(call(pandas, null, 200)), both),
        // A busy caller on request-billed Cloud Run: one client, no pause between requests.
        new Scenario("pandas_b2b", Duration.ZERO, List.of(call(pandas, null, 200)), new int[] {1}),
        new Scenario("mixed", Duration.ofMillis(200), List.of(
            call("def main():\n    print('hi')\n    return 1", null, 200),
            call("import pandas as pd\ndef main():\n    return int(pd.Series([1, 2]).sum())", null, 200),
            call("def main():\n    return 1 / 0", null, 400),
            call("def main(:\n    pass", null, 400),
            call("import time\ndef main():\n    time.sleep(5)", 0.3, 408)), both));
    List<Result> results = new ArrayList<>();
    for (String mode : List.of("default", "cold")) {
      try (Server server = Server.start(mode.equals("default") ? "template" : "oneshot")) {
        // Steady state, not the JIT's first minutes: its compiler threads would take CPU from the jails.
        warmUp(server.base, scenarios.get(0), 8, Duration.ZERO, SERVER_WARM_UP);
        for (Scenario scenario : scenarios) {
          if (!System.getProperty("bench.only", scenario.name()).equals(scenario.name())) {
            continue;
          }
          for (int concurrency : scenario.concurrencies()) {
            Result result = run(server, scenario, concurrency, mode);
            results.add(result);
            System.out.println(line(result));
          }
        }
      }
    }
    printTable(results);
    System.exit(0);
  }

  private static Call call(String script, Double timeout, int status) {
    JsonObject body = new JsonObject();
    body.addProperty("script", script);
    if (timeout != null) {
      body.addProperty("timeout", timeout);
    }
    return new Call(body.toString().getBytes(StandardCharsets.UTF_8), status);
  }

  private static Result run(Server server, Scenario scenario, int concurrency, String mode) throws Exception {
    Duration think = concurrency == 1 ? scenario.think() : Duration.ZERO;
    warmUp(server.base, scenario, concurrency, think, WARM_UP);
    ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    AtomicInteger errors = new AtomicInteger();
    CpuTicks cpuBefore = server.cpuTicks();
    long start = System.nanoTime();
    drive(server.base, scenario, concurrency, think, MEASURE, latencies, errors);
    double seconds = (System.nanoTime() - start) / 1e9;
    CpuTicks cpu = server.cpuTicks().minus(cpuBefore);
    List<Long> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    int count = sorted.size();
    return new Result(scenario.name(), concurrency, mode, percentile(sorted, 50), percentile(sorted, 95),
        percentile(sorted, 99), count / seconds, errors.get(),
        count == 0 ? 0 : (cpu.total() / (double) CLOCK_TICKS) / count,
        cpu.total() == 0 ? 0 : cpu.server() / (double) cpu.total(), count);
  }

  /** Load whose latencies and errors are not kept. */
  private static void warmUp(URI base, Scenario scenario, int concurrency, Duration think, Duration length)
      throws InterruptedException {
    drive(base, scenario, concurrency, think, length, new ConcurrentLinkedQueue<>(), new AtomicInteger());
  }

  /**
   * Each client thread sends its requests one after another on a keep-alive connection of its
   * own with the blocking HttpURLConnection: it costs the 2-core machine far less CPU and fewer
   * thread hand-offs per request than java.net.http.HttpClient, so the figures are the server's.
   */
  private static void drive(URI base, Scenario scenario, int concurrency, Duration think, Duration length,
      ConcurrentLinkedQueue<Long> latencies, AtomicInteger errors) throws InterruptedException {
    long deadline = System.nanoTime() + length.toNanos();
    AtomicLong next = new AtomicLong();
    URL execute;
    try {
      execute = base.resolve("/execute").toURL();
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
    ExecutorService workers = Executors.newFixedThreadPool(concurrency);
    for (int w = 0; w < concurrency; w++) {
      workers.submit(() -> {
        while (System.nanoTime() < deadline) {
          Call call = scenario.calls().get((int) (next.getAndIncrement() % scenario.calls().size()));
          long t0 = System.nanoTime();
          if (post(execute, call.body()) != call.expectedStatus()) {
            errors.incrementAndGet();
          }
          latencies.add(System.nanoTime() - t0);
          if (!think.isZero()) {
            try {
              Thread.sleep(think.toMillis());
            } catch (InterruptedException e) {
              return;
            }
          }
        }
      });
    }
    workers.shutdown();
    workers.awaitTermination(length.toSeconds() + 60, TimeUnit.SECONDS);
  }

  /** The status of one POST, or -1 when it failed on the wire. */
  private static int post(URL url, byte[] body) {
    try {
      return LoopbackPost.send(url, body, Duration.ofSeconds(30)).status();
    } catch (IOException e) {
      return -1;
    }
  }


  private static double percentile(List<Long> sorted, int p) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index))) / 1e6;
  }

  static String line(Result r) {
    return String.format(Locale.ROOT,
        "BENCH scenario=%s concurrency=%d mode=%s p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f per_s=%.1f errors=%d cpu_s_per_exec=%.4f",
        r.scenario(), r.concurrency(), r.mode(), r.p50(), r.p95(), r.p99(), r.perSecond(), r.errors(), r.cpuPerExec());
  }

  private static void printTable(List<Result> results) {
    Map<String, Result> byKey = new LinkedHashMap<>();
    results.forEach(r -> byKey.put(r.scenario() + "/" + r.concurrency() + "/" + r.mode(), r));
    System.out.println();
    System.out.println("concurrency 1: one client pausing between requests (hello 50 ms, pandas 500 ms, mixed 200 ms;"
        + " pandas_b2b none); concurrency 8: eight clients, no pauses (saturation). srv: the server JVM's share of"
        + " cpu_s/ex, the rest is the sandbox (templates included).");
    System.out.println(String.format(Locale.ROOT, "%-10s %4s | %8s %8s %8s %7s %5s %9s %4s | %8s %8s %7s %9s %4s | %9s %9s",
        "scenario", "conc", "dflt p50", "p95", "p99", "per_s", "err", "cpu_s/ex", "srv",
        "cold p50", "p95", "per_s", "cpu_s/ex", "srv", "p50 ratio", "tput ratio"));
    for (Result dflt : results) {
      if (!dflt.mode().equals("default")) {
        continue;
      }
      Result cold = byKey.get(dflt.scenario() + "/" + dflt.concurrency() + "/cold");
      if (cold == null) {
        continue;
      }
      System.out.println(String.format(Locale.ROOT,
          "%-10s %4d | %8.1f %8.1f %8.1f %7.1f %5d %9.4f %3.0f%% | %8.1f %8.1f %7.1f %9.4f %3.0f%% | %8.1fx %8.1fx",
          dflt.scenario(), dflt.concurrency(), dflt.p50(), dflt.p95(), dflt.p99(), dflt.perSecond(), dflt.errors(),
          dflt.cpuPerExec(), 100 * dflt.serverShare(), cold.p50(), cold.p95(), cold.perSecond(), cold.cpuPerExec(),
          100 * cold.serverShare(),
          cold.p50() / dflt.p50(), dflt.perSecond() / cold.perSecond()));
    }
  }

  /** The function under the invoker in a child JVM, as `make run` starts it. */
  static final class Server implements AutoCloseable {
    final Process process;
    final URI base;

    private Server(Process process, URI base) {
      this.process = process;
      this.base = base;
    }

    /** @param engine PYEXEC_ENGINE: template or oneshot */
    static Server start(String engine) throws Exception {
      int port;
      try (ServerSocket socket = new ServerSocket(0)) {
        port = socket.getLocalPort();
      }
      String jars = System.getProperty("bench.jars", "function/target");
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
      // The flags `make run` and the container use, unless the run asks for others.
      command.addAll(List.of(System.getProperty("bench.jvm",
          "-XX:+UseSerialGC -Djdk.lang.Process.launchMechanism=VFORK").split(" ")));
      command.addAll(List.of("-jar", jars + "/java-function-invoker.jar",
          "--classpath", jars + "/pyexec-function.jar",
          "--target", "dev.pyexec.function.ExecuteFunction"));
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().put("PORT", Integer.toString(port));
      builder.environment().put("PYEXEC_ENGINE", engine);
      builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      builder.redirectError(ProcessBuilder.Redirect.DISCARD);
      Server server = new Server(builder.start(), URI.create("http://127.0.0.1:" + port));
      server.awaitHealthy();
      Thread.sleep(500);
      return server;
    }

    private void awaitHealthy() throws Exception {
      HttpClient client = HttpClient.newHttpClient();
      for (int i = 0; i < 300; i++) {
        try {
          if (client.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
              HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
            return;
          }
        } catch (IOException e) {
          // not listening yet
        }
        Thread.sleep(100);
      }
      throw new IllegalStateException("server did not become healthy");
    }

    /**
     * CPU of the server (utime + stime) and of its sandbox: the jails it has reaped (cutime +
     * cstime) and every live descendant with what that one has reaped (a template and the
     * executions it forked).
     */
    CpuTicks cpuTicks() throws IOException {
      long[] server = stat(process.pid());
      long sandbox = server[1];
      for (ProcessHandle descendant : (Iterable<ProcessHandle>) process.descendants()::iterator) {
        try {
          long[] ticks = stat(descendant.pid());
          sandbox += ticks[0] + ticks[1];
        } catch (IOException e) {
          // Ended meanwhile: its time is in its parent's reaped figures by now.
        }
      }
      return new CpuTicks(server[0], sandbox);
    }

    /** {own utime + stime, reaped children's cutime + cstime} of one process. */
    private static long[] stat(long pid) throws IOException {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new long[] {Long.parseLong(fields[11]) + Long.parseLong(fields[12]),
          Long.parseLong(fields[13]) + Long.parseLong(fields[14])};
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
