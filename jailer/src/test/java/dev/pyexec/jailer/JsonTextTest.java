package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertWithMessage;

import org.junit.jupiter.api.Test;

class JsonTextTest {
  @Test
  void acceptsStrictJson() {
    for (String valid : new String[] {"1", "-0.5e+10", "\"a\\u00e9\\n\"", "true", "null", "[]", "{}",
        "[1,[2,[3]],{\"a\":{\"b\":[]}}]", " { \"k\" : [ 1 , 2 ] } ",
        "100000000000000000000000000000000000000000000000000000000000", "[".repeat(5000) + "]".repeat(5000)}) {
      assertWithMessage(valid).that(JsonText.isValid(valid)).isTrue();
    }
  }

  @Test
  void refusesAnythingElse() {
    for (String invalid : new String[] {"", "NaN", "Infinity", "01", "1.", "[1,]", "{\"a\":1,}", "{a:1}",
        "'a'", "[1 2]", "\"tab\there\"", "\"\\x\"", "[", "{\"a\"}", "1 2", "tru", "[" .repeat(3) + "]"}) {
      assertWithMessage(invalid).that(JsonText.isValid(invalid)).isFalse();
    }
  }
}
