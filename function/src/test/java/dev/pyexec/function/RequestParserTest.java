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

  @Test
  void takesStdinAsUtf8Bytes() throws ApiError {
    assertThat(new String(parse("{\"script\": \"x\", \"stdin\": \"1 2\\n\u00e9\"}").stdin(), StandardCharsets.UTF_8))
        .isEqualTo("1 2\n\u00e9");
  }

  @Test
  void stdinOverItsLimitIs413() {
    ApiError error = refused("{\"script\": \"x\", \"stdin\": \"" + "a".repeat((1 << 20) + 1) + "\"}");
    assertThat(error.status()).isEqualTo(413);
    assertThat(error.getMessage()).contains("'stdin'");
  }

  @Test
  void takesTextAndBase64Files() throws ApiError {
    ExecuteRequest request = parse("{\"script\": \"x\", \"files\": [{\"path\": \"data/in.csv\", \"content\": \"a,b\"},"
        + " {\"path\": \"raw.bin\", \"content_base64\": \"AAEC\"}]}");
    assertThat(request.files()).hasSize(2);
    assertThat(request.files().get(0).path()).isEqualTo("data/in.csv");
    assertThat(new String(request.files().get(0).content(), StandardCharsets.UTF_8)).isEqualTo("a,b");
    assertThat(request.files().get(1).content()).isEqualTo(new byte[] {0, 1, 2});
  }

  private ApiError refusedFile(String path) {
    return refused("{\"script\": \"x\", \"files\": [{\"path\": \"" + path + "\", \"content\": \"\"}]}");
  }

  @Test
  void pathsThatLeaveTmpAreRefusedNamingTheFile() {
    for (String path : new String[] {"/etc/passwd", "../escape", "a/../../escape", "a/./b", "a//b", "a/", "",
        "output/x", "output", "back\\\\slash"}) {
      ApiError error = refusedFile(path);
      assertThat(error.status()).isEqualTo(400);
      assertThat(error.kind()).isEqualTo("invalid_request");
      assertThat(error.getMessage()).contains("files[0]");
    }
  }

  @Test
  void duplicatePathsAreRefused() {
    ApiError error = refused("{\"script\": \"x\", \"files\": [{\"path\": \"a.txt\", \"content\": \"1\"},"
        + " {\"path\": \"a.txt\", \"content\": \"2\"}]}");
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.getMessage()).contains("'a.txt' is given twice");
  }

  @Test
  void aFileCannotAlsoBeADirectory() {
    ApiError error = refused("{\"script\": \"x\", \"files\": [{\"path\": \"a\", \"content\": \"1\"},"
        + " {\"path\": \"a/b\", \"content\": \"2\"}]}");
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.getMessage()).contains("'a/b'");
  }

  @Test
  void aFileNeedsExactlyOneContent() {
    assertThat(refused("{\"script\": \"x\", \"files\": [{\"path\": \"a\"}]}").getMessage()).contains("exactly one");
    assertThat(refused("{\"script\": \"x\", \"files\": [{\"path\": \"a\", \"content\": \"1\", \"content_base64\": \"MQ==\"}]}")
        .getMessage()).contains("exactly one");
  }

  @Test
  void invalidBase64IsRefusedNamingTheFile() {
    ApiError error = refused("{\"script\": \"x\", \"files\": [{\"path\": \"a.bin\", \"content_base64\": \"!!\"}]}");
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.getMessage()).contains("'a.bin'");
  }

  @Test
  void moreThan64FilesIs413() {
    StringBuilder body = new StringBuilder("{\"script\": \"x\", \"files\": [");
    for (int i = 0; i < 65; i++) {
      body.append(i == 0 ? "" : ",").append("{\"path\": \"f").append(i).append("\", \"content\": \"\"}");
    }
    ApiError error = refused(body.append("]}").toString());
    assertThat(error.status()).isEqualTo(413);
  }

  @Test
  void filesOverEightMibDecodedAre413NamingWhereTheLimitWasReached() {
    String half = "a".repeat(4 << 20);
    ApiError error = refused("{\"script\": \"x\", \"files\": [{\"path\": \"one\", \"content\": \"" + half + "\"},"
        + " {\"path\": \"two\", \"content\": \"" + half + "b\"}]}");
    assertThat(error.status()).isEqualTo(413);
    assertThat(error.getMessage()).contains("'two'");
  }

  @Test
  void unknownFieldsOfAFileAreRefused() {
    ApiError error = refused("{\"script\": \"x\", \"files\": [{\"path\": \"a\", \"content\": \"\", \"mode\": 493}]}");
    assertThat(error.getMessage()).contains("unknown field 'mode'");
  }
}
