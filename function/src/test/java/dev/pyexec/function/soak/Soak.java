package dev.pyexec.function.soak;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.pyexec.function.bench.LoopbackPost;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Overload, hostile scripts and chaos at once (issue 13). Starts the function on loopback,
 * measures what it serves of the mix at saturation, then drives twice that for
 * {@code soak.seconds} while a chaos thread SIGKILLs one of its jail processes every few seconds,
 * checks every answer and, afterwards, that nothing of an execution is left and the instance
 * still serves. Prints one {@code SOAK} line and exits non-zero when a check fails. Run with
 * {@code make soak} (SOAK_SECONDS=30 for the short run CI does).
 */
public final class Soak {
  private static final int SECONDS = Integer.getInteger("soak.seconds", 120);
  private static final int CAPACITY_SECONDS = Integer.getInteger("soak.capacitySeconds", 10);
  private static final double OVERLOAD = Double.parseDouble(System.getProperty("soak.overload", "2"));
  private static final Duration CHAOS_EVERY = Duration.ofMillis(Integer.getInteger("soak.chaosEveryMs", 3000));
  /** A request that starts this soon after a kill may still meet its effects (a dead pooled jail). */
  private static final Duration CHAOS_MARGIN = Duration.ofSeconds(2);
  /** The load goes on this long after the last kill, so the instance ends on successes. */
  private static final Duration CALM_END = Duration.ofSeconds(5);
  private static final int CLIENTS = Integer.getInteger("soak.clients", 96);
  private static final int CHECK_REQUESTS = 50;
  private static final double HEAP_GROWTH_LIMIT_MB = 16;
  /** The server's defaults the answers are judged against (README's configuration table). */
  private static final double DEFAULT_TIMEOUT_S = 10;
  private static final double QUEUE_WAIT_S = 10;

  /** What one request got. */
  record Answer(SoakCase kind, long nonce, int status, JsonObject body, String retryAfter, String failure,
      long start, long end) {
    double millis() {
      return (end - start) / 1e6;
    }
  }

