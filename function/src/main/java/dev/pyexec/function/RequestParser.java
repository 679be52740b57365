package dev.pyexec.function;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.pyexec.jailer.InputFile;
import dev.pyexec.jailer.JobLimits;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Turns a POST /execute body into an {@link ExecuteRequest}, or says exactly what is wrong. */
final class RequestParser {
  private static final Set<String> FIELDS = Set.of("script", "timeout", "stdin", "files");
  private static final Set<String> FILE_FIELDS = Set.of("path", "content", "content_base64");
  /** A path's UTF-8 length; the jail's own walk of /tmp/output uses the same bound. */
  static final int PATH_LIMIT = 1024;
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
    return parse(body, body.length);
  }

  /** The first {@code length} bytes of {@code body}: the buffer the body was read into, not a copy. */
  ExecuteRequest parse(byte[] body, int length) throws ApiError {
    JsonObject object = parseObject(body, length);
    for (String key : object.keySet()) {
      if (!FIELDS.contains(key)) {
        throw ApiError.badRequest("unknown field '" + key
            + "'; the body takes 'script', 'timeout', 'stdin' and 'files'");
      }
    }
    String script = script(object);
    int bytes = script.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > scriptLimitBytes) {
      throw ApiError.tooLarge("'script' is " + bytes + " bytes of UTF-8; the limit is "
          + scriptLimitBytes + " bytes");
    }
    Duration timeout = timeout(object);
    byte[] stdin = stdin(object);
    List<InputFile> files = files(object);
    return new ExecuteRequest(script, bytes, timeout, stdin, files);
  }

  private static byte[] stdin(JsonObject object) throws ApiError {
    JsonElement value = object.remove("stdin");
    if (value == null || value.isJsonNull()) {
      return new byte[0];
    }
    if (!(value instanceof JsonPrimitive primitive) || !primitive.isString()) {
      throw ApiError.badRequest("'stdin' must be a string (what the script reads on standard input), not "
          + describe(value));
    }
    byte[] bytes = primitive.getAsString().getBytes(StandardCharsets.UTF_8);
    if (bytes.length > JobLimits.STDIN_BYTES) {
      throw ApiError.tooLarge("'stdin' is " + bytes.length + " bytes of UTF-8; the limit is "
          + JobLimits.STDIN_BYTES + " bytes");
    }
    return bytes;
  }

  private static List<InputFile> files(JsonObject object) throws ApiError {
    JsonElement value = object.remove("files");
    if (value == null || value.isJsonNull()) {
      return List.of();
    }
    if (!value.isJsonArray()) {
      throw ApiError.badRequest("'files' must be an array of {\"path\": ..., \"content\": ...} objects, not "
          + describe(value));
    }
    JsonArray array = value.getAsJsonArray();
    if (array.size() > JobLimits.INPUT_FILES) {
      throw ApiError.tooLarge("'files' has " + array.size() + " files; the limit is " + JobLimits.INPUT_FILES);
    }
    List<InputFile> files = new ArrayList<>();
    Set<String> paths = new HashSet<>();
    long total = 0;
    for (int i = 0; i < array.size(); i++) {
      JsonElement element = array.get(i);
      array.set(i, JsonNull.INSTANCE); // the content is copied below: let the tree's copy go
      InputFile file = file(i, element);
      if (!paths.add(file.path())) {
        throw ApiError.badRequest("files[" + i + "]: '" + file.path() + "' is given twice");
      }
      total += file.content().length;
      if (total > JobLimits.INPUT_BYTES) {
        throw ApiError.tooLarge("'files' hold more than " + JobLimits.INPUT_BYTES
            + " bytes in all (decoded); the limit is reached at files[" + i + "] '" + file.path() + "'");
      }
      files.add(file);
    }
    // A file cannot also be a directory another file lives in.
    for (InputFile file : files) {
      String path = file.path();
      for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
        String parent = path.substring(0, slash);
        if (paths.contains(parent)) {
          throw ApiError.badRequest("files: '" + parent + "' is a file, so '" + path + "' cannot be under it");
        }
      }
    }
    return files;
  }

  private static InputFile file(int index, JsonElement element) throws ApiError {
    String where = "files[" + index + "]";
    if (!element.isJsonObject()) {
      throw ApiError.badRequest(where + " must be an object {\"path\": ..., \"content\": ...}, not "
          + describe(element));
    }
    JsonObject object = element.getAsJsonObject();
    for (String key : object.keySet()) {
      if (!FILE_FIELDS.contains(key)) {
        throw ApiError.badRequest(where + ": unknown field '" + key
            + "'; a file takes 'path' and one of 'content' or 'content_base64'");
      }
    }
    JsonElement pathValue = object.get("path");
    if (!(pathValue instanceof JsonPrimitive p) || !p.isString()) {
      throw ApiError.badRequest(where + ": 'path' must be a string, relative to /tmp");
    }
    String path = p.getAsString();
    String problem = pathProblem(path);
    if (problem != null) {
      throw ApiError.badRequest(where + ": path '" + path + "' " + problem);
    }
    JsonElement text = object.get("content");
    JsonElement encoded = object.get("content_base64");
    boolean hasText = text != null && !text.isJsonNull();
    boolean hasEncoded = encoded != null && !encoded.isJsonNull();
    if (hasText == hasEncoded) {
      throw ApiError.badRequest(where + " '" + path + "': give exactly one of 'content' (text) or "
          + "'content_base64' (bytes)");
    }
    JsonElement content = hasText ? text : encoded;
    if (!(content instanceof JsonPrimitive c) || !c.isString()) {
      throw ApiError.badRequest(where + " '" + path + "': '" + (hasText ? "content" : "content_base64")
          + "' must be a string, not " + describe(content));
    }
    if (hasText) {
      return new InputFile(path, c.getAsString().getBytes(StandardCharsets.UTF_8));
    }
    try {
      return new InputFile(path, Base64.getDecoder().decode(c.getAsString()));
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest(where + " '" + path + "': 'content_base64' is not valid base64 ("
          + e.getMessage() + ")");
    }
  }

  /** Why a file path is refused, or null: relative to /tmp, plain components, outside output/. */
  static String pathProblem(String path) {
    if (path.isEmpty()) {
      return "is empty";
    }
    if (path.startsWith("/")) {
      return "is absolute; give a path relative to the working directory /tmp, like 'data/in.csv'";
    }
    if (path.getBytes(StandardCharsets.UTF_8).length > PATH_LIMIT) {
      return "is longer than " + PATH_LIMIT + " bytes";
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\\' || Character.isSurrogate(c)) {
        return "contains a control character, a backslash or an invalid character";
      }
    }
    String[] parts = path.split("/", -1);
    for (String part : parts) {
      if (part.equals("..")) {
        return "contains '..'; paths must stay under /tmp";
      }
      if (part.isEmpty() || part.equals(".")) {
        return "has an empty or '.' component";
      }
      if (part.getBytes(StandardCharsets.UTF_8).length > 255) {
        return "has a component longer than 255 bytes";
      }
    }
    if (parts[0].equals("output")) {
      return "is under output/, which is where the script's own output files go and must start empty";
    }
    return null;
  }

  private static JsonObject parseObject(byte[] body, int length) throws ApiError {
    JsonElement element;
    try {
      CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);
      JsonReader reader = new JsonReader(new InputStreamReader(new ByteArrayInputStream(body, 0, length), strict));
      reader.setStrictness(Strictness.STRICT);
      element = JSON.read(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw ApiError.badRequest("request body is not valid JSON: unexpected data after the object");
      }
    } catch (CharacterCodingException e) {
      throw ApiError.badRequest("request body is not valid UTF-8 JSON");
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
