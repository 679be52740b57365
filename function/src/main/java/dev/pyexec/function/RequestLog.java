package dev.pyexec.function;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One JSON line per request on stdout, in the shape Cloud Logging reads (severity, message).
 * Never the script or its output: those are the caller's.
 */
final class RequestLog {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private final Consumer<String> sink;

  RequestLog(Consumer<String> sink) {
    this.sink = sink;
  }

  /** A line for the operator that is not about one request (start-up, self-test). */
  void event(String severity, String message) {
    event(severity, message, Map.of());
  }

  /** The same, with figures: values are strings, numbers or booleans. */
  void event(String severity, String message, Map<String, Object> fields) {
    sink.accept(GSON.toJson(line(severity, message, fields)));
  }

  /** @param fields execution id, outcome, status, duration and the like; values are strings or numbers */
  void request(int status, String message, Map<String, Object> fields) {
    event(status >= 500 ? "ERROR" : status >= 400 ? "WARNING" : "INFO", message, fields);
  }

  private static JsonObject line(String severity, String message, Map<String, Object> fields) {
    JsonObject line = new JsonObject();
    line.addProperty("severity", severity);
    line.addProperty("message", message);
    fields.forEach((key, value) -> {
      if (value instanceof Number number) {
        line.addProperty(key, number);
      } else if (value instanceof Boolean bool) {
        line.addProperty(key, bool);
      } else if (value != null) {
        line.addProperty(key, value.toString());
      }
    });
    return line;
  }
}
