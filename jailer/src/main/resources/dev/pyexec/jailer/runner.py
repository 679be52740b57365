"""Runs one caller script inside the jail and reports how it ended.

Protocol with the Java side (NsjailLauncher / Jail):
  * stdin: one JSON object {"nonce": str, "script": str}, then EOF. The jail can
    be started (and its libraries imported) before the script exists.
  * fd 1: the script's stdout, passed straight through, unbuffered so that
    Python prints and writes of child processes keep their order.
  * fd 2 at start-up: the result channel. It is moved to a high, close-on-exec
    descriptor and fd 2 is pointed at /dev/null, so nothing the script prints or
    writes to stderr can reach the channel. The single result frame is
        \\x1ePYEXEC <nonce> <json>\\n
    and the Java side only believes a frame carrying its own nonce, so blind
    writes to stray descriptors cannot forge or corrupt it.
"""
import sys
import os
import fcntl

FRAME_MARK = b"\x1ePYEXEC "
SCRIPT_NAME = "<script>"
MODULE_NAME = "__script__"


def _take_channel():
    chan = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, 200)
    devnull = os.open("/dev/null", os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    return chan


CHANNEL = _take_channel()

import io  # noqa: E402  (after the channel is safe)
import json  # noqa: E402
import types  # noqa: E402
import inspect  # noqa: E402
import linecache  # noqa: E402
import traceback  # noqa: E402


def _preload(names):
    for name in names:
        if name:
            __import__(name)


def _send(nonce, frame):
    # A str frame is the already-encoded result (ASCII JSON), sent without encoding it twice.
    body = ('{"status":"ok","result":%s}' % frame) if isinstance(frame, str) else json.dumps(frame, ensure_ascii=True)
    data = FRAME_MARK + nonce.encode() + b" " + body.encode("ascii") + b"\n"
    view = memoryview(data)
    while view:
        written = os.write(CHANNEL, view)
        view = view[written:]


def _finish(nonce, frame):
    try:
        sys.stdout.flush()
    except Exception:
        pass
    _send(nonce, frame)
    # os._exit: atexit hooks and non-daemon threads of the script must not run on.
    os._exit(0)


def _script_traceback(exc):
    """Traceback text with the runner's own frames cut off."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != SCRIPT_NAME:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _exception_frame(exc, phase):
    if isinstance(exc, SystemExit):
        return {"status": "error", "kind": "exit", "phase": phase, "code": _exit_code_text(exc.code)}
    message = str(exc)
    if isinstance(exc, MemoryError) and not message:
        message = "out of memory"
    return {
        "status": "error",
        "kind": "exception",
        "phase": phase,
        "type": type(exc).__name__,
        "message": message,
        "traceback": _script_traceback(exc),
    }


def _exit_code_text(code):
    if code is None or isinstance(code, int):
        return 0 if code is None else code
    return str(code)


def _required_parameters(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]


class _NotSerializable(Exception):
    pass


def _reject(value):
    raise _NotSerializable(type(value).__module__ + "." + type(value).__qualname__
                           if type(value).__module__ not in ("builtins",) else type(value).__qualname__)


def _encode_result(value, limit):
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=True, default=_reject, separators=(",", ":"))
    except _NotSerializable as e:
        return None, {"status": "error", "kind": "not_serializable", "type": str(e),
                      "message": "main() returned a value that is not JSON-serializable: "
                                 "object of type %s" % e}
    except ValueError as e:
        # allow_nan=False: NaN and Infinity are not JSON (RFC 8259).
        return None, {"status": "error", "kind": "not_serializable", "type": "float",
                      "message": "main() returned a value that is not valid JSON: %s "
                                 "(NaN and Infinity have no JSON form)" % e}
    except RecursionError:
        return None, {"status": "error", "kind": "not_serializable", "type": "recursive",
                      "message": "main() returned a value that is not JSON-serializable: "
                                 "it contains a circular reference or is nested too deeply"}
    except TypeError as e:
        # dict keys that are not str/int/float/bool/None end up here.
        return None, {"status": "error", "kind": "not_serializable", "type": "key",
                      "message": "main() returned a value that is not JSON-serializable: %s" % e}
    if len(text) > limit:
        return None, {"status": "error", "kind": "result_too_large",
                      "message": "main() returned %d bytes of JSON, over the %d-byte limit"
                                 % (len(text), limit)}
    return text, None


def _run(nonce, source, result_limit):
    linecache.cache[SCRIPT_NAME] = (len(source), None, source.splitlines(True), SCRIPT_NAME)
    try:
        code = compile(source, SCRIPT_NAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None)
        kind_name = type(e).__name__
        detail = getattr(e, "msg", None) or str(e)
        where = " (line %d)" % line if line else ""
        _finish(nonce, {"status": "error", "kind": "syntax", "type": kind_name, "line": line,
                        "message": "%s: %s%s" % (kind_name, detail, where),
                        "traceback": "".join(traceback.format_exception_only(type(e), e))})

    module = types.ModuleType(MODULE_NAME)
    module.__file__ = SCRIPT_NAME
    sys.modules[MODULE_NAME] = module
    try:
        exec(code, module.__dict__)
    except BaseException as e:  # noqa: B902 - everything the script raises is reported
        _finish(nonce, _exception_frame(e, "import"))

    main = module.__dict__.get("main")
    if main is None:
        _finish(nonce, {"status": "error", "kind": "no_main",
                        "message": "The script does not define a main() function"})
    if not callable(main):
        _finish(nonce, {"status": "error", "kind": "no_main",
                        "message": "main is not callable (it is a %s); define def main(): ..."
                                   % type(main).__name__})
    required = _required_parameters(main)
    if required:
        _finish(nonce, {"status": "error", "kind": "no_main",
                        "message": "main() must take no arguments, but it requires: %s" % ", ".join(required)})

    try:
        value = main()
        if inspect.iscoroutine(value):
            import asyncio
            value = asyncio.run(value)
    except BaseException as e:  # noqa: B902
        _finish(nonce, _exception_frame(e, "main"))

    text, problem = _encode_result(value, result_limit)
    if problem is not None:
        _finish(nonce, problem)
    _finish(nonce, text)


def _reopen_stdio():
    # The script sees an empty stdin and an unbuffered UTF-8 stdout.
    fd = os.open("/dev/null", os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin


def _limit_cpu(seconds):
    # The jail may have waited in the warm pool: the CPU budget starts now.
    import resource
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    wanted = spent + seconds
    if hard == resource.RLIM_INFINITY or wanted < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (wanted, hard))


def _signal_ready():
    os.write(CHANNEL, b"\x1ePYEXEC-READY\n")


def main():
    _preload(sys.argv[1].split(",") if len(sys.argv) > 1 else [])
    _signal_ready()
    raw = sys.stdin.buffer.read()
    request = json.loads(raw)
    del raw
    _limit_cpu(int(request["cpu_seconds"]))
    _reopen_stdio()
    _run(request["nonce"], request["script"], int(request["result_limit"]))


if __name__ == "__main__":
    main()
