"""Runs one caller script inside the jail and reports how it ended.

Protocol with the Java side (Jail):
  * stdin: one header line "<nonce> <cpu_seconds> <result_limit>", then the script as UTF-8,
    then EOF. The jail can be started (and its libraries imported) before the script exists.
  * fd 1: the script's stdout, passed straight through, unbuffered so that Python prints and
    writes of child processes keep their order. The runner ends it with
    "\x1ePYEXEC-END <nonce>\n" just before the result frame.
  * fd 2 at start-up: the result channel. It is moved to a high, close-on-exec descriptor and
    fd 2 is pointed at /dev/null, so nothing the script prints or writes to stderr reaches it.
    The runner writes a ready line once it waits for its script, then one result frame
        \\x1ePYEXEC <nonce> <json>\\n
    and the Java side only believes a frame carrying its own nonce, so blind writes to stray
    descriptors cannot forge or corrupt it.

Start-up cost is paid by every execution, so this file imports only what every execution
needs: the built-in posix module rather than os (which pulls in stat, posixpath and
_collections_abc, about 2 ms), and json, traceback and inspect (which pull in re, enum,
tokenize...) only on the paths that use them. Python runs with -S, so the site-packages path is
added here. The server runs this file compiled (runner.pyc), so it is not compiled per run.
"""
import sys
import posix
import resource

# The script may replace these; the runner keeps its own references.
_write = posix.write
_exit = posix._exit
CHANNEL_FD = 200

FRAME_MARK = b"\x1ePYEXEC "
SCRIPT_NAME = "<script>"
MODULE_NAME = "__script__"


def _take_channel():
    # A high descriptor, closed on exec, that scripts are unlikely to write to by accident.
    chan = posix.dup2(2, CHANNEL_FD, inheritable=False)
    devnull = posix.open("/dev/null", posix.O_WRONLY)
    posix.dup2(devnull, 2)
    posix.close(devnull)
    return chan


def _is_dir(path):
    try:
        return posix.stat(path).st_mode & 0o170000 == 0o040000
    except OSError:
        return False


# Set by prepare(): the descriptor result frames go to.
CHANNEL = -1


def _add_dist_packages():
    for path in ("/usr/lib/python3/dist-packages", "/usr/lib/python3.%d/dist-packages" % sys.version_info[1]):
        if path not in sys.path and _is_dir(path):
            sys.path.append(path)


import io  # noqa: E402  (loaded by the interpreter already)
import builtins  # noqa: E402


def _quit(code=None):
    raise SystemExit(code)


# -S skips site, which is what defines exit() and quit(); scripts use them.
builtins.exit = builtins.quit = _quit


def _write_channel(data):
    view = memoryview(data)
    while view:
        written = _write(CHANNEL, view)
        view = view[written:]


def _send(nonce, frame):
    # A str frame is the already-encoded result (ASCII JSON), sent without encoding it twice.
    if isinstance(frame, str):
        body = '{"status":"ok","result":%s}' % frame
    else:
        body = _encode(frame)
    # The leading newline ends any partial line a script wrote blindly to the channel.
    _write_channel(b"\n" + FRAME_MARK + nonce.encode() + b" " + body.encode("ascii") + b"\n")


def _finish(nonce, frame):
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        # Tells the server stdout is complete, without waiting for the jail to close the pipe.
        _write(1, b"\x1ePYEXEC-END " + nonce.encode() + b"\n")
    except OSError:
        pass  # the script closed or redirected fd 1: the server waits for the pipe to close
    try:
        _send(nonce, frame)
    except BaseException:  # noqa: B902 - a frame that cannot be encoded still ends the run
        _send(nonce, {"status": "error", "kind": "exception", "type": "RunnerError",
                      "message": "the outcome could not be reported", "traceback": None})
    # _exit: atexit hooks and non-daemon threads of the script must not run on.
    _exit(0)


class _NotSerializable(Exception):
    pass


def _reject(value):
    cls = type(value)
    name = cls.__qualname__ if cls.__module__ == "builtins" else cls.__module__ + "." + cls.__qualname__
    raise _NotSerializable(name)


def _make_encoder():
    """Strict JSON (RFC 8259) with the C encoder json.dumps uses, without importing json (and re)."""
    try:
        from _json import make_encoder, encode_basestring_ascii
        encoder = make_encoder({}, _reject, encode_basestring_ascii, None, ":", ",", False, False, False)

        def encode(value):
            return "".join(encoder(value, 0))
        encode(["probe", 1, 2.5, None, True, {"k": [1]}])
        return encode
    except Exception:
        import json

        def encode(value):
            return json.dumps(value, allow_nan=False, ensure_ascii=True, default=_reject, separators=(",", ":"))
        return encode


_encode = _make_encoder()


_SOURCE = ""


def _traceback_text(exc):
    """Traceback text with the runner's own frames cut off, showing the script's lines."""
    import linecache
    import traceback
    linecache.cache[SCRIPT_NAME] = (len(_SOURCE), None, _SOURCE.splitlines(True), SCRIPT_NAME)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != SCRIPT_NAME:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _safe_str(exc):
    try:
        text = str(exc)
        if isinstance(text, str):
            return text
    except BaseException:  # noqa: B902 - a hostile __str__ must not take the runner down
        pass
    return "<message could not be rendered>"