  public static void main(String[] args) throws Exception {
    System.setProperty("http.maxConnections", Integer.toString(CLIENTS + 8));
    System.setProperty("sun.net.http.retryPost", "false");
    List<SoakCase> mix = SoakCase.mix();
    String jars = System.getProperty("soak.jars", "function/target");
    Path log = Path.of(System.getProperty("soak.log", "function/target/soak-server.log"));
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    String jvm = System.getProperty("soak.jvm", "-XX:+UseSerialGC -Djdk.lang.Process.launchMechanism=VFORK -Xmx512m");
    long started = System.nanoTime();
    List<String> failures = new ArrayList<>();
    try (SoakServer server = SoakServer.start(jars, jvm, Map.of(), log)) {
      ProcessCensus census = new ProcessCensus(server.process.pid(), jcmd);
      URL execute = server.base.resolve("/execute").toURL();

      // Capacity: eight clients back to back on the same mix, as the bench measures saturation.
      drive(execute, mix, 8, 0, Duration.ofSeconds(3), new ConcurrentLinkedQueue<>());
      ConcurrentLinkedQueue<Answer> probe = new ConcurrentLinkedQueue<>();
      long t0 = System.nanoTime();
      drive(execute, mix, 8, 0, Duration.ofSeconds(CAPACITY_SECONDS), probe);
      double capacity = probe.stream().filter(a -> a.status() > 0 && a.status() != 503).count()
          / ((System.nanoTime() - t0) / 1e9);
      double rate = OVERLOAD * capacity;
      System.out.printf(Locale.ROOT, "soak: capacity %.1f requests/s of the mix (8 clients, %d s); driving %.1f/s for %d s%n",
          capacity, CAPACITY_SECONDS, rate, SECONDS);

      ProcessCensus.Snapshot before = settle(census, null);
      double heapBefore = census.liveHeapMb();
      System.out.println("soak: before " + before + " heap_mb=" + heapBefore);

      long loadStart = System.nanoTime();
      Chaos chaos = new Chaos(census, CHAOS_EVERY,
          loadStart + Duration.ofSeconds(SECONDS).minus(CALM_END).toNanos(), loadStart);
      Thread chaosThread = new Thread(chaos, "chaos");
      chaosThread.start();
      HeapPeak heapPeak = new HeapPeak(census, loadStart + Duration.ofSeconds(SECONDS).toNanos());
      Thread heapThread = new Thread(heapPeak, "heap-peak");
      heapThread.start();
      ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
      drive(execute, mix, CLIENTS, rate, Duration.ofSeconds(SECONDS), answers);
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      chaosThread.join();
      heapThread.join();

      Tally tally = Tally.of(answers, chaos, CHAOS_MARGIN, DEFAULT_TIMEOUT_S, QUEUE_WAIT_S);
      System.out.printf(Locale.ROOT, "soak: sent %d requests in %d s (%.1f/s; the last answered after %.1f s), by case: %s%n",
          answers.size(), SECONDS, answers.size() / (double) SECONDS, loadSeconds, tally.byCase());

      ProcessCensus.Snapshot after = settle(census, before);
      double heapAfter = census.liveHeapMb();
      System.out.println("soak: after  " + after + " heap_mb=" + heapAfter);
      int leakedProcesses = Math.max(0, after.processes().size() - before.processes().size());
      int leakedFds = Math.max(0, after.fds() - before.fds());
      int leakedCgroups = Math.max(0, after.cgroups() - before.cgroups());
      int leakedThreads = Math.max(0, after.threads() - before.threads());
      int leakedFiles = Math.max(0, after.files() - before.files());
      double heapGrowth = heapBefore < 0 || heapAfter < 0 ? Double.NaN : heapAfter - heapBefore;
      if (leakedProcesses > 0) {
        after.processes().stream().filter(p -> !before.processes().contains(p))
            .forEach(p -> System.out.println("soak: left over: " + ProcessCensus.describe(p)));
      }

      int health = server.health();
      int checked = checkRequests(execute, mix);

      System.out.println(String.format(Locale.ROOT,
          "SOAK seconds=%d requests=%d ok=%d overloaded=%d script_errors=%d sandbox_errors=%d chaos_kills=%d"
              + " bad_5xx=%d wrong_answers=%d leaked_processes=%d leaked_fds=%d leaked_cgroups=%d"
              + " heap_growth_mb=%.1f p99_admitted_ms=%.1f",
          SECONDS, answers.size(), tally.ok, tally.overloaded, tally.scriptErrors, tally.sandboxErrors,
          chaos.kills(), tally.bad5xx, tally.wrongAnswers, leakedProcesses, leakedFds, leakedCgroups,
          heapGrowth, tally.p99AdmittedMs()));
      System.out.println(String.format(Locale.ROOT,
          "SOAK-CHECKS capacity_per_s=%.1f driven_per_s=%.1f broken_responses=%d missing_retry_after=%d"
              + " late_admitted=%d unexpected_status=%d hit_by_chaos=%d leaked_threads=%d leaked_files=%d health_after=%d"
              + " next_%d_ok=%d peak_heap_mb=%.0f max_heap_mb=%.0f out_of_memory_errors=%d total_s=%.0f",
          capacity, answers.size() / (double) SECONDS, tally.broken, tally.missingRetryAfter, tally.lateAdmitted,
          tally.unexpected, tally.hitByChaos, leakedThreads, leakedFiles, health, CHECK_REQUESTS, checked,
          heapPeak.peakMb(), census.maxHeapMb(), outOfMemoryErrors(log),
          (System.nanoTime() - started) / 1e9));
      tally.examples.forEach(e -> System.out.println("soak: " + e));
      chaos.victims.stream().limit(5).forEach(v -> System.out.println("soak: chaos killed " + v));

      check(failures, tally.bad5xx == 0, "5xx answers other than overload or a chaos-killed jail: " + tally.bad5xx);
      check(failures, tally.wrongAnswers == 0, "good scripts without a right answer: " + tally.wrongAnswers);
      check(failures, tally.broken == 0, "broken responses (reset, empty, not JSON): " + tally.broken);
      check(failures, tally.missingRetryAfter == 0, "503s without Retry-After: " + tally.missingRetryAfter);
      check(failures, tally.lateAdmitted == 0, "admitted requests slower than queue wait + timeout + 1 s: "
          + tally.lateAdmitted);
      check(failures, tally.unexpected == 0, "statuses the case does not allow: " + tally.unexpected);
      check(failures, tally.overloaded > 0, "no request was turned away: the load was not an overload");
      check(failures, leakedProcesses == 0, "processes left over: " + leakedProcesses);
      check(failures, leakedFds == 0, "descriptors left over: " + leakedFds);
      check(failures, leakedCgroups == 0, "cgroups left over: " + leakedCgroups);
      check(failures, leakedThreads == 0, "busy threads left over: " + leakedThreads);
      check(failures, leakedFiles == 0, "engine files left in the temporary directory: " + leakedFiles);
      check(failures, heapGrowth <= HEAP_GROWTH_LIMIT_MB, "live heap grew by " + heapGrowth + " MiB");
      check(failures, health == 200, "/health after the run: " + health);
      check(failures, outOfMemoryErrors(log) == 0, "OutOfMemoryError in the server log: " + outOfMemoryErrors(log));
      check(failures, checked == CHECK_REQUESTS, "of the next " + CHECK_REQUESTS + " requests, right: " + checked);
    }
    if (!failures.isEmpty()) {
      failures.forEach(f -> System.out.println("SOAK FAILED: " + f));
      System.out.println("(server log: " + log + ")");
      System.exit(1);
    }
    System.out.println("SOAK PASSED");
    System.exit(0);
  }

