package dev.pyexec.function.soak;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The function under the invoker in a child JVM, started as `make run` starts it, its log in a file. */
final class SoakServer implements AutoCloseable {
  final Process process;
  final URI base;
  final Path log;

  private SoakServer(Process process, URI base, Path log) {
    this.process = process;
    this.base = base;
    this.log = log;
  }

  static SoakServer start(String jars, String jvmFlags, Map<String, String> env, Path log) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(List.of(jvmFlags.trim().split("\\s+")));
    command.addAll(List.of("-jar", jars + "/java-function-invoker.jar",
        "--classpath", jars + "/pyexec-function.jar",
        "--target", "dev.pyexec.function.ExecuteFunction"));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(env);
    builder.environment().put("PORT", Integer.toString(port));
    builder.redirectErrorStream(true);
    builder.redirectOutput(log.toFile());
    SoakServer server = new SoakServer(builder.start(), URI.create("http://127.0.0.1:" + port), log);
    // A soak stopped from outside (Ctrl-C, SIGTERM) must not leave its server running.
    Runtime.getRuntime().addShutdownHook(new Thread(server.process::destroyForcibly));
    server.awaitHealthy();
    return server;
  }

  int health() {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(base.resolve("/health")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private void awaitHealthy() throws Exception {
    for (int i = 0; i < 300; i++) {
      if (health() == 200) {
        return;
      }
      if (!process.isAlive()) {
        break;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("server did not become healthy; see " + log);
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(15, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
