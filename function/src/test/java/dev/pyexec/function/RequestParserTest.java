package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RequestParserTest {
  private final RequestParser parser = new RequestParser(256 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(30));

  private ExecuteRequest parse(String body) throws ApiError {
    return parser.parse(body.getBytes(StandardCharsets.UTF_8));
  }

  private ApiError refused(String body) {
    return assertThrows(ApiError.class, () -> parse(body));
  }

  @Test
  void takesScriptAndDefaultTimeout() throws ApiError {
    ExecuteRequest request = parse("{\"script\": \"def main(): return 1\"}");
    assertThat(request.script()).isEqualTo("def main(): return 1");
    assertThat(request.timeout()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void measuresTheScriptInUtf8Bytes() throws ApiError {
    assertThat(parse("{\"script\": \"s = '\u00e9\u20ac'\"}").scriptBytes()).isEqualTo(11);
  }

  @Test
  void takesFractionalTimeout() throws ApiError {
    assertThat(parse("{\"script\": \"x\", \"timeout\": 2.5}").timeout()).isEqualTo(Duration.ofMillis(2500));
  }

  @Test
  void acceptsTheMaximumTimeout() throws ApiError {
    assertThat(parse("{\"script\": \"x\", \"timeout\": 30}").timeout()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void refusesMalformedJson() {
    ApiError error = refused("{\"script\": \"x\"");
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.getMessage()).contains("not valid JSON");
  }

  @Test
  void refusesLenientJson() {
    assertThat(refused("{'script': 'x'}").getMessage()).contains("not valid JSON");
  }

  @Test
  void refusesTrailingData() {
    assertThat(refused("{\"script\": \"x\"} {}").getMessage()).contains("not valid JSON");
  }

  @Test
  void refusesBodiesThatAreNotObjects() {
    assertThat(refused("[\"def main(): return 1\"]").getMessage()).contains("JSON object");
  }

  @Test
  void refusesMissingScript() {
    assertThat(refused("{\"code\": \"x\"}").getMessage()).contains("'code'");
    assertThat(refused("{}").getMessage()).contains("missing field 'script'");
  }

  @Test
  void refusesScriptThatIsNotAString() {
    assertThat(refused("{\"script\": 42}").getMessage()).contains("'script' must be a string");
  }

  @Test
  void refusesEmptyScript() {
    assertThat(refused("{\"script\": \"  \"}").getMessage()).contains("'script' is empty");
  }

  @Test
  void refusesScriptOverTheLimitWith413() {
    String big = "#".repeat(256 * 1024 + 1);
    ApiError error = refused("{\"script\": \"" + big + "\"}");
    assertThat(error.status()).isEqualTo(413);
  }

  @Test
  void refusesTimeoutThatIsNotANumber() {
    assertThat(refused("{\"script\": \"x\", \"timeout\": \"5\"}").getMessage()).contains("'timeout' must be a number");
    assertThat(refused("{\"script\": \"x\", \"timeout\": true}").getMessage()).contains("'timeout' must be a number");
  }

  @Test
  void refusesTimeoutOutOfRange() {
    assertThat(refused("{\"script\": \"x\", \"timeout\": 0}").getMessage()).contains("greater than 0 and at most 30");
    assertThat(refused("{\"script\": \"x\", \"timeout\": -1}").status()).isEqualTo(400);
    assertThat(refused("{\"script\": \"x\", \"timeout\": 30.001}").status()).isEqualTo(400);
    assertThat(refused("{\"script\": \"x\", \"timeout\": 1e400}").status()).isEqualTo(400);
  }

  @Test
  void refusesInvalidUtf8() {
    byte[] body = {'{', '"', 's', 'c', 'r', 'i', 'p', 't', '"', ':', '"', (byte) 0xff, '"', '}'};
    ApiError error = assertThrows(ApiError.class, () -> parser.parse(body));
    assertThat(error.getMessage()).contains("UTF-8");
  }

  @Test
  void survivesDeeplyNestedJson() {
    ApiError error = refused("[".repeat(100_000));
    assertThat(error.status()).isEqualTo(400);
  }
}
