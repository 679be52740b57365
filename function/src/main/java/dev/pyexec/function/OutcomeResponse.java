package dev.pyexec.function;

import dev.pyexec.jailer.ByteSlice;
import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.ExecutionOutcome.Kind;
import dev.pyexec.jailer.OutputFile;
import dev.pyexec.jailer.OutputFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The HTTP status and JSON body for how an execution ended (SPEC section 1's table). The body is
 * streamed: the result goes out exactly as the runner encoded it (already checked as strict
 * JSON, so integers of any size stay numbers), and output files as base64 written chunk by
 * chunk, so the response never holds a second copy of either.
 */
record OutcomeResponse(int status, String kind, ExecutionOutcome outcome) {

  static OutcomeResponse of(ExecutionOutcome outcome) {
    String kind = outcome.kind() == Kind.SUCCESS ? "success" : kindName(outcome.kind());
    return new OutcomeResponse(status(outcome.kind()), kind, outcome);
  }

  void writeTo(OutputStream stream) throws IOException {
    JsonOut out = new JsonOut(stream);
    if (outcome.kind() == Kind.SUCCESS) {
      ByteSlice result = outcome.resultJson();
      out.raw("{\"result\":");
      if (result == null) {
        out.raw("null");
      } else {
        out.bytes(result.array(), result.offset(), result.length());
      }
      out.raw(",");
      stdout(out);
      files(out);
      out.raw("}");
      out.flush();
      return;
    }
    out.raw("{\"error\":").string(outcome.message()).raw(",\"kind\":").string(kind);
    if (outcome.kind() != Kind.SANDBOX_FAILURE && outcome.kind() != Kind.SANDBOX_UNAVAILABLE) {
      out.raw(",");
      stdout(out);
    }
    if (outcome.traceback() != null) {
      out.raw(",\"traceback\":").string(outcome.traceback());
    }
    files(out);
    out.raw("}");
    out.flush();
  }

  /** The whole body as text, for tests and small answers. */
  String json() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      writeTo(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private void stdout(JsonOut out) throws IOException {
    out.raw("\"stdout\":").string(outcome.stdout().text());
    if (outcome.stdout().truncated()) {
      out.raw(",\"stdout_truncated\":true");
    }
  }

  private void files(JsonOut out) throws IOException {
    OutputFiles files = outcome.files();
    if (files == null) {
      return;
    }
    if (!files.files().isEmpty()) {
      out.raw(",\"files\":[");
      boolean first = true;
      for (OutputFile file : files.files()) {
        ByteSlice content = file.content();
        out.raw(first ? "{\"path\":" : ",{\"path\":").string(file.path())
            .raw(",\"size\":" + content.length() + ",\"content_base64\":")
            .base64(content.array(), content.offset(), content.length()).raw("}");
        first = false;
      }
      out.raw("]");
    }
    if (files.truncated()) {
      out.raw(",\"files_truncated\":true");
    }
  }

  static int status(Kind kind) {
    return switch (kind) {
      case SUCCESS -> 200;
      case SYNTAX_ERROR, NO_MAIN, SCRIPT_ERROR, NOT_SERIALIZABLE, RESULT_TOO_LARGE, EXITED,
          LIMIT_EXCEEDED -> 400;
      case TIMEOUT -> 408;
      case SANDBOX_FAILURE -> 500;
      case SANDBOX_UNAVAILABLE -> 503;
    };
  }

  /** Stable, machine-readable names for the error classes, documented in README and OpenAPI. */
  static String kindName(Kind kind) {
    return switch (kind) {
      case SUCCESS -> "success";
      case SYNTAX_ERROR -> "syntax_error";
      case NO_MAIN -> "no_main";
      case SCRIPT_ERROR -> "script_error";
      case NOT_SERIALIZABLE -> "not_serializable";
      case RESULT_TOO_LARGE -> "result_too_large";
      case EXITED -> "exited";
      case LIMIT_EXCEEDED -> "limit_exceeded";
      case TIMEOUT -> "timeout";
      case SANDBOX_FAILURE -> "sandbox_error";
      case SANDBOX_UNAVAILABLE -> "sandbox_unavailable";
    };
  }
}
