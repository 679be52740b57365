package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.pyexec.jailer.ByteSlice;
import dev.pyexec.jailer.CapturedOutput;
import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.ExecutionOutcome.Kind;
import dev.pyexec.jailer.OutputFiles;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Routing, validation and status mapping, with a fake sandbox (no isolation claimed here). */
class ExecuteFunctionTest {
  private static final String JSON = "application/json";
  private final List<String> logLines = new CopyOnWriteArrayList<>();

  private static ServiceConfig config(int concurrency, int queue, long waitMillis) {
    ServiceConfig base = ServiceConfig.fromEnvironment(Map.of("PYEXEC_NSJAIL", "/nonexistent/nsjail"), 2);
    return new ServiceConfig(base.sandbox(), base.engine(), base.defaultTimeout(), base.scriptLimitBytes(),
        base.bodyLimitBytes(), concurrency, queue, Duration.ofMillis(waitMillis));
  }

  private static ExecutionOutcome outcome(Kind kind, String message, String stdout) {
    return new ExecutionOutcome(kind, kind == Kind.SUCCESS ? ByteSlice.utf8("42") : null, message,
        new CapturedOutput(stdout.getBytes(StandardCharsets.UTF_8), false),
        kind == Kind.SCRIPT_ERROR ? "Traceback..." : null, "internal detail", Duration.ofMillis(3), "cold",
        OutputFiles.NONE);
  }

  private ExecuteFunction function(FakeSandbox sandbox) {
    return new ExecuteFunction(config(2, 2, 100), sandbox, new RequestLog(logLines::add));
  }

  private FakeHttp.Response call(ExecuteFunction function, FakeHttp.Request request) {
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(request, response);
    return response;
  }

