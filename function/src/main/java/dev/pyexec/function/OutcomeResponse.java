package dev.pyexec.function;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.pyexec.jailer.ExecutionOutcome;
import dev.pyexec.jailer.ExecutionOutcome.Kind;

/**
 * The HTTP status and JSON body for how an execution ended (SPEC section 1's table).
 *
 * @param json the body; a result goes in exactly as the runner encoded it (already checked as
 *     strict JSON), so integers of any size stay numbers
 */
record OutcomeResponse(int status, String kind, String json) {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  static OutcomeResponse of(ExecutionOutcome outcome) {
    JsonObject body = new JsonObject();
    if (outcome.kind() == Kind.SUCCESS) {
      addStdout(body, outcome);
      String rest = GSON.toJson(body);
      String result = outcome.resultJson() == null ? "null" : outcome.resultJson();
      return new OutcomeResponse(200, "success", "{\"result\":" + result + "," + rest.substring(1));
    }
    body.addProperty("error", outcome.message());
    String kind = kindName(outcome.kind());
    body.addProperty("kind", kind);
    if (outcome.kind() != Kind.SANDBOX_FAILURE && outcome.kind() != Kind.SANDBOX_UNAVAILABLE) {
      addStdout(body, outcome);
    }
    if (outcome.traceback() != null) {
      body.addProperty("traceback", outcome.traceback());
    }
    return new OutcomeResponse(status(outcome.kind()), kind, GSON.toJson(body));
  }

  private static void addStdout(JsonObject body, ExecutionOutcome outcome) {
    body.addProperty("stdout", outcome.stdout().text());
    if (outcome.stdout().truncated()) {
      body.addProperty("stdout_truncated", true);
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

  /** Stable, machine-readable names for the error classes, documented in README. */
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
