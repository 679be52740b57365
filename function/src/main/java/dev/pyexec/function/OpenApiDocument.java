package dev.pyexec.function;

import dev.pyexec.jailer.JobLimits;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The OpenAPI 3.1 document served at GET /openapi.json: a template kept beside this class, with
 * this instance's limits filled in, so what clients read is what the server enforces.
 */
final class OpenApiDocument {
  private static final String TEMPLATE = "openapi.json";

  private OpenApiDocument() {}

  static byte[] render(ServiceConfig config) {
    String text = template();
    for (Map.Entry<String, String> value : values(config).entrySet()) {
      String token = "@" + value.getKey() + "@";
      // A quoted token stands for a number; one inside a sentence is just text.
      text = text.replace("\"" + token + "\"", value.getValue()).replace(token, value.getValue());
    }
    if (text.contains("@") && text.matches("(?s).*@[A-Z_]+@.*")) {
      throw new IllegalStateException("openapi.json has a placeholder with no value");
    }
    return text.getBytes(StandardCharsets.UTF_8);
  }

  static Map<String, String> values(ServiceConfig config) {
    Map<String, String> values = new LinkedHashMap<>();
    values.put("BODY_LIMIT_BYTES", Integer.toString(config.bodyLimitBytes()));
    values.put("SCRIPT_LIMIT_BYTES", Integer.toString(config.scriptLimitBytes()));
    values.put("MAX_TIMEOUT_S", seconds(config.sandbox().maxTimeout().toMillis()));
    values.put("DEFAULT_TIMEOUT_S", seconds(config.defaultTimeout().toMillis()));
    values.put("STDOUT_LIMIT_BYTES", Integer.toString(config.sandbox().stdoutLimitBytes()));
    values.put("RESULT_LIMIT_BYTES", Integer.toString(config.sandbox().resultLimitBytes()));
    values.put("STDIN_BYTES", Integer.toString(JobLimits.STDIN_BYTES));
    values.put("INPUT_FILES", Integer.toString(JobLimits.INPUT_FILES));
    values.put("INPUT_BYTES", Integer.toString(JobLimits.INPUT_BYTES));
    values.put("OUTPUT_FILES", Integer.toString(JobLimits.OUTPUT_FILES));
    values.put("OUTPUT_BYTES", Integer.toString(JobLimits.OUTPUT_BYTES));
    return values;
  }

  private static String seconds(long millis) {
    return BigDecimal.valueOf(millis).movePointLeft(3).stripTrailingZeros().toPlainString();
  }

  private static String template() {
    try (InputStream in = OpenApiDocument.class.getResourceAsStream(TEMPLATE)) {
      if (in == null) {
        throw new IllegalStateException(TEMPLATE + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
