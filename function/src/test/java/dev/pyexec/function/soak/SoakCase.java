package dev.pyexec.function.soak;

import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.function.LongFunction;

/**
 * One kind of request of the soak's mix: how to build it for a nonce, which statuses it may get
 * (besides the overload answers every request may get), and, for good scripts, how to tell the
 * right answer. Each request carries its own nonce so an answer meant for another request, or
 * from another execution's state, shows up as wrong.
 *
 * @param good whether it is a well-behaved script whose answer is checked
 * @param weight how often it appears in the mix, relative to the others
 */
record SoakCase(String name, boolean good, int weight, Set<Integer> statuses, LongFunction<byte[]> body,
    BiPredicate<Long, JsonObject> rightAnswer) {

  private static final Set<Integer> HOSTILE = Set.of(200, 400, 408);

  /**
   * The mix. A new kind is one entry here: how to build its body for a nonce, and (for good
   * scripts) how to tell its right answer.
   */
  static List<SoakCase> mix() {
    return List.of(
        good("hello", 30, n -> body("def main():\n    print('hi %d')\n    return {'n': %d}".formatted(n, n), null),
            (n, r) -> r.get("result").getAsJsonObject().get("n").getAsLong() == n
                && r.get("stdout").getAsString().equals("hi " + n + "\n")),
        good("pandas", 15, n -> body(("import pandas as pd\ndef main():\n"
                + "    df = pd.DataFrame({'a': [%d, 1, 2]})\n    return int(df['a'].sum())").formatted(n), null),
            (n, r) -> r.get("result").getAsLong() == n + 3),
        good("output", 10, n -> body(("def main():\n    for i in range(2000):\n        print(%d + i)\n"
                + "    return 'done'").formatted(n), null),
            (n, r) -> r.get("stdout").getAsString().startsWith(n + "\n")
                && r.get("stdout").getAsString().endsWith((n + 1999) + "\n")
                && r.get("stdout").getAsString().split("\n").length == 2000),
        good("files", 8, n -> withFile(body("def main():\n    data = open('data/in.txt').read()\n"
                + "    open('output/out.txt', 'w').write(data + '!')\n    return data", null), "data/in.txt", "n=" + n),
            (n, r) -> r.get("result").getAsString().equals("n=" + n)
                && r.get("files").getAsJsonArray().get(0).getAsJsonObject().get("content_base64").getAsString()
                    .equals(java.util.Base64.getEncoder().encodeToString(("n=" + n + "!").getBytes(StandardCharsets.UTF_8)))),
        expect("script_error", 8, Set.of(400), n -> body("def main():\n    raise ValueError('boom %d')".formatted(n), null)),
        expect("syntax_error", 4, Set.of(400), n -> body("def main(:\n    return %d".formatted(n), null)),
        expect("timeout", 5, Set.of(408), n -> body("import time\ndef main():\n    time.sleep(30)", 1.0)),
        expect("fork_bomb", 3, HOSTILE, n -> body("import os, time\ndef main():\n    n = 0\n    try:\n"
            + "        while True:\n            if os.fork() == 0:\n                time.sleep(60)\n"
            + "                os._exit(0)\n            n += 1\n    except OSError:\n        return n", 3.0)),
        expect("memory_bomb", 4, HOSTILE, n -> body("def main():\n    blocks = []\n    while True:\n"
            + "        blocks.append(bytearray(64 * 1024 * 1024))", 5.0)),
        expect("output_flood", 4, HOSTILE, n -> body("import sys\ndef main():\n    while True:\n"
            + "        sys.stdout.write('y' * 65536)", 2.0)),
        expect("tmp_fill", 3, HOSTILE, n -> body("def main():\n    chunk = b'x' * (1024 * 1024)\n"
            + "    for k in range(100):\n        with open('/tmp/fill%d' % k, 'wb') as f:\n"
            + "            for _ in range(8):\n                f.write(chunk)", 5.0)),
        expect("close_fds", 3, HOSTILE, n -> body("import os\ndef main():\n    os.closerange(0, 1024)\n    return 1", 3.0)),
        // Past the result cap (8 MiB): the server must refuse it without holding copies of it all.
        expect("result_over_cap", 3, Set.of(400), n -> body("def main():\n    return 'x' * (9 << 20)", 5.0)),
        // Just under the caps: an 8 MB answer and 1 MiB of stdout, the most one execution may cost the heap.
        expect("result_at_cap", 2, HOSTILE, n -> body("import sys\ndef main():\n    sys.stdout.write('y' * (1 << 20))\n"
            + "    return 'x' * ((8 << 20) - 64)", 5.0)));
  }

  private static SoakCase good(String name, int weight, LongFunction<byte[]> body, BiPredicate<Long, JsonObject> check) {
    return new SoakCase(name, true, weight, Set.of(200), body, check);
  }

  private static SoakCase expect(String name, int weight, Set<Integer> statuses, LongFunction<byte[]> body) {
    return new SoakCase(name, false, weight, statuses, body, (n, r) -> true);
  }

  static byte[] body(String script, Double timeout) {
    JsonObject body = new JsonObject();
    body.addProperty("script", script);
    if (timeout != null) {
      body.addProperty("timeout", timeout);
    }
    return body.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The body with one input file added. */
  static byte[] withFile(byte[] body, String path, String content) {
    JsonObject json = com.google.gson.JsonParser.parseString(new String(body, StandardCharsets.UTF_8)).getAsJsonObject();
    com.google.gson.JsonArray files = new com.google.gson.JsonArray();
    JsonObject file = new JsonObject();
    file.addProperty("path", path);
    file.addProperty("content", content);
    files.add(file);
    json.add("files", files);
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The timeout the request asks for, in seconds (the server's default when it names none). */
  double timeoutSeconds(double serverDefault) {
    JsonObject parsed = com.google.gson.JsonParser.parseString(
        new String(body.apply(0), StandardCharsets.UTF_8)).getAsJsonObject();
    return parsed.has("timeout") ? parsed.get("timeout").getAsDouble() : serverDefault;
  }

  /** Picks a case by weight from a number in [0, total weight). */
  static SoakCase pick(List<SoakCase> mix, int ticket) {
    int total = mix.stream().mapToInt(SoakCase::weight).sum();
    int at = Math.floorMod(ticket, total);
    for (SoakCase c : mix) {
      at -= c.weight();
      if (at < 0) {
        return c;
      }
    }
    throw new AssertionError("unreachable");
  }
}
