package dev.pyexec.jailer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;

/** Puts what a jail reported into the words of SPEC's error table. */
final class OutcomeClassifier {
  private static final int SIGKILL = 9;
  private static final int SIGXCPU = 24;
  private static final int SIGXFSZ = 25;

  private final SandboxSettings settings;
  private final SandboxProfile profile;

  OutcomeClassifier(SandboxSettings settings, SandboxProfile profile) {
    this.settings = settings;
    this.profile = profile;
  }

  ExecutionOutcome classify(RawRun run, Duration timeout) {
    if (run.timedOut()) {
      return failure(run, Kind.TIMEOUT, "Execution timed out after " + seconds(timeout) + " s", null);
    }
    if (run.frame() != null) {
      return fromFrame(run);
    }
    if (!run.started()) {
      return sandboxFailure(run, "the jail did not start (exit code " + run.exitCode() + ")");
    }
    return fromExit(run);
  }

  private ExecutionOutcome fromFrame(RawRun run) {
    ResultFrame raw = run.frame();
    if (raw.oversize()) {
      return tampered(run);
    }
    byte[] body = raw.body();
    int newline = -1;
    for (int i = 0; i < Math.min(body.length, JobLimits.FRAME_HEADER_BYTES + 1); i++) {
      if (body[i] == '\n') {
        newline = i;
        break;
      }
    }
    if (newline < 0) {
      return tampered(run);
    }
    JsonObject frame;
    try {
      frame = JsonParser.parseString(new String(body, 0, newline, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      return tampered(run);
    }
    int at = newline + 1;
    boolean ok = "ok".equals(text(frame, "status"));
    long resultLength = ok ? number(frame, "result") : 0;
    OutputFiles files = files(frame, body, at + resultLength);
    if (resultLength < 0 || files == null) {
      return tampered(run);
    }
    if (ok) {
      ByteSlice result = new ByteSlice(body, at, (int) resultLength);
      if (!JsonText.isValidAscii(result)) {
        return tampered(run);
      }
      return new ExecutionOutcome(Kind.SUCCESS, result, null, run.stdout(), null, null, run.elapsed(), null, files);
    }
    String kind = text(frame, "kind");
    String message = text(frame, "message");
    String traceback = text(frame, "traceback");
    if (!"error".equals(text(frame, "status")) || message == null && !"exit".equals(kind)) {
      return tampered(run);
    }
    return switch (kind == null ? "" : kind) {
      case "syntax" -> failure(run, Kind.SYNTAX_ERROR, message, traceback, files);
      case "no_main" -> failure(run, Kind.NO_MAIN, message, null, files);
      case "not_serializable" -> failure(run, Kind.NOT_SERIALIZABLE, message, null, files);
      case "result_too_large" -> failure(run, Kind.RESULT_TOO_LARGE, message, null, files);
      case "exit" -> failure(run, Kind.EXITED, "The script called sys.exit(" + text(frame, "code")
          + ") " + phase(frame) + ", so main() returned no result", null, files);
      case "exception" -> failure(run, Kind.SCRIPT_ERROR, exceptionMessage(frame), traceback, files);
      default -> tampered(run);
    };
  }

  /**
   * The output files the frame lists, as slices of its body from {@code at}; null unless the
   * list and the sizes account for the body's bytes exactly and stay within the caps.
   */
  private static OutputFiles files(JsonObject frame, byte[] body, long at) {
    if (at > body.length) {
      return null;
    }
    List<OutputFile> files = new ArrayList<>();
    JsonElement list = frame.get("files");
    if (list != null) {
      if (!list.isJsonArray() || list.getAsJsonArray().size() > JobLimits.OUTPUT_FILES) {
        return null;
      }
      for (JsonElement element : list.getAsJsonArray()) {
        if (!element.isJsonObject()) {
          return null;
        }
        String path = text(element.getAsJsonObject(), "path");
        long size = number(element.getAsJsonObject(), "size");
        if (path == null || size < 0 || at + size > body.length) {
          return null;
        }
        files.add(new OutputFile(path, new ByteSlice(body, (int) at, (int) size)));
        at += size;
      }
    }
    if (at != body.length) {
      return null;
    }
    JsonElement truncated = frame.get("files_truncated");
    return new OutputFiles(files, truncated != null && truncated.isJsonPrimitive()
        && truncated.getAsJsonPrimitive().isBoolean() && truncated.getAsBoolean());
  }

  /** A non-negative whole number field, or -1. */
  private static long number(JsonObject object, String key) {
    JsonElement value = object.get(key);
    if (value == null || !value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber()) {
      return -1;
    }
    try {
      return Math.max(-1, new BigDecimal(value.getAsString()).longValueExact());
    } catch (ArithmeticException | NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Only code inside the jail can know the nonce, so a frame that is not one the runner writes
   * was forged by the script: its fault, not the server's.
   */
  private ExecutionOutcome tampered(RawRun run) {
    return failure(run, Kind.SCRIPT_ERROR,
        "The script tampered with the sandbox's result report, so its outcome is unknown", null);
  }

  private String exceptionMessage(JsonObject frame) {
    String type = text(frame, "type");
    String detail = text(frame, "message");
    StringBuilder message = new StringBuilder(type);
    if (detail != null && !detail.isEmpty()) {
      message.append(": ").append(detail);
    }
    String hint = limitHint(type, detail == null ? "" : detail);
    if (hint != null) {
      message.append(" (").append(hint).append(')');
    }
    if ("import".equals(text(frame, "phase"))) {
      message.append(" [raised while loading the script, before main() was called]");
    }
    return message.toString();
  }

  /** Names the sandbox limit behind an exception, where the exception makes it clear. */
  private String limitHint(String type, String detail) {
    if ("MemoryError".equals(type)) {
      return "the memory limit is " + settings.memoryMb() + " MiB";
    }
    if (detail.contains("[Errno 27]")) {
      return "files a script writes are limited to " + settings.maxFileMb() + " MiB";
    }
    if (detail.contains("[Errno 28]")) {
      return "the private /tmp holds " + settings.tmpfsMb() + " MiB";
    }
    if (detail.contains("[Errno 12]") && profile.cgroups() == CgroupMode.NONE) {
      return "the memory limit is " + settings.memoryMb() + " MiB of address space";
    }
    if (detail.contains("can't start new thread") && profile.cgroups() == CgroupMode.NONE) {
      // pthread_create says EAGAIN both when RLIMIT_NPROC is reached and when the new stack's
      // mapping does not fit under RLIMIT_AS: without cgroups either limit may have run out.
      return "a script may run at most " + settings.maxProcesses() + " processes and threads, and"
          + " without cgroups here each thread's stack also counts against the " + settings.memoryMb()
          + " MiB address-space limit";
    }
    if (detail.contains("can't start new thread") || detail.contains("[Errno 11]")) {
      // With cgroups no address-space limit is set: only the process limit stops a new task.
      return "a script may run at most " + settings.maxProcesses() + " processes and threads";
    }
    return null;
  }

  private ExecutionOutcome fromExit(RawRun run) {
    int code = run.exitCode();
    if (code > 128) {
      int signal = code - 128;
      if (signal == SIGXCPU) {
        return failure(run, Kind.LIMIT_EXCEEDED,
            "The script was killed for exceeding its CPU time limit (the timeout plus one second)", null);
      }
      if (signal == SIGXFSZ) {
        return failure(run, Kind.LIMIT_EXCEEDED, "The script was killed for writing a file over the "
            + settings.maxFileMb() + " MiB limit", null);
      }
      if (signal == SIGKILL) {
        String why = profile.cgroups() != CgroupMode.NONE
            ? "for exceeding the memory limit (" + settings.memoryMb() + " MiB)"
            : "(SIGKILL), most likely for exceeding the memory limit (" + settings.memoryMb() + " MiB)";
        return failure(run, Kind.LIMIT_EXCEEDED, "The script was killed " + why
            + " before main() returned", null);
      }
      return failure(run, Kind.EXITED, "The script was killed by signal " + signalName(signal)
          + " before main() returned", null);
    }
    if (code < 0) {
      return sandboxFailure(run, "the jail did not exit after its result channel closed");
    }
    return failure(run, Kind.EXITED, "The script exited (exit code " + code
        + ") before main() returned a result, e.g. by os._exit() or by closing the result channel", null);
  }

  private ExecutionOutcome failure(RawRun run, Kind kind, String message, String traceback) {
    return failure(run, kind, message, traceback, OutputFiles.NONE);
  }

  private ExecutionOutcome failure(RawRun run, Kind kind, String message, String traceback, OutputFiles files) {
    return new ExecutionOutcome(kind, null, message, run.stdout(), traceback, null, run.elapsed(), null, files);
  }

  private ExecutionOutcome sandboxFailure(RawRun run, String detail) {
    return ExecutionOutcome.sandboxFailure(run.stdout(),
        detail + (run.diagnostics().isEmpty() ? "" : "; nsjail: " + run.diagnostics().strip()), run.elapsed());
  }

  private static String phase(JsonObject frame) {
    return "import".equals(text(frame, "phase")) ? "while loading the script" : "in main()";
  }

  private static String text(JsonObject frame, String key) {
    return frame.has(key) && frame.get(key).isJsonPrimitive() ? frame.get(key).getAsString() : null;
  }

  static String seconds(Duration timeout) {
    return BigDecimal.valueOf(timeout.toMillis()).movePointLeft(3).stripTrailingZeros().toPlainString();
  }

  private static String signalName(int signal) {
    return switch (signal) {
      case 6 -> "SIGABRT";
      case 7 -> "SIGBUS";
      case 8 -> "SIGFPE";
      case 11 -> "SIGSEGV";
      case 15 -> "SIGTERM";
      default -> "number " + signal;
    };
  }
}