  private static long outOfMemoryErrors(Path log) {
    try (var lines = java.nio.file.Files.lines(log, StandardCharsets.UTF_8)) {
      return lines.filter(l -> l.contains("OutOfMemoryError")).count();
    } catch (IOException | java.io.UncheckedIOException e) {
      return -1;
    }
  }

  /** The heap in use, sampled every second during the load: its highest value. */
  static final class HeapPeak implements Runnable {
    private final ProcessCensus census;
    private final long until;
    private volatile double peak;

    HeapPeak(ProcessCensus census, long untilNanos) {
      this.census = census;
      this.until = untilNanos;
    }

    @Override
    public void run() {
      while (System.nanoTime() < until) {
        peak = Math.max(peak, census.heapUsedMb());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    double peakMb() {
      return peak;
    }
  }

  private static void check(List<String> failures, boolean ok, String what) {
    if (!ok) {
      failures.add(what);
    }
  }

  /**
   * A count that has not moved for three looks, one second apart; with {@code target}, waits
   * (up to a minute) until the counts are back at or below it: pools shrink back after load.
   */
  private static ProcessCensus.Snapshot settle(ProcessCensus census, ProcessCensus.Snapshot target)
      throws InterruptedException {
    ProcessCensus.Snapshot last = census.take();
    int stable = 0;
    for (int i = 0; i < 60; i++) {
      Thread.sleep(1000);
      ProcessCensus.Snapshot now = census.take();
      boolean same = now.processes().size() == last.processes().size() && now.fds() == last.fds()
          && now.cgroups() == last.cgroups() && now.threads() == last.threads() && now.files() == last.files();
      stable = same ? stable + 1 : 0;
      last = now;
      if (target == null ? stable >= 3
          : now.processes().size() <= target.processes().size() && now.fds() <= target.fds()
              && now.cgroups() <= target.cgroups() && now.threads() <= target.threads()
              && now.files() <= target.files()) {
        return now;
      }
    }
    return last;
  }

  /** The good scripts, one after another: each must get its right answer. */
  private static int checkRequests(URL execute, List<SoakCase> mix) {
    List<SoakCase> good = mix.stream().filter(SoakCase::good).toList();
    int right = 0;
    for (int i = 0; i < CHECK_REQUESTS; i++) {
      SoakCase kind = good.get(i % good.size());
      Answer answer = post(execute, kind, ThreadLocalRandom.current().nextLong(1, 1L << 40));
      if (answer.status() == 200 && kind.rightAnswer().test(answer.nonce(), answer.body())) {
        right++;
      } else {
        System.out.println("soak: check request " + kind.name() + " got " + answer.status() + " " + answer.body()
            + (answer.failure() == null ? "" : " " + answer.failure()));
      }
    }
    return right;
  }

  /**
   * Sends the mix from {@code clients} threads, each on a keep-alive connection of its own: back
   * to back when {@code rate} is 0, else open-loop at that many requests per second in all (a
   * request is sent at its slot whether or not earlier ones were answered, as long as a client
   * is free).
   */
  static void drive(URL execute, List<SoakCase> mix, int clients, double rate, Duration length,
      ConcurrentLinkedQueue<Answer> answers) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + length.toNanos();
    AtomicLong tickets = new AtomicLong();
    ExecutorService workers = Executors.newFixedThreadPool(clients);
    for (int w = 0; w < clients; w++) {
      workers.submit(() -> {
        while (true) {
          long ticket = tickets.getAndIncrement();
          if (rate > 0) {
            long due = start + (long) (ticket * 1e9 / rate);
            long wait = due - System.nanoTime();
            if (due >= deadline) {
              return;
            }
            if (wait > 0) {
              try {
                TimeUnit.NANOSECONDS.sleep(wait);
              } catch (InterruptedException e) {
                return;
              }
            }
          } else if (System.nanoTime() >= deadline) {
            return;
          }
          SoakCase kind = SoakCase.pick(mix, (int) (ticket * 7919 % 100_003));
          answers.add(post(execute, kind, ThreadLocalRandom.current().nextLong(1, 1L << 40)));
        }
      });
    }
    workers.shutdown();
    if (!workers.awaitTermination(length.toSeconds() + 120, TimeUnit.SECONDS)) {
      workers.shutdownNow();
    }
  }

