package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class JsonOutTest {
  private static String write(JsonOutAction action) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    JsonOut out = new JsonOut(bytes);
    action.apply(out);
    out.flush();
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private interface JsonOutAction {
    void apply(JsonOut out) throws IOException;
  }

  @Test
  void stringsRoundTripThroughAJsonParser() throws IOException {
    String text = "quote \" backslash \\ newline \n tab \t nul \u0000 e\u0301 \u20ac \ud83d\ude00 <tag> \u2028"
        + "x".repeat(20000);
    String json = write(out -> out.string(text));
    assertThat(JsonParser.parseString(json).getAsString()).isEqualTo(text);
  }

  @Test
  void aLoneSurrogateBecomesTheReplacementCharacter() throws IOException {
    assertThat(JsonParser.parseString(write(out -> out.string("a\ud800b"))).getAsString()).isEqualTo("a\ufffdb");
  }

  @Test
  void base64IsStandardAndChunkedWithoutPaddingInTheMiddle() throws IOException {
    byte[] data = new byte[100_001];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31);
    }
    String json = write(out -> out.base64(data, 1, data.length - 1));
    byte[] decoded = Base64.getDecoder().decode(JsonParser.parseString(json).getAsString());
    assertThat(decoded).isEqualTo(java.util.Arrays.copyOfRange(data, 1, data.length));
  }
}
