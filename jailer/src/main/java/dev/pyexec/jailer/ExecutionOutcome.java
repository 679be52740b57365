package dev.pyexec.jailer;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.time.Duration;

/**
 * How one execution ended, in the classes of SPEC's error table.
 *
 * @param resultJson main()'s return value as the runner encoded it: strict ASCII JSON, checked,
 *     passed through untouched (SUCCESS only); a slice of the frame it arrived in, not a copy
 * @param message what went wrong, in words for the caller (null on SUCCESS)
 * @param traceback the script's traceback where it raised, else null
 * @param internalDetail for the server log only, never the caller (sandbox failures)
 * @param jailSource "template" when a child forked from a template ran it, "cold" when a one-shot
 *     jail was started for it, "none" when no jail ran
 * @param files what the script left under /tmp/output/ (on success and on the errors the script
 *     caused; none after a timeout or a kill)
 */
public record ExecutionOutcome(
    Kind kind,
    ByteSlice resultJson,
    String message,
    CapturedOutput stdout,
    String traceback,
    String internalDetail,
    Duration elapsed,
    String jailSource,
    OutputFiles files) {

  public enum Kind {
    SUCCESS,
    SYNTAX_ERROR,
    NO_MAIN,
    SCRIPT_ERROR,
    NOT_SERIALIZABLE,
    RESULT_TOO_LARGE,
    EXITED,
    LIMIT_EXCEEDED,
    TIMEOUT,
    SANDBOX_FAILURE,
    SANDBOX_UNAVAILABLE
  }

  /** The sandbox itself failed: the caller is told so without internals, the log gets the detail. */
  public static ExecutionOutcome sandboxFailure(CapturedOutput stdout, String detail, Duration elapsed) {
    return new ExecutionOutcome(Kind.SANDBOX_FAILURE, null,
        "The sandbox failed to run the script; this is a server fault, not the script's",
        stdout, null, detail, elapsed, null, OutputFiles.NONE);
  }

  public static ExecutionOutcome sandboxUnavailable(String detail) {
    return new ExecutionOutcome(Kind.SANDBOX_UNAVAILABLE, null,
        "The sandbox is not available on this instance; try again later", CapturedOutput.EMPTY,
        null, detail, Duration.ZERO, "none", OutputFiles.NONE);
  }

  public ExecutionOutcome withJailSource(String source) {
    return new ExecutionOutcome(kind, resultJson, message, stdout, traceback, internalDetail, elapsed, source,
        files);
  }

  /** The result as a Gson tree, for callers that inspect it (integers past 64 bits may become strings). */
  public JsonElement result() {
    return resultJson == null ? null : JsonParser.parseString(resultJson.text());
  }
}
