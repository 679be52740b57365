package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import com.google.gson.JsonParser;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** A part of the instance that dies must not leave /health saying healthy. */
class ComponentHealthTest {
  private final List<String> logLines = new CopyOnWriteArrayList<>();
  private final RequestLog log = new RequestLog(logLines::add);
  private final ComponentHealth components = new ComponentHealth(log);
  private final ExecuteFunction function = new ExecuteFunction(
      ServiceConfig.fromEnvironment(Map.of("PYEXEC_NSJAIL", "/nonexistent/nsjail"), 2),
      new FakeSandbox(job -> null, true), log, components, new DisconnectWatcher(Duration.ofMillis(200)));

  private FakeHttp.Response health() {
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(FakeHttp.Request.get("/health"), response);
    return response;
  }

  @Test
  void aMaintainerThreadThatDiesTurnsHealthTo503AndLogsTheCause() throws InterruptedException {
    assertThat(health().status).isEqualTo(200);
    // What the JVM-wide handler does for the engine's threads, on a thread of the test's own.
    Thread maintainer = new Thread(() -> {
      throw new OutOfMemoryError("Java heap space");
    }, "template-maintainer");
    maintainer.setUncaughtExceptionHandler(components);
    maintainer.start();
    maintainer.join();

    FakeHttp.Response response = health();
    assertThat(response.status).isEqualTo(503);
    assertThat(response.header("Retry-After")).isNotNull();
    assertThat(JsonParser.parseString(response.body()).getAsJsonObject().get("failed_components").toString())
        .contains("thread template-maintainer");
    assertThat(logLines.stream().filter(l -> l.contains("\"ERROR\"") && l.contains("template-maintainer failed")
        && l.contains("OutOfMemoryError: Java heap space")).count()).isEqualTo(1);
  }

  @Test
  void aComponentReportingItsOwnDeathTurnsHealthTo503() {
    components.failed("io pump", new IllegalStateException("pipe reader ended"));
    assertThat(health().status).isEqualTo(503);
  }
}