def _exception_frame(exc, phase):
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            code = "0"
        elif isinstance(code, int):
            code = str(int(code)) if -2**63 <= code < 2**63 else "<a very large int>"
        else:
            code = repr(_safe_str(code))
        return {"status": "error", "kind": "exit", "phase": phase, "code": code}
    message = _safe_str(exc)
    if isinstance(exc, MemoryError) and not message:
        message = "out of memory"
    try:
        trace = _traceback_text(exc)
    except BaseException:  # noqa: B902
        trace = "%s: %s\n" % (type(exc).__name__, message[:65536])
    # Cut both: a script must not blow up the answer with a huge message.
    if len(message) > 65536:
        message = message[:65536] + "... [cut: %d characters in all]" % len(message)
    if len(trace) > 262144:
        trace = "... [cut]\n" + trace[-262144:]
    return {"status": "error", "kind": "exception", "phase": phase, "type": type(exc).__name__,
            "message": message, "traceback": trace}


def _required_parameters(fn):
    code = getattr(fn, "__code__", None)
    if code is not None and type(fn).__name__ == "function":
        positional = code.co_varnames[:code.co_argcount]
        with_defaults = len(fn.__defaults__ or ())
        required = list(positional[:len(positional) - with_defaults])
        keyword_only = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
        required += [name for name in keyword_only if name not in (fn.__kwdefaults__ or {})]
        return required
    import inspect
    try:
        params = list(inspect.signature(fn).parameters.values())
    except BaseException:  # noqa: B902 - an odd callable: let the call itself say what is wrong
        return []
    return [p.name for p in params
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]


def _encode_result(value, limit):
    try:
        text = _encode(value)
    except _NotSerializable as e:
        return None, {"status": "error", "kind": "not_serializable", "type": str(e),
                      "message": "main() returned a value that is not JSON-serializable: "
                                 "object of type %s" % e}
    except ValueError as e:
        message = str(e)
        if "Circular" in message:
            message = "main() returned a value that is not JSON-serializable: it contains a circular reference"
        else:
            # allow_nan is off: NaN and Infinity are not JSON (RFC 8259).
            message = ("main() returned a value that is not valid JSON: %s "
                       "(NaN and Infinity have no JSON form)" % message)
        return None, {"status": "error", "kind": "not_serializable", "type": "float", "message": message}
    except RecursionError:
        return None, {"status": "error", "kind": "not_serializable", "type": "recursive",
                      "message": "main() returned a value that is not JSON-serializable: "
                                 "it is nested too deeply"}
    except TypeError as e:
        # dict keys that are not str/int/float/bool/None end up here.
        return None, {"status": "error", "kind": "not_serializable", "type": "key",
                      "message": "main() returned a value that is not JSON-serializable: %s" % e}
    if len(text) > limit:
        return None, {"status": "error", "kind": "result_too_large",
                      "message": "main() returned %d bytes of JSON, over the %d-byte limit"
                                 % (len(text), limit)}
    return text, None


def _syntax_error_frame(e):
    line = getattr(e, "lineno", None)
    kind_name = type(e).__name__
    detail = getattr(e, "msg", None) or _safe_str(e)
    where = " (line %d)" % line if line else ""
    try:
        import traceback
        trace = "".join(traceback.format_exception_only(type(e), e))
    except Exception:
        trace = None
    return {"status": "error", "kind": "syntax", "type": kind_name, "line": line,
            "message": "%s: %s%s" % (kind_name, detail, where), "traceback": trace}


def _run(nonce, source, result_limit):
    try:
        code = compile(source, SCRIPT_NAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        _finish(nonce, _syntax_error_frame(e))

    global _SOURCE
    _SOURCE = source
    module = type(sys)(MODULE_NAME)
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
        if type(value).__name__ == "coroutine" and hasattr(value, "send"):
            import asyncio
            value = asyncio.run(value)
    except BaseException as e:  # noqa: B902
        _finish(nonce, _exception_frame(e, "main"))

    text, problem = _encode_result(value, result_limit)
    if problem is not None:
        _finish(nonce, problem)
    _finish(nonce, text)


def _limit_cpu(seconds):
    # The jail may have waited in the warm pool: the CPU budget starts now.
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    wanted = spent + seconds
    if hard == resource.RLIM_INFINITY or wanted < hard:
        # The hard limit too, so the script cannot raise its own budget back up.
        resource.setrlimit(resource.RLIMIT_CPU, (wanted, wanted + 1))


def _reopen_stdio():
    # The script sees an empty stdin and an unbuffered UTF-8 stdout.
    fd = posix.open("/dev/null", posix.O_RDONLY)
    posix.dup2(fd, 0)
    posix.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin


def _read_request():
    raw = sys.stdin.buffer.read()
    newline = raw.index(b"\n")
    nonce, cpu_seconds, result_limit = raw[:newline].decode("ascii").split(" ")
    return nonce, int(cpu_seconds), int(result_limit), raw[newline + 1:].decode("utf-8", "replace")


def prepare(preloads):
    """Sets sys.path and imports the preloads. A template calls this once, before it forks;
    a one-shot jail at its start. Importing this module does nothing yet."""
    _add_dist_packages()
    for name in preloads:
        if name:
            __import__(name)


def take_channel():
    """fd 2 becomes the result channel (moved to a high, close-on-exec descriptor)."""
    global CHANNEL
    CHANNEL = _take_channel()


def serve():
    """Runs the one job that arrives on fd 0 and exits. fd 1 is the script's stdout; the
    channel must have been taken."""
    _write_channel(b"\x1ePYEXEC-READY\n")
    nonce, cpu_seconds, result_limit, source = _read_request()
    _limit_cpu(cpu_seconds)
    _reopen_stdio()
    try:
        _run(nonce, source, result_limit)
    except BaseException as e:  # noqa: B902 - whatever went wrong is reported, never lost
        _finish(nonce, {"status": "error", "kind": "exception", "phase": "main", "type": "RunnerError",
                        "message": "the runner failed while reporting the outcome: %s" % type(e).__name__,
                        "traceback": None})


def main():
    take_channel()
    prepare(sys.argv[1].split(",") if len(sys.argv) > 1 else [])
    serve()


if __name__ == "__main__":
    main()
