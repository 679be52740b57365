package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.ValidationMessage;
import dev.pyexec.jailer.ByteSlice;
import dev.pyexec.jailer.CapturedOutput;
import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.ExecutionOutcome.Kind;
import dev.pyexec.jailer.OutputFile;
import dev.pyexec.jailer.OutputFiles;
import io.swagger.parser.OpenAPIParser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * GET /openapi.json is a valid OpenAPI 3.1 document (swagger-parser), its examples match its own
 * schemas, and what the server answers (every status and every error kind it can produce)
 * matches it (networknt's validator in the OpenAPI 3.1 dialect). The real sandbox's answers are
 * checked against it in EndToEndTest.
 */
class OpenApiDocumentTest {
  private static final String JSON = "application/json";

  private static ServiceConfig config(int concurrency, int queue) {
    ServiceConfig base = ServiceConfig.fromEnvironment(Map.of("PYEXEC_NSJAIL", "/nonexistent/nsjail"), 2);
    return new ServiceConfig(base.sandbox(), base.engine(), base.defaultTimeout(), base.scriptLimitBytes(),
        base.bodyLimitBytes(), concurrency, queue, Duration.ofMillis(50));
  }

  private static FakeHttp.Response call(ExecuteFunction function, FakeHttp.Request request) {
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(request, response);
    return response;
  }

  private static ExecuteFunction function(FakeSandbox sandbox) {
    return new ExecuteFunction(config(2, 2), sandbox, new RequestLog(line -> { }));
  }

  private static OpenApiContract served() {
    FakeHttp.Response response = call(function(new FakeSandbox(job -> null, true)),
        FakeHttp.Request.get("/openapi.json"));
    assertThat(response.status).isEqualTo(200);
    return new OpenApiContract(response.body().getBytes(StandardCharsets.UTF_8));
  }

  private static ExecutionOutcome outcome(Kind kind) {
    OutputFiles files = new OutputFiles(List.of(new OutputFile("chart.png", ByteSlice.of(new byte[] {1, 2, 3}))), true);
    boolean ran = kind != Kind.SANDBOX_FAILURE && kind != Kind.SANDBOX_UNAVAILABLE && kind != Kind.TIMEOUT;
    return new ExecutionOutcome(kind, kind == Kind.SUCCESS ? ByteSlice.utf8("{\"n\":[1,2.5,null]}") : null,
        kind == Kind.SUCCESS ? null : "what went wrong",
        new CapturedOutput("printed\n".getBytes(StandardCharsets.UTF_8), true),
        kind == Kind.SCRIPT_ERROR ? "Traceback..." : null, "detail", Duration.ZERO, "cold",
        ran ? files : OutputFiles.NONE);
  }

  @Test
  void swaggerParserReadsItAsValidOpenApi31() {
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    SwaggerParseResult result = new OpenAPIParser().readContents(served().text, null, options);
    assertWithMessage("parser messages").that(result.getMessages()).isEmpty();
    assertThat(result.getOpenAPI().getOpenapi()).isEqualTo("3.1.0");
    assertThat(result.getOpenAPI().getPaths().keySet())
        .containsAtLeast("/execute", "/health", "/openapi.json", "/");
  }

  @Test
  void itCarriesThisInstancesLimits() {
    OpenApiContract contract = served();
    JsonNode request = contract.document.at("/components/schemas/ExecuteRequest/properties");
    assertThat(request.at("/script/maxLength").asInt()).isEqualTo(256 * 1024);
    assertThat(request.at("/timeout/maximum").asInt()).isEqualTo(30);
    assertThat(request.at("/stdin/maxLength").asInt()).isEqualTo(1 << 20);
    assertThat(request.at("/files/maxItems").asInt()).isEqualTo(64);
    assertThat(contract.text).doesNotContain("@");
  }

  @Test
  void everyExampleMatchesItsSchema() {
    OpenApiContract contract = served();
    List<String> checked = new ArrayList<>();
    JsonNode paths = contract.document.get("paths");
    for (Iterator<String> p = paths.fieldNames(); p.hasNext(); ) {
      String path = p.next();
      for (Iterator<String> m = paths.get(path).fieldNames(); m.hasNext(); ) {
        String method = m.next();
        JsonNode operation = paths.get(path).get(method);
        String base = "/paths/" + path.replace("/", "~1") + "/" + method;
        JsonNode requestExamples = operation.at("/requestBody/content/application~1json/examples");
        for (Iterator<String> e = requestExamples.fieldNames(); e.hasNext(); ) {
          String name = e.next();
          check(contract, base + "/requestBody/content/application~1json/schema",
              requestExamples.get(name).get("value"), name);
          checked.add(name);
        }
        JsonNode responses = operation.get("responses");
        for (Iterator<String> s = responses.fieldNames(); s.hasNext(); ) {
          int status = Integer.parseInt(s.next());
          String pointer = contract.responsePointer(path, method, status);
          JsonNode examples = contract.document.at(pointer.substring(0, pointer.length() - "/schema".length())
              + "/examples");
          for (Iterator<String> e = examples.fieldNames(); e.hasNext(); ) {
            String name = e.next();
            check(contract, pointer, examples.get(name).get("value"), name);
            checked.add(name);
          }
        }
      }
    }
    assertThat(checked.size()).isAtLeast(15);
  }

  private static void check(OpenApiContract contract, String pointer, JsonNode value, String name) {
    Set<ValidationMessage> problems = contract.schema(pointer).validate(value);
    assertWithMessage("example %s against %s: %s", name, pointer, problems).that(problems).isEmpty();
  }

  @Test
  void theSchemasRefuseWhatTheServerRefuses() {
    OpenApiContract contract = served();
    String request = "/components/schemas/ExecuteRequest";
    assertThat(contract.schema(request).validate(OpenApiContract.parse("{\"script\": \"x\", \"timout\": 1}"))).isNotEmpty();
    assertThat(contract.schema(request).validate(OpenApiContract.parse(
        "{\"script\": \"x\", \"files\": [{\"path\": \"../etc/passwd\", \"content\": \"\"}]}"))).isNotEmpty();
    assertThat(contract.schema(request).validate(OpenApiContract.parse(
        "{\"script\": \"x\", \"files\": [{\"path\": \"a\", \"content\": \"\", \"content_base64\": \"\"}]}"))).isNotEmpty();
  }

  @Test
  void theResponseSchemasRefuseAKindUnderTheWrongStatusOrAMissingField() {
    OpenApiContract contract = served();
    assertThat(contract.schema(contract.responsePointer("/execute", "post", 400))
        .validate(OpenApiContract.parse("{\"error\": \"x\", \"kind\": \"timeout\", \"stdout\": \"\"}"))).isNotEmpty();
    assertThat(contract.schema(contract.responsePointer("/execute", "post", 200))
        .validate(OpenApiContract.parse("{\"result\": 1}"))).isNotEmpty();
    assertThat(contract.schema(contract.responsePointer("/execute", "post", 200))
        .validate(OpenApiContract.parse("{\"result\": 1, \"stdout\": \"\", \"extra\": 1}"))).isNotEmpty();
  }

  @Test
  void everyExecutionOutcomeMatchesTheDocumentForItsStatus() {
    OpenApiContract contract = served();
    for (Kind kind : Kind.values()) {
      FakeHttp.Response response = call(function(new FakeSandbox(job -> outcome(kind), true)),
          FakeHttp.Request.post("/execute", JSON, "{\"script\": \"def main(): pass\"}"));
      assertThat(response.status).isEqualTo(OutcomeResponse.status(kind));
      contract.assertResponseMatches("/execute", "post", response.status, response.body());
    }
  }

  @Test
  void everyRefusalMatchesTheDocumentForItsStatus() throws Exception {
    OpenApiContract contract = served();
    ExecuteFunction function = function(new FakeSandbox(job -> outcome(Kind.SUCCESS), true));
    List<FakeHttp.Request> requests = List.of(
        FakeHttp.Request.post("/execute", JSON, "not json"),
        FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\", \"files\": [{\"path\": \"/abs\", \"content\": \"\"}]}"),
        FakeHttp.Request.post("/execute", JSON, "{\"script\": \"" + "x".repeat(300 * 1024) + "\"}"),
        FakeHttp.Request.post("/execute", "text/plain", "{}"),
        FakeHttp.Request.get("/execute"),
        FakeHttp.Request.get("/nowhere"),
        FakeHttp.Request.get("/health"));
    for (FakeHttp.Request request : requests) {
      FakeHttp.Response response = call(function, request);
      String path = request.path().equals("/nowhere") ? "/execute" : request.path();
      String method = path.equals("/health") ? "get" : "post";
      contract.assertResponseMatches(path, method, response.status, response.body());
    }
  }

  @Test
  void saturationAndAnUnhealthySandboxMatchTheDocument() throws Exception {
    OpenApiContract contract = served();
    FakeHttp.Response unhealthy = call(function(new FakeSandbox(job -> outcome(Kind.SUCCESS), false)),
        FakeHttp.Request.get("/health"));
    assertThat(unhealthy.status).isEqualTo(503);
    contract.assertResponseMatches("/health", "get", 503, unhealthy.body());

    FakeSandbox blocked = new FakeSandbox(job -> outcome(Kind.SUCCESS), true);
    blocked.gate = new CountDownLatch(1);
    ExecuteFunction saturated = new ExecuteFunction(config(1, 0), blocked, new RequestLog(line -> { }));
    Thread holder = new Thread(() -> call(saturated, FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}")));
    holder.start();
    while (blocked.jobs.isEmpty()) {
      Thread.sleep(5);
    }
    FakeHttp.Response overloaded = call(saturated, FakeHttp.Request.post("/execute", JSON, "{\"script\": \"x\"}"));
    blocked.gate.countDown();
    holder.join();
    assertThat(overloaded.status).isEqualTo(503);
    contract.assertResponseMatches("/execute", "post", 503, overloaded.body());
  }

  @Test
  void everyErrorKindTheServerNamesIsInTheDocumentUnderItsStatus() {
    OpenApiContract contract = served();
    Map<String, Integer> kinds = new java.util.LinkedHashMap<>();
    for (Kind kind : Kind.values()) {
      if (kind != Kind.SUCCESS) {
        kinds.put(OutcomeResponse.kindName(kind), OutcomeResponse.status(kind));
      }
    }
    for (RefusalKind refusal : RefusalKind.values()) {
      kinds.put(refusal.kind, refusal.status);
    }
    for (Map.Entry<String, Integer> kind : kinds.entrySet()) {
      String body = "{\"error\": \"x\", \"kind\": \"" + kind.getKey() + "\", \"stdout\": \"\"}";
      if (kind.getValue() == 404 || kind.getValue() == 405 || kind.getValue() == 413 || kind.getValue() == 415
          || kind.getValue() == 500 || kind.getValue() == 503 || kind.getKey().equals("invalid_request")) {
        body = "{\"error\": \"x\", \"kind\": \"" + kind.getKey() + "\"}";
      }
      contract.assertResponseMatches("/execute", "post", kind.getValue(), body);
    }
    assertThat(contract.text).contains("\"sandbox_unavailable\"");
  }
}
