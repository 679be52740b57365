package dev.pyexec.jailer;

/**
 * Checks that text is one strict JSON value (RFC 8259) without building it. Results pass through
 * as the runner encoded them, so integers of any size stay numbers (Gson's reader turns
 * integers past 64 bits into strings or refuses them) and big results are not parsed twice.
 */
final class JsonText {
  private final CharSequence text;
  private int pos;

  private JsonText(CharSequence text) {
    this.text = text;
  }

  static boolean isValid(String text) {
    return check(text);
  }

  /**
   * The runner's result bytes, checked where they lie (no String copy). The runner escapes to
   * ASCII, so any other byte is refused: what passes is valid UTF-8 as it is.
   */
  static boolean isValidAscii(ByteSlice bytes) {
    return check(new AsciiView(bytes));
  }

  private static boolean check(CharSequence text) {
    JsonText parser = new JsonText(text);
    try {
      parser.whitespace();
      parser.value();
      parser.whitespace();
      return parser.pos == text.length();
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      return false;
    }
  }

  private boolean startsWith(String word) {
    if (pos + word.length() > text.length()) {
      return false;
    }
    for (int i = 0; i < word.length(); i++) {
      if (text.charAt(pos + i) != word.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** ASCII bytes as characters; a byte past 0x7f is an error. */
  private record AsciiView(ByteSlice bytes) implements CharSequence {
    @Override
    public int length() {
      return bytes.length();
    }

    @Override
    public char charAt(int index) {
      if (index < 0 || index >= bytes.length()) {
        throw new IndexOutOfBoundsException(index);
      }
      byte b = bytes.array()[bytes.offset() + index];
      if (b < 0) {
        throw new IllegalArgumentException("not ASCII");
      }
      return (char) b;
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String toString() {
      return bytes.text();
    }
  }

  /** Iterative over containers, so nesting depth costs memory, not stack. */
  private void value() {
    StringBuilder stack = new StringBuilder(); // '{' or '[' per open container
    while (true) {
      scalarOrOpen(stack);
      while (true) {
        if (stack.isEmpty()) {
          return;
        }
        whitespace();
        char open = stack.charAt(stack.length() - 1);
        char c = text.charAt(pos++);
        if (c == ',') {
          whitespace();
          if (open == '{') {
            key();
          }
          break;
        }
        if ((open == '{' && c == '}') || (open == '[' && c == ']')) {
          stack.setLength(stack.length() - 1);
          continue;
        }
        throw new IllegalArgumentException();
      }
    }
  }

  private void scalarOrOpen(StringBuilder stack) {
    while (true) {
      whitespace();
      char c = text.charAt(pos);
      if (c == '{' || c == '[') {
        pos++;
        whitespace();
        char close = c == '{' ? '}' : ']';
        if (text.charAt(pos) == close) {
          pos++;
          return;
        }
        stack.append(c);
        if (c == '{') {
          key();
        }
        continue;
      }
      scalar();
      return;
    }
  }

  private void key() {
    string();
    whitespace();
    expect(':');
    whitespace();
  }

  private void scalar() {
    char c = text.charAt(pos);
    if (c == '"') {
      string();
    } else if (startsWith("true")) {
      pos += 4;
    } else if (startsWith("false")) {
      pos += 5;
    } else if (startsWith("null")) {
      pos += 4;
    } else {
      number();
    }
  }

  private void string() {
    expect('"');
    while (true) {
      char c = text.charAt(pos++);
      if (c == '"') {
        return;
      }
      if (c < 0x20) {
        throw new IllegalArgumentException();
      }
      if (c == '\\') {
        char e = text.charAt(pos++);
        if (e == 'u') {
          for (int i = 0; i < 4; i++) {
            if (Character.digit(text.charAt(pos++), 16) < 0) {
              throw new IllegalArgumentException();
            }
          }
        } else if ("\"\\/bfnrt".indexOf(e) < 0) {
          throw new IllegalArgumentException();
        }
      }
    }
  }

  private void number() {
    if (text.charAt(pos) == '-') {
      pos++;
    }
    if (text.charAt(pos) == '0') {
      pos++;
    } else {
      digits();
    }
    if (pos < text.length() && text.charAt(pos) == '.') {
      pos++;
      digits();
    }
    if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
      pos++;
      if (text.charAt(pos) == '+' || text.charAt(pos) == '-') {
        pos++;
      }
      digits();
    }
  }

  private void digits() {
    int start = pos;
    while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
      pos++;
    }
    if (pos == start) {
      throw new IllegalArgumentException();
    }
  }

  private void whitespace() {
    while (pos < text.length() && " \t\r\n".indexOf(text.charAt(pos)) >= 0) {
      pos++;
    }
  }

  private void expect(char c) {
    if (text.charAt(pos++) != c) {
      throw new IllegalArgumentException();
    }
  }
}
