package dev.pyexec.function;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

/** Turns a POST /execute body into an {@link ExecuteRequest}, or says exactly what is wrong. */
final class RequestParser {
  private static final Set<String> FIELDS = Set.of("script", "timeout");
  private static final TypeAdapter<JsonElement> JSON = new Gson().getAdapter(JsonElement.class);

  private final int scriptLimitBytes;
  private final Duration defaultTimeout;
  private final Duration maxTimeout;

  RequestParser(int scriptLimitBytes, Duration defaultTimeout, Duration maxTimeout) {
    this.scriptLimitBytes = scriptLimitBytes;
    this.defaultTimeout = defaultTimeout;
    this.maxTimeout = maxTimeout;
  }

  ExecuteRequest parse(byte[] body) throws ApiError {
    JsonObject object = parseObject(decode(body));
    for (String key : object.keySet()) {
      if (!FIELDS.contains(key)) {
        throw ApiError.badRequest("unknown field '" + key + "'; the body takes 'script' and 'timeout'");
      }
    }
    String script = script(object);
    int bytes = script.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > scriptLimitBytes) {
      throw ApiError.tooLarge("'script' is " + bytes + " bytes of UTF-8; the limit is "
          + scriptLimitBytes + " bytes");
    }
    return new ExecuteRequest(script, bytes, timeout(object));
  }

  private static String decode(byte[] body) throws ApiError {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body)).toString();
    } catch (CharacterCodingException e) {
      throw ApiError.badRequest("request body is not valid UTF-8 JSON");
    }
  }

  private static JsonObject parseObject(String text) throws ApiError {
    JsonElement element;
    try {
      JsonReader reader = new JsonReader(new StringReader(text));
      reader.setStrictness(Strictness.STRICT);
      element = JSON.read(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw ApiError.badRequest("request body is not valid JSON: unexpected data after the object");
      }
    } catch (JsonParseException | IOException | IllegalStateException e) {
      String detail = e.getMessage() == null ? "" : ": " + firstLine(e.getMessage());
      throw ApiError.badRequest("request body is not valid JSON" + detail);
    }
    if (element == null || !element.isJsonObject()) {
      throw ApiError.badRequest("request body must be a JSON object like {\"script\": \"def main(): ...\"}");
    }
    return element.getAsJsonObject();
  }

  private String script(JsonObject object) throws ApiError {
    JsonElement value = object.get("script");
    if (value == null || value.isJsonNull()) {
      throw ApiError.badRequest("missing field 'script': a string of Python source that defines main()");
    }
    if (!(value instanceof JsonPrimitive primitive) || !primitive.isString()) {
      throw ApiError.badRequest("'script' must be a string of Python source, not " + describe(value));
    }
    String script = primitive.getAsString();
    if (script.isBlank()) {
      throw ApiError.badRequest("'script' is empty: send Python source that defines main()");
    }
    return script;
  }

  private Duration timeout(JsonObject object) throws ApiError {
    JsonElement value = object.get("timeout");
    if (value == null || value.isJsonNull()) {
      return defaultTimeout;
    }
    if (!(value instanceof JsonPrimitive primitive) || !primitive.isNumber()) {
      throw ApiError.badRequest("'timeout' must be a number of seconds, not " + describe(value));
    }
    BigDecimal seconds;
    try {
      seconds = new BigDecimal(primitive.getAsString());
    } catch (NumberFormatException e) {
      throw ApiError.badRequest("'timeout' must be a number of seconds");
    }
    BigDecimal max = BigDecimal.valueOf(maxTimeout.toMillis()).movePointLeft(3);
    if (seconds.signum() <= 0 || seconds.compareTo(max) > 0) {
      throw ApiError.badRequest("'timeout' must be greater than 0 and at most "
          + max.stripTrailingZeros().toPlainString() + " seconds, got " + primitive.getAsString());
    }
    long millis = seconds.movePointRight(3).setScale(0, java.math.RoundingMode.CEILING).longValueExact();
    return Duration.ofMillis(millis);
  }

  private static String describe(JsonElement value) {
    if (value.isJsonObject()) {
      return "an object";
    }
    if (value.isJsonArray()) {
      return "an array";
    }
    JsonPrimitive primitive = value.getAsJsonPrimitive();
    if (primitive.isBoolean()) {
      return "a boolean";
    }
    if (primitive.isNumber()) {
      return "a number";
    }
    return "a string";
  }

  /** Gson's own advice ("Use JsonReader.setStrictness...", links) means nothing to a caller. */
  private static String firstLine(String message) {
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    int advice = line.indexOf("Use JsonReader");
    if (advice >= 0) {
      line = "malformed JSON" + line.substring(line.indexOf(" at ", advice) < 0 ? line.length() : line.indexOf(" at ", advice));
    }
    return line.strip();
  }
}