  static Answer post(URL url, SoakCase kind, long nonce) {
    byte[] body = kind.body().apply(nonce);
    long start = System.nanoTime();
    try {
      LoopbackPost.Answer answer = LoopbackPost.send(url, body, Duration.ofSeconds(120));
      int status = answer.status();
      byte[] bytes = answer.body();
      long end = System.nanoTime();
      JsonObject json = null;
      String failure = null;
      try {
        json = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
      } catch (RuntimeException e) {
        failure = "body is not a JSON object: " + new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.UTF_8);
      }
      return new Answer(kind, nonce, status, json, answer.retryAfter(), failure, start, end);
    } catch (IOException e) {
      return new Answer(kind, nonce, -1, null, null, e.toString(), start, System.nanoTime());
    }
  }

  /** The verdict on every answer of the run. */
  static final class Tally {
    int ok;
    int overloaded;
    int scriptErrors;
    int sandboxErrors;
    int bad5xx;
    int wrongAnswers;
    int broken;
    int missingRetryAfter;
    int lateAdmitted;
    int unexpected;
    int hitByChaos;
    final List<Double> admittedMillis = new ArrayList<>();
    final Map<String, Integer> cases = new java.util.TreeMap<>();
    final List<String> examples = new ArrayList<>();

    static Tally of(Iterable<Answer> answers, Chaos chaos, Duration margin, double defaultTimeout, double queueWait) {
      Tally t = new Tally();
      for (Answer a : answers) {
        t.judge(a, chaos.overlaps(a.start(), a.end(), margin), defaultTimeout, queueWait);
      }
      return t;
    }

    private void judge(Answer a, boolean chaosNearby, double defaultTimeout, double queueWait) {
      cases.merge(a.kind().name() + ":" + a.status(), 1, Integer::sum);
      if (a.status() < 0 || a.body() == null) {
        broken++;
        example("broken", a);
        return;
      }
      String kind = a.body().has("kind") ? a.body().get("kind").getAsString() : "";
      if (a.status() == 503) {
        if (a.retryAfter() == null) {
          missingRetryAfter++;
          example("no Retry-After", a);
        }
        if (kind.equals("overloaded")) {
          overloaded++;
          return;
        }
        if (!kind.equals("sandbox_unavailable")) {
          bad5xx++;
          example("503 of another kind", a);
          return;
        }
      }
      double limit = (queueWait + a.kind().timeoutSeconds(defaultTimeout) + 1) * 1000;
      admittedMillis.add(a.millis());
      if (a.millis() > limit) {
        lateAdmitted++;
        example("late (" + Math.round(a.millis()) + " ms)", a);
      }
      if (a.status() >= 500) {
        if (a.status() == 500 && kind.equals("sandbox_error") && chaosNearby) {
          sandboxErrors++;
          hitByChaos += a.kind().good() ? 1 : 0;
        } else if (a.status() == 503) {
          sandboxErrors++; // sandbox_unavailable: the instance said so, with Retry-After
        } else {
          bad5xx++;
          example("5xx", a);
        }
        return;
      }
      if (a.status() == 200) {
        ok++;
      } else {
        scriptErrors++;
      }
      if (a.kind().good()) {
        boolean right;
        try {
          right = a.status() == 200 && a.kind().rightAnswer().test(a.nonce(), a.body());
        } catch (RuntimeException e) {
          right = false;
        }
        if (!right) {
          if (a.status() != 200 && chaosNearby) {
            hitByChaos++;
          } else {
            wrongAnswers++;
            example("wrong answer", a);
          }
        }
      } else if (!a.kind().statuses().contains(a.status())) {
        if (chaosNearby) {
          hitByChaos++;
        } else {
          unexpected++;
          example("unexpected status", a);
        }
      }
    }

    private void example(String what, Answer a) {
      if (examples.size() < 12) {
        String body = a.body() == null ? "" : a.body().toString();
        examples.add(what + ": " + a.kind().name() + " -> " + a.status() + " "
            + (body.length() > 300 ? body.substring(0, 300) + "..." : body)
            + (a.failure() == null ? "" : " " + a.failure()));
      }
    }

    double p99AdmittedMs() {
      if (admittedMillis.isEmpty()) {
        return 0;
      }
      List<Double> sorted = new ArrayList<>(admittedMillis);
      Collections.sort(sorted);
      return sorted.get(Math.max(0, (int) Math.ceil(0.99 * sorted.size()) - 1));
    }

    String byCase() {
      return cases.toString();
    }
  }
}
