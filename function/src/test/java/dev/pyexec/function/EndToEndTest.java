package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.cloud.functions.invoker.runner.Invoker;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The real function under the real invoker with the real sandbox, over HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndTest {
  private Invoker invoker;
  private URI base;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  void start() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    invoker = new Invoker(port, ExecuteFunction.class.getName(), "http", getClass().getClassLoader());
    invoker.startTestServer();
    base = URI.create("http://127.0.0.1:" + port);
    for (int i = 0; i < 100 && get("/health").statusCode() != 200; i++) {
      Thread.sleep(100);
    }
    assertWithMessage("instance never became healthy").that(get("/health").statusCode()).isEqualTo(200);
  }

  @AfterAll
  void stop() throws Exception {
    invoker.stopServer();
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return client.send(HttpRequest.newBuilder(base.resolve(path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> execute(String body) throws IOException, InterruptedException {
    return client.send(HttpRequest.newBuilder(base.resolve("/execute"))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String script(String source, Integer timeout) {
    JsonObject body = new JsonObject();
    body.addProperty("script", source);
    if (timeout != null) {
      body.addProperty("timeout", timeout);
    }
    return body.toString();
  }

  private static JsonObject json(HttpResponse<String> response) {
    return JsonParser.parseString(response.body()).getAsJsonObject();
  }

  @Test
  void healthSaysHealthyAndNamesTheProfile() throws Exception {
    JsonObject health = json(get("/health"));
    assertThat(health.get("status").getAsString()).isEqualTo("healthy");
    assertThat(health.get("sandbox_profile").getAsString()).isNotEmpty();
  }

  @Test
  void helloWorldOverHttp() throws Exception {
    HttpResponse<String> response = execute(script("def main():\n    print('hi')\n    return {'ok': True}", null));
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("{\"result\":{\"ok\":true},\"stdout\":\"hi\\n\"}");
  }

  @Test
  void pandasOverHttp() throws Exception {
    HttpResponse<String> response = execute(script("import pandas as pd\ndef main():\n"
        + "    return pd.DataFrame({'x': [1, 2]}).to_dict(orient='records')", null));
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(json(response).get("result").toString()).isEqualTo("[{\"x\":1},{\"x\":2}]");
  }

  @Test
  void timeoutOverHttpIs408WithPartialStdout() throws Exception {
    HttpResponse<String> response = execute(script(
        "import time\ndef main():\n    print('partial', flush=True)\n    time.sleep(30)", 1));
    assertThat(response.statusCode()).isEqualTo(408);
    assertThat(json(response).get("error").getAsString()).isEqualTo("Execution timed out after 1 s");
    assertThat(json(response).get("stdout").getAsString()).isEqualTo("partial\n");
  }

  private OpenApiContract contract() throws Exception {
    HttpResponse<String> document = get("/openapi.json");
    assertThat(document.statusCode()).isEqualTo(200);
    return new OpenApiContract(document.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void stdinOverHttp() throws Exception {
    JsonObject body = JsonParser.parseString(script("import sys\ndef main():\n"
        + "    return sum(int(x) for x in sys.stdin.read().split())", null)).getAsJsonObject();
    body.addProperty("stdin", "1 2 3\n4\n");
    HttpResponse<String> response = execute(body.toString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(json(response).get("result").getAsInt()).isEqualTo(10);
    contract().assertResponseMatches("/execute", "post", 200, response.body());
  }

  @Test
  void aCsvInAndAChartOutOverHttp() throws Exception {
    JsonObject body = JsonParser.parseString(script("import pandas as pd\n"
        + "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        + "def main():\n"
        + "    df = pd.read_csv('data/in.csv')\n"
        + "    df.plot(x='x', y='y')\n"
        + "    plt.savefig('/tmp/output/chart.png')\n"
        + "    df.describe().to_csv('/tmp/output/summary.csv')\n"
        + "    return len(df)", 20)).getAsJsonObject();
    JsonObject file = new JsonObject();
    file.addProperty("path", "data/in.csv");
    file.addProperty("content", "x,y\n1,2\n2,4\n3,8\n");
    com.google.gson.JsonArray files = new com.google.gson.JsonArray();
    files.add(file);
    body.add("files", files);
    HttpResponse<String> response = execute(body.toString());
    assertWithMessage(response.body()).that(response.statusCode()).isEqualTo(200);
    JsonObject answer = json(response);
    assertThat(answer.get("result").getAsInt()).isEqualTo(3);
    com.google.gson.JsonArray out = answer.getAsJsonArray("files");
    assertThat(out.size()).isEqualTo(2);
    JsonObject chart = out.get(0).getAsJsonObject();
    assertThat(chart.get("path").getAsString()).isEqualTo("chart.png");
    byte[] png = java.util.Base64.getDecoder().decode(chart.get("content_base64").getAsString());
    assertThat(png.length).isEqualTo(chart.get("size").getAsInt());
    assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
    assertThat(out.get(1).getAsJsonObject().get("path").getAsString()).isEqualTo("summary.csv");
    assertThat(answer.has("files_truncated")).isFalse();
    contract().assertResponseMatches("/execute", "post", 200, response.body());
  }

  @Test
  void aPathTraversalInFilesIs400NamingTheFile() throws Exception {
    HttpResponse<String> response = execute("{\"script\": \"def main():\\n    return 1\", "
        + "\"files\": [{\"path\": \"../../etc/cron.d/x\", \"content\": \"boom\"}]}");
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(json(response).get("kind").getAsString()).isEqualTo("invalid_request");
    assertThat(json(response).get("error").getAsString()).contains("../../etc/cron.d/x");
    contract().assertResponseMatches("/execute", "post", 400, response.body());
  }

  @Test
  void anExecutionErrorCarriesTheFilesWrittenSoFar() throws Exception {
    HttpResponse<String> response = execute(script("def main():\n"
        + "    open('/tmp/output/partial.txt', 'w').write('so far')\n"
        + "    raise RuntimeError('later')", null));
    assertThat(response.statusCode()).isEqualTo(400);
    JsonObject answer = json(response);
    assertThat(answer.get("kind").getAsString()).isEqualTo("script_error");
    assertThat(answer.getAsJsonArray("files").get(0).getAsJsonObject().get("path").getAsString())
        .isEqualTo("partial.txt");
    contract().assertResponseMatches("/execute", "post", 400, response.body());
  }

  @Test
  void sixteenConcurrentMixedRequestsGetTheirOwnAnswersAndLeaveNothingBehind() throws Exception {
    List<String[]> cases = List.of(
        new String[] {script("def main():\n    return 'hello'", null), "200", "hello"},
        new String[] {script("import pandas as pd\ndef main():\n    return int(pd.Series([1, 2]).sum())", null), "200", "3"},
        new String[] {script("def main():\n    return 1 / 0", null), "400", "ZeroDivisionError"},
        new String[] {script("def main(:\n    pass", null), "400", "SyntaxError"},
        new String[] {script("import time\ndef main():\n    time.sleep(10)", 1), "408", "timed out"},
        new String[] {script("import os\ndef main():\n    os.fork() or __import__('time').sleep(60)\n    return 'forked'", null), "200", "forked"},
        new String[] {script("def main():\n    return [b'x']", null), "400", "bytes"},
        new String[] {"{\"script\": 5}", "400", "script"});
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<HttpResponse<String>>> futures = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        String body = cases.get(i % cases.size())[0];
        futures.add(pool.submit(() -> execute(body)));
      }
      for (int i = 0; i < 16; i++) {
        String[] expected = cases.get(i % cases.size());
        HttpResponse<String> response = futures.get(i).get();
        assertWithMessage(response.body()).that(response.statusCode()).isEqualTo(Integer.parseInt(expected[1]));
        assertThat(response.body()).contains(expected[2]);
      }
    } finally {
      pool.shutdownNow();
    }
    assertWithMessage("processes left behind by finished jails").that(strayJailedProcesses()).isEmpty();
    assertThat(get("/health").statusCode()).isEqualTo(200);
  }

  /**
   * Jailed processes (host uids of the jail range) whose parent is not a live nsjail: a template's
   * zygote is expected (nsjail's child), and one spare child of each zygote; an execution's
   * process left after its answer is a leak.
   */
  private static List<String> strayJailedProcesses() throws Exception {
    List<String> stray = List.of();
    for (int attempt = 0; attempt < 40; attempt++) {
      stray = new ArrayList<>();
      Map<String, Integer> spares = new HashMap<>();
      try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
        for (Path dir : (Iterable<Path>) entries::iterator) {
          try {
            List<String> status = Files.readAllLines(dir.resolve("status"));
            int uid = Integer.parseInt(field(status, "Uid:").split("\\s+")[0]);
            if (uid < 200_000 || uid >= 250_000) {
              continue;
            }
            String ppid = field(status, "PPid:").trim();
            String parent = Files.readString(Path.of("/proc", ppid, "comm")).trim();
            if (!parent.equals("nsjail") && !isSpare(ppid, spares)) {
              stray.add(dir.getFileName() + " (parent " + parent + ")");
            }
          } catch (IOException | RuntimeException e) {
            // Not a process, or it ended while we looked.
          }
        }
      }
      if (stray.isEmpty()) {
        return stray;
      }
      Thread.sleep(50);
    }
    return stray;
  }

  /**
   * Whether a child of this parent may be a template's spare: the parent is a zygote (nsjail's
   * child running zygote.py), and it is the first child of it seen (a template keeps one).
   */
  private static boolean isSpare(String parentPid, Map<String, Integer> seen) throws IOException {
    String grandparent = field(Files.readAllLines(Path.of("/proc", parentPid, "status")), "PPid:").trim();
    boolean zygote = Files.readString(Path.of("/proc", grandparent, "comm")).trim().equals("nsjail")
        && Files.readString(Path.of("/proc", parentPid, "cmdline")).contains("zygote.py");
    return zygote && seen.merge(parentPid, 1, Integer::sum) <= 1;
  }

  private static String field(List<String> status, String name) {
    return status.stream().filter(l -> l.startsWith(name)).findFirst().orElseThrow().substring(name.length()).trim();
  }
}
