package dev.pyexec.function;

import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.pyexec.jailer.Cancellation;
import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.Sandbox;
import dev.pyexec.jailer.SandboxHealth;
import dev.pyexec.jailer.SandboxStarter;
import dev.pyexec.jailer.ScriptJob;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTP face of the service: POST /execute runs a script in the sandbox, GET /health says
 * whether this instance can, GET / shows how to call it. One instance serves every request of
 * the invoker's thread pool, so everything here is thread-safe and every failure becomes a JSON
 * answer (the invoker's own fallback is an empty 500).
 */
public final class ExecuteFunction implements HttpFunction {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();
  private static final Duration ENGINE_STATUS_EVERY = Duration.ofSeconds(60);
  /** How often the connections of running requests are checked for a client that hung up. */
  private static final Duration DISCONNECT_CHECK_EVERY = Duration.ofMillis(200);
  private static final String USAGE = """
      pyexec: runs the main() of a Python script in an nsjail sandbox.

        POST /execute  {"script": "def main():\\n    return 1", "timeout": 5}
                       -> {"result": 1, "stdout": ""}
                       optional: "stdin": "...", "files": [{"path": "in.csv", "content": "..."}];
                       files the script writes under /tmp/output/ come back in "files"
        GET  /health   -> {"status": "healthy"}
        GET  /openapi.json -> the OpenAPI 3.1 document of this API

      numpy and pandas are available; no network; /tmp is private and small.
      """;

  private final ServiceConfig config;
  private final Sandbox sandbox;
  private final RequestLog log;
  private final BodyReader bodies;
  private final RequestParser parser;
  private final AdmissionControl admission;
  private final SecureRandom random = new SecureRandom();
  private final String profile;
  private final byte[] openApi;
  private final ComponentHealth components;
  private final DisconnectWatcher disconnects;
  private final ReadDeadline readDeadline;

  /** What the invoker calls: configuration from the environment, the real sandbox. */
  public ExecuteFunction() {
    this(ServiceConfig.fromEnvironment(System.getenv(), Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory()), new RequestLog(System.out::println));
  }

  private ExecuteFunction(ServiceConfig config, RequestLog log) {
    this(config, log, new ComponentHealth(log));
  }

  private ExecuteFunction(ServiceConfig config, RequestLog log, ComponentHealth components) {
    this(config, startSandbox(config, log, components), log, components,
        new DisconnectWatcher(DISCONNECT_CHECK_EVERY));
    EngineStatusLog engineStatus = new EngineStatusLog(sandbox, log).start(ENGINE_STATUS_EVERY);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      engineStatus.close();
      sandbox.close();
    }, "sandbox-shutdown"));
  }

  ExecuteFunction(ServiceConfig config, Sandbox sandbox, RequestLog log) {
    this(config, sandbox, log, new ComponentHealth(log), new DisconnectWatcher(DISCONNECT_CHECK_EVERY));
  }

  ExecuteFunction(ServiceConfig config, Sandbox sandbox, RequestLog log, ComponentHealth components,
      DisconnectWatcher disconnects) {
    this.config = config;
    this.components = components;
    this.disconnects = disconnects;
    this.readDeadline = new ReadDeadline(config.bodyReadTimeout());
    this.sandbox = sandbox;
    this.log = log;
    this.bodies = new BodyReader(config.bodyLimitBytes());
    this.parser = new RequestParser(config.scriptLimitBytes(), config.defaultTimeout(),
        config.sandbox().maxTimeout());
    this.openApi = OpenApiDocument.render(config);
    this.admission = new AdmissionControl(config.concurrency(), config.queueSize(), config.queueWait());
    SandboxHealth health = sandbox.health();
    this.profile = health.profile();
  }

  private static Sandbox startSandbox(ServiceConfig config, RequestLog log, ComponentHealth components) {
    // Any thread that dies uncaught from here on (the engine's maintainers included) is reported.
    Thread.setDefaultUncaughtExceptionHandler(components);
    log.event(config.heapFit().lowered() ? "WARNING" : "INFO", "memory: " + config.heapFit().explanation());
    Sandbox sandbox = new SandboxStarter(config.sandbox(), line -> log.event("INFO", line))
        .start(config.engine());
    SandboxHealth health = sandbox.health();
    if (health.healthy()) {
      log.event("INFO", "ready: sandbox profile " + health.profile() + ", engine " + health.engine() + ", "
          + config.concurrency() + " executions at once, queue " + config.queueSize() + ", at most "
          + config.executionBudgetBytes() + " bytes of heap per execution");
    } else {
      log.event("ERROR", "NOT serving executions, the sandbox is unavailable: " + health.detail());
    }
    return sandbox;
  }

  @Override
  public void service(HttpRequest request, HttpResponse response) {
    long start = System.nanoTime();
    String id = newId();
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("execution_id", id);
    String path = normalise(request.getPath());
    String method = request.getMethod();
    int status;
    String outcome;
    try {
      Reply reply = route(method, path, request, fields);
      status = reply.status();
      outcome = reply.kind();
      try {
        send(response, reply);
      } catch (IOException e) {
        if (!outcome.equals("client_gone")) {
          outcome = outcome + "+client_gone"; // the answer was ready; nobody was left to take it
        }
      }
    } catch (ApiError e) {
      status = e.status();
      outcome = e.kind();
      sendError(response, e);
    } catch (Throwable t) {
      status = 500;
      outcome = RefusalKind.INTERNAL_ERROR.kind;
      fields.put("exception", t.toString());
      if (t instanceof VirtualMachineError) {
        components.failed("http", t); // out of memory: this instance cannot be trusted to serve
      }
      sendQuietly(response, new Reply(500, outcome, text(errorBody(
          "The server failed while handling this request; this is not the script's fault", outcome)),
          Map.of()));
    }
    fields.put("outcome", outcome);
    fields.put("status", status);
    fields.put("duration_ms", (System.nanoTime() - start) / 1_000_000.0);
    log.request(status, method + " " + path + " -> " + status + " " + outcome, fields);
  }

  private Reply route(String method, String path, HttpRequest request, Map<String, Object> fields)
      throws Exception {
    switch (path) {
      case "/execute" -> {
        requireMethod(method, "POST");
        return execute(request, fields);
      }
      case "/health" -> {
        requireMethod(method, "GET");
        return health();
      }
      case "/openapi.json" -> {
        requireMethod(method, "GET");
        return new Reply(200, "openapi", out -> out.write(openApi), Map.of());
      }
      case "/" -> {
        requireMethod(method, "GET");
        return new Reply(200, "usage", null, Map.of());
      }
      default -> throw new ApiError(404, "not_found",
          "no such path: " + path + "; use POST /execute, GET /health or GET /openapi.json");
    }
  }

  private Reply execute(HttpRequest request, Map<String, Object> fields) throws Exception {
    requireJson(request.getContentType().orElse(null));
    String encoding = request.getFirstHeader("Content-Encoding").orElse("identity").trim();
    if (!encoding.isEmpty() && !encoding.equalsIgnoreCase("identity")) {
      throw new ApiError(415, "unsupported_media_type",
          "Content-Encoding " + encoding + " is not supported; send the JSON uncompressed");
    }
    // Bodies are read only within the bound the heap was sized for (HeapBudget).
    try (AdmissionControl.Intake intake = admission.intake()) {
      return readAndRun(request, fields);
    }
  }

  private Reply readAndRun(HttpRequest request, Map<String, Object> fields) throws Exception {
    BodyReader.Body body;
    Optional<ClientConnection> connection = ClientConnection.of(request);
    try (ReadDeadline.Handle deadline = readDeadline.start(connection)) {
      try {
        body = bodies.read(request.getContentLength(), request.getInputStream());
      } catch (IOException e) {
        if (deadline.expired()) {
          throw new ApiError(408, "request_timeout", "the request body did not arrive within "
              + readDeadline.limit().toSeconds() + " s; the connection was closed");
        }
        throw ApiError.badRequest("the request body could not be read to its end (" + e.getClass().getSimpleName()
            + "): it ended before its announced length or final chunk, or stalled");
      }
    }
    ExecuteRequest parsed = parser.parse(body.bytes(), body.length());
    body = null; // the parsed request holds what is needed; the raw body may go
    fields.put("script_bytes", parsed.scriptBytes());
    if (parsed.stdin().length > 0) {
      fields.put("stdin_bytes", parsed.stdin().length);
    }
    if (!parsed.files().isEmpty()) {
      fields.put("input_files", parsed.files().size());
    }
    fields.put("timeout_s", parsed.timeout().toMillis() / 1000.0);
    ExecutionOutcome outcome;
    Cancellation cancellation = new Cancellation();
    try (DisconnectWatcher.Watch watch = disconnects.watch(connection, cancellation::cancel);
        AdmissionControl.Permit permit = admission.admit()) {
      if (!cancellation.isCancelled()) {
        outcome = sandbox.execute(new ScriptJob(parsed.script(), parsed.timeout(), parsed.stdin(), parsed.files()),
            cancellation);
      } else {
        outcome = null; // hung up while waiting for a slot: never started
      }
    }
    if (cancellation.isCancelled()) {
      fields.put("sandbox_profile", profile);
      if (outcome != null) {
        fields.put("run_ms", outcome.elapsed().toNanos() / 1_000_000.0);
      }
      // 499, as proxies log it: the caller closed the connection; the execution was ended.
      return new Reply(499, "client_gone", text(errorBody("the client closed the connection; the execution was ended",
          "client_gone")), Map.of());
    }
    fields.put("sandbox_profile", profile);
    fields.put("engine", engineOf(outcome.jailSource()));
    fields.put("jail", outcome.jailSource());
    fields.put("stdout_bytes", outcome.stdout().bytes().length);
    fields.put("run_ms", outcome.elapsed().toNanos() / 1_000_000.0);
    if (outcome.files() != null && !outcome.files().files().isEmpty()) {
      fields.put("output_files", outcome.files().files().size());
      fields.put("output_bytes", outcome.files().totalBytes());
    }
    if (outcome.internalDetail() != null) {
      fields.put("sandbox_detail", outcome.internalDetail());
    }
    OutcomeResponse response = OutcomeResponse.of(outcome);
    Map<String, String> headers = response.status() == 503 ? Map.of("Retry-After", "5") : Map.of();
    return new Reply(response.status(), response.kind(), response::writeTo, headers);
  }

  private Reply health() {
    SandboxHealth health = sandbox.health();
    boolean healthy = health.healthy() && components.healthy();
    JsonObject body = new JsonObject();
    body.addProperty("status", healthy ? "healthy" : "unhealthy");
    body.addProperty("sandbox_profile", health.profile());
    body.addProperty("engine", health.engine());
    if (!health.healthy()) {
      body.addProperty("error", "the sandbox is unavailable on this instance");
      body.addProperty("detail", health.detail());
    } else if (!components.healthy()) {
      body.addProperty("error", "a component of this instance failed (the log says why); it needs replacing");
      body.add("failed_components", GSON.toJsonTree(components.failedComponents()));
    }
    if (!health.engineStats().isEmpty()) {
      body.add("engine_status", GSON.toJsonTree(health.engineStats()));
    }
    return new Reply(healthy ? 200 : 503, healthy ? "healthy" : "unhealthy", text(GSON.toJson(body)),
        healthy ? Map.of() : Map.of("Retry-After", "5"));
  }

  /** The engine that ran an execution, from where its jail came from. */
  private static String engineOf(String jailSource) {
    return switch (jailSource == null ? "none" : jailSource) {
      case "template" -> "template";
      case "cold" -> "oneshot";
      default -> "none";
    };
  }

  private static void requireMethod(String method, String allowed) throws ApiError {
    if (!allowed.equals(method)) {
      throw new ApiError(405, "method_not_allowed", method + " is not allowed here; use " + allowed,
          Map.of("Allow", allowed));
    }
  }

  /** application/json (or a +json type); a charset parameter is fine if it is UTF-8. */
  private static void requireJson(String contentType) throws ApiError {
    if (contentType == null || contentType.isBlank()) {
      throw new ApiError(415, "unsupported_media_type", "missing Content-Type; send application/json");
    }
    String[] parts = contentType.split(";");
    String media = parts[0].trim().toLowerCase(Locale.ROOT);
    if (!media.equals("application/json") && !(media.startsWith("application/") && media.endsWith("+json"))) {
      throw new ApiError(415, "unsupported_media_type",
          "Content-Type " + media + " is not supported; send application/json");
    }
    for (int i = 1; i < parts.length; i++) {
      String[] param = parts[i].trim().split("=", 2);
      if (param[0].trim().equalsIgnoreCase("charset") && param.length == 2) {
        String charset = param[1].trim().replace("\"", "").toLowerCase(Locale.ROOT);
        if (!charset.equals("utf-8") && !charset.equals("utf8")) {
          throw new ApiError(415, "unsupported_media_type",
              "charset " + charset + " is not supported; JSON must be UTF-8");
        }
      }
    }
  }

  private static String normalise(String path) {
    if (path == null || path.isEmpty()) {
      return "/";
    }
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  private String newId() {
    byte[] bytes = new byte[8];
    random.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static String errorBody(String message, String kind) {
    JsonObject body = new JsonObject();
    body.addProperty("error", message);
    body.addProperty("kind", kind);
    return GSON.toJson(body);
  }

  private void sendError(HttpResponse response, ApiError e) {
    sendQuietly(response, new Reply(e.status(), e.kind(), text(errorBody(e.getMessage(), e.kind())), e.headers()));
  }

  private void sendQuietly(HttpResponse response, Reply reply) {
    try {
      send(response, reply);
    } catch (IOException | RuntimeException e) {
      // The client went away; nothing left to tell it.
    }
  }

  private static void send(HttpResponse response, Reply reply) throws IOException {
    response.setStatusCode(reply.status());
    reply.headers().forEach(response::appendHeader);
    Body body = reply.body();
    if (body == null) {
      response.setContentType("text/plain; charset=utf-8");
      body = text(USAGE);
    } else {
      response.setContentType("application/json; charset=utf-8");
    }
    response.appendHeader("Cache-Control", "no-store");
    try (OutputStream out = response.getOutputStream()) {
      body.writeTo(out);
    }
  }

  private static Body text(String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return out -> out.write(bytes);
  }

  /** A body written straight to the response stream, so a big answer is not built first. */
  @FunctionalInterface
  private interface Body {
    void writeTo(OutputStream out) throws IOException;
  }

  /** A finished answer: status, the log's outcome name, the JSON body (null: the usage text). */
  private record Reply(int status, String kind, Body body, Map<String, String> headers) {}
}