  private FakeHttp.Response answerFor(Kind kind) {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(kind, "what went wrong", "printed\n"), true);
    return call(function(sandbox), FakeHttp.Request.post("/execute", JSON, "{\"script\": \"def main(): pass\"}"));
  }

  private static JsonObject json(FakeHttp.Response response) {
    return JsonParser.parseString(response.body()).getAsJsonObject();
  }

  @Test
  void successIs200WithResultAndStdout() {
    FakeHttp.Response response = answerFor(Kind.SUCCESS);
    assertThat(response.status).isEqualTo(200);
    assertThat(response.body()).isEqualTo("{\"result\":42,\"stdout\":\"printed\\n\"}");
    assertThat(response.contentType).startsWith("application/json");
  }

  @Test
  void scriptFailuresAre400WithStdoutAndTraceback() {
    FakeHttp.Response response = answerFor(Kind.SCRIPT_ERROR);
    assertThat(response.status).isEqualTo(400);
    JsonObject body = json(response);
    assertThat(body.get("error").getAsString()).isEqualTo("what went wrong");
    assertThat(body.get("stdout").getAsString()).isEqualTo("printed\n");
    assertThat(body.get("traceback").getAsString()).isEqualTo("Traceback...");
  }

  @Test
  void everyScriptFailureClassIs400() {
    for (Kind kind : List.of(Kind.SYNTAX_ERROR, Kind.NO_MAIN, Kind.NOT_SERIALIZABLE, Kind.RESULT_TOO_LARGE,
        Kind.EXITED, Kind.LIMIT_EXCEEDED)) {
      assertThat(answerFor(kind).status).isEqualTo(400);
    }
  }

  @Test
  void timeoutIs408() {
    assertThat(answerFor(Kind.TIMEOUT).status).isEqualTo(408);
  }

  @Test
  void sandboxFailureIs500WithoutInternals() {
    FakeHttp.Response response = answerFor(Kind.SANDBOX_FAILURE);
    assertThat(response.status).isEqualTo(500);
    assertThat(response.body()).doesNotContain("internal detail");
    assertThat(logLines.toString()).contains("internal detail");
  }

  @Test
  void unknownPathIs404() {
    FakeHttp.Response response = call(function(new FakeSandbox(j -> null, true)), FakeHttp.Request.get("/nope"));
    assertThat(response.status).isEqualTo(404);
    assertThat(json(response).get("error").getAsString()).contains("/nope");
  }

  @Test
  void wrongMethodIs405WithAllow() {
    ExecuteFunction function = function(new FakeSandbox(j -> null, true));
    FakeHttp.Response get = call(function, FakeHttp.Request.get("/execute"));
    assertThat(get.status).isEqualTo(405);
    assertThat(get.header("Allow")).isEqualTo("POST");
    FakeHttp.Response post = call(function, FakeHttp.Request.post("/health", JSON, "{}"));
    assertThat(post.status).isEqualTo(405);
    assertThat(post.header("Allow")).isEqualTo("GET");
  }

  @Test
  void nonJsonContentTypeIs415() {
    ExecuteFunction function = function(new FakeSandbox(j -> null, true));
    assertThat(call(function, FakeHttp.Request.post("/execute", "text/plain", "{}")).status).isEqualTo(415);
    assertThat(call(function, FakeHttp.Request.post("/execute", null, "{}")).status).isEqualTo(415);
    assertThat(call(function, FakeHttp.Request.post("/execute", "application/json; charset=latin-1", "{}")).status)
        .isEqualTo(415);
  }

  @Test
  void jsonWithUtf8CharsetIsAccepted() {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(Kind.SUCCESS, null, ""), true);
    FakeHttp.Response response = call(function(sandbox),
        FakeHttp.Request.post("/execute", "application/json; charset=UTF-8", "{\"script\": \"x\"}"));
    assertThat(response.status).isEqualTo(200);
  }

  @Test
  void bodyOverTheLimitIs413() {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(Kind.SUCCESS, null, ""), true);
    String body = "{\"script\": \"" + "#".repeat(3 << 20) + "\"}";
    FakeHttp.Response response = call(function(sandbox), FakeHttp.Request.post("/execute", JSON, body));
    assertThat(response.status).isEqualTo(413);
    assertThat(sandbox.jobs).isEmpty();
  }

  @Test
  void badRequestNeverReachesTheSandbox() {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(Kind.SUCCESS, null, ""), true);
    FakeHttp.Response response = call(function(sandbox), FakeHttp.Request.post("/execute", JSON, "{\"script\": 1}"));
    assertThat(response.status).isEqualTo(400);
    assertThat(json(response).get("error").getAsString()).contains("script");
    assertThat(sandbox.jobs).isEmpty();
  }

  @Test
  void healthIs200WhenTheSandboxIsReady() {
    FakeHttp.Response response = call(function(new FakeSandbox(j -> null, true)), FakeHttp.Request.get("/health"));
    assertThat(response.status).isEqualTo(200);
    assertThat(json(response).get("status").getAsString()).isEqualTo("healthy");
  }

  @Test
  void healthIs503AndExecuteFailsClosedWithoutASandbox() {
    ExecuteFunction function = function(new FakeSandbox(
        job -> ExecutionOutcome.sandboxUnavailable("nsjail missing"), false));
    assertThat(call(function, FakeHttp.Request.get("/health")).status).isEqualTo(503);
    FakeHttp.Response execute = call(function, FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}"));
    assertThat(execute.status).isEqualTo(503);
    assertThat(execute.header("Retry-After")).isNotNull();
  }

  @Test
  void saturatedInstanceAnswers503WithRetryAfter() throws Exception {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(Kind.SUCCESS, null, ""), true);
    sandbox.gate = new CountDownLatch(1);
    ExecuteFunction function = new ExecuteFunction(config(1, 0, 0), sandbox, new RequestLog(logLines::add));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<FakeHttp.Response> first = pool.submit(
          () -> call(function, FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}")));
      while (sandbox.jobs.isEmpty()) {
        Thread.sleep(5);
      }
      FakeHttp.Response second = call(function, FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}"));
      assertThat(second.status).isEqualTo(503);
      assertThat(second.header("Retry-After")).isEqualTo("1");
      sandbox.gate.countDown();
      assertThat(first.get(5, TimeUnit.SECONDS).status).isEqualTo(200);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void logsOneStructuredLineWithoutTheScriptOrItsOutput() {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(Kind.SUCCESS, null, "secret output"), true);
    call(function(sandbox), FakeHttp.Request.post("/execute", JSON, "{\"script\": \"secret_source = 1\"}"));
    assertThat(logLines).hasSize(1);
    JsonObject line = JsonParser.parseString(logLines.get(0)).getAsJsonObject();
    assertThat(line.get("severity").getAsString()).isEqualTo("INFO");
    assertThat(line.get("status").getAsInt()).isEqualTo(200);
    assertThat(line.has("execution_id")).isTrue();
    assertThat(line.has("duration_ms")).isTrue();
    assertThat(line.get("sandbox_profile").getAsString()).isEqualTo("fake");
    assertThat(logLines.get(0)).doesNotContain("secret");
  }

  @Test
  void unexpectedExceptionBecomesJson500() {
    FakeSandbox sandbox = new FakeSandbox(job -> {
      throw new IllegalStateException("boom");
    }, true);
    FakeHttp.Response response = call(function(sandbox), FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}"));
    assertThat(response.status).isEqualTo(500);
    assertThat(json(response).get("error").getAsString()).contains("server failed");
  }

  @Test
  void compressedBodiesAre415() {
    FakeSandbox sandbox = new FakeSandbox(job -> outcome(Kind.SUCCESS, null, ""), true);
    FakeHttp.Response response = call(function(sandbox),
        FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}").withHeader("Content-Encoding", "gzip"));
    assertThat(response.status).isEqualTo(415);
    assertThat(json(response).get("error").getAsString()).contains("gzip");
    assertThat(sandbox.jobs).isEmpty();
  }

  @Test
  void resultPassesThroughExactlyAsTheRunnerEncodedIt() {
    String big = "1" + "0".repeat(100);
    FakeSandbox sandbox = new FakeSandbox(job -> new ExecutionOutcome(Kind.SUCCESS, ByteSlice.utf8("[" + big + "]"),
        null, CapturedOutput.EMPTY, null, null, Duration.ZERO, "pool", OutputFiles.NONE), true);
    FakeHttp.Response response = call(function(sandbox), FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}"));
    assertThat(response.body()).isEqualTo("{\"result\":[" + big + "],\"stdout\":\"\"}");
  }
}
