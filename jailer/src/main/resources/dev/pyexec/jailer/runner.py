"""Runs one caller script inside the jail and reports how it ended.

Protocol with the Java side (JobPayload, ResultChannel, OutputDrainer):
  * fd 0: the job, read to EOF (fd 0 may be a pipe or a socket shared with the channel, so it is
    never closed before EOF). One header line of JSON
        {"nonce": ..., "cpu_seconds": n, "result_limit": n, "script": n, "stdin": n,
         "files": [{"path": "data/in.csv", "size": n}, ...],
         "output_files": n, "output_bytes": n}
    then the raw bytes: the script (UTF-8), the stdin content, each input file in order.
    The jail can be started (and its libraries imported) before the job exists.
  * fd 1: the script's stdout, passed straight through, unbuffered so that Python prints and
    writes of child processes keep their order. The runner ends it with
    "\x1ePYEXEC-END <nonce>\n" just before the result frame.
  * fd 2 at start-up: the result channel. It is moved to a high, close-on-exec descriptor and
    fd 2 is pointed at /dev/null, so nothing the script prints or writes to stderr reaches it.
    The runner writes a ready line once it waits for its job, then one length-prefixed frame
        \n\x1ePYEXEC <nonce> <length>\n<length bytes>
    whose bytes are one line of ASCII JSON (the outcome; on success {"status":"ok","result":n}
    with the result's byte length; "files": [{"path", "size"}] for the output files), then the
    result's JSON bytes, then each output file's bytes. The Java side only believes a frame
    carrying its own nonce, so blind writes to stray descriptors cannot forge or corrupt it.
  * Before the script is loaded: /tmp/output/ exists and is empty, the input files are written
    under /tmp, and fd 0 is a fresh descriptor holding the stdin content. When the runner
    reports (success, or an error the script caused), it collects the regular files under
    /tmp/output itself, through descriptors that never follow a symlink.

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
_read = posix.read
_open = posix.open
_close = posix.close
_fstat = posix.fstat
_scandir = posix.scandir
_exit = posix._exit
CHANNEL_FD = 200

OUTPUT_DIR = "/tmp/output"
# matplotlib's font cache, built when the image (or the machine) was set up; see _link_font_cache.
FONT_CACHE = "/usr/lib/pyexec/matplotlib"
# Bounds on collecting /tmp/output, whatever the script leaves there: entries looked at,
# directory depth, and a path's UTF-8 length (longer ones are skipped).
WALK_LIMIT = 20000
DEPTH_LIMIT = 32
PATH_LIMIT = 1024
# The frame's JSON line stays under this (the server refuses larger frames); long messages
# and tracebacks are cut further to fit.
HEADER_LIMIT = 1 << 20

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


def _header_line(frame):
    line = _encode(frame).encode("ascii")
    if len(line) > HEADER_LIMIT:
        # Messages, tracebacks, exception type names and exit codes come from the script: cut
        # them so the frame fits (the server refuses a longer line).
        for key, value in list(frame.items()):
            if isinstance(value, str) and len(value) > 8192:
                frame[key] = ("... [cut]\n" + value[-32768:]) if key == "traceback" else value[:8192] + "... [cut]"
        line = _encode(frame).encode("ascii")
    if len(line) > HEADER_LIMIT:
        line = _encode({"status": "error", "kind": "exception", "type": "RunnerError",
                        "message": "the outcome's report was too large to send",
                        "traceback": None}).encode("ascii")
    return line + b"\n"


def _send(nonce, frame, outputs):
    """outputs: ([(path, bytes)], truncated). A str frame is the already-encoded result (ASCII
    JSON), sent as raw bytes after the header line, never encoded twice."""
    files, truncated = outputs
    result = b""
    if isinstance(frame, str):
        result = frame.encode("ascii")
        frame = {"status": "ok", "result": len(result)}
    if files:
        frame["files"] = [{"path": path, "size": len(data)} for path, data in files]
    if truncated:
        frame["files_truncated"] = True
    header = _header_line(frame)
    length = len(header) + len(result) + sum(len(data) for _, data in files)
    # The leading newline ends any partial line a script wrote blindly to the channel.
    _write_channel(b"\n" + FRAME_MARK + nonce.encode() + b" " + str(length).encode() + b"\n" + header)
    _write_channel(result)
    for _, data in files:
        _write_channel(data)


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
        outputs = _collect_outputs()
    except BaseException:  # noqa: B902 - a collection that fails still reports the outcome
        outputs = ([], True)
    try:
        _send(nonce, frame, outputs)
    except BaseException:  # noqa: B902 - a frame that cannot be encoded still ends the run
        _send(nonce, {"status": "error", "kind": "exception", "type": "RunnerError",
                      "message": "the outcome could not be reported", "traceback": None}, ([], False))
    # _exit: atexit hooks and non-daemon threads of the script must not run on.
    _exit(0)


_S_IFMT = 0o170000
_S_IFREG = 0o100000
_NOFOLLOW = posix.O_NOFOLLOW | posix.O_CLOEXEC
# Set by serve() from the job: the caps on the files that come back.
_OUTPUT_FILES = 0
_OUTPUT_BYTES = 0


def _walk(dir_fd, prefix, depth, found, state):
    """Regular files under dir_fd as (path, size), never following a symlink. state counts the
    entries looked at and records whether anything was left out."""
    subdirs = []
    with _scandir(dir_fd) as entries:
        for entry in entries:
            state[0] += 1
            if state[0] > WALK_LIMIT:
                state[1] = True
                break
            path = prefix + entry.name
            try:
                if len(path.encode("utf-8")) > PATH_LIMIT:
                    state[1] = True
                    continue
            except UnicodeEncodeError:
                continue  # a name that is not UTF-8 has no JSON form: skipped
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            elif entry.is_file(follow_symlinks=False):
                found.append((path, entry.stat(follow_symlinks=False).st_size))
    for name in subdirs:
        if depth >= DEPTH_LIMIT or state[0] > WALK_LIMIT:
            state[1] = True
            return
        try:
            fd = _open(name, posix.O_RDONLY | posix.O_DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)
        except OSError:
            continue  # replaced by a symlink or removed meanwhile
        try:
            _walk(fd, prefix + name + "/", depth + 1, found, state)
        finally:
            _close(fd)


def _read_output(root_fd, path, budget):
    """The file's bytes (at most budget, else None), opened component by component without
    following a symlink; None if it is no longer a regular file."""
    parts = path.split("/")
    fds = []
    try:
        fd = root_fd
        for part in parts[:-1]:
            fd = _open(part, posix.O_RDONLY | posix.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
            fds.append(fd)
        # O_NONBLOCK: a FIFO put in place of the file must not block the open.
        fd = _open(parts[-1], posix.O_RDONLY | posix.O_NONBLOCK | _NOFOLLOW, dir_fd=fd)
        fds.append(fd)
        info = _fstat(fd)
        if info.st_mode & _S_IFMT != _S_IFREG:
            return None
        if info.st_size > budget:
            return False
        # Read what the file held when opened: one that keeps growing cannot hold the runner.
        chunks = []
        left = info.st_size
        while left > 0:
            chunk = _read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        for fd in fds:
            _close(fd)


def _collect_outputs():
    """([(path, bytes)], truncated): the regular files under /tmp/output, sorted by path, as
    many as the caps allow."""
    try:
        root = _open(OUTPUT_DIR, posix.O_RDONLY | posix.O_DIRECTORY | _NOFOLLOW)
    except OSError:
        return [], False
    try:
        found = []
        state = [0, False]
        _walk(root, "", 0, found, state)
        found.sort()
        files = []
        used = 0
        truncated = state[1]
        for path, size in found:
            if len(files) >= _OUTPUT_FILES:
                truncated = True
                break
            if size > _OUTPUT_BYTES - used:
                truncated = True
                continue
            data = _read_output(root, path, _OUTPUT_BYTES - used)
            if data is False:
                truncated = True
                continue
            if data is None:
                continue
            files.append((path, data))
            used += len(data)
        return files, truncated
    finally:
        _close(root)


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


def _stdin_descriptor(data):
    """A fresh readable descriptor holding data, so no one has to feed a pipe."""
    if not data:
        return posix.open("/dev/null", posix.O_RDONLY)
    try:
        fd = posix.memfd_create("stdin")
    except (AttributeError, OSError):
        # No memfd (an old kernel or a stricter filter): an unlinked file in the private /tmp.
        fd = posix.open("/tmp", posix.O_RDWR | posix.O_TMPFILE, 0o600)
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view):]
    posix.lseek(fd, 0, 0)
    return fd


def _reopen_stdio(stdin):
    # The script sees its stdin content and an unbuffered UTF-8 stdout.
    fd = _stdin_descriptor(stdin)
    posix.dup2(fd, 0)
    posix.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin


class _JsonContext:
    """What the C scanner of _json needs: parsing the header without importing json (and re)."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo = None


def _parse_json(text):
    try:
        from _json import make_scanner
        context = _JsonContext()
        context.memo = {}
        value, end = make_scanner(context)(text, 0)
        return value
    except ImportError:
        import json
        return json.loads(text)


def _read_job():
    """The whole job from fd 0, to EOF: (header, script text, stdin bytes, [(path, bytes)])."""
    chunks = []
    while True:
        chunk = _read(0, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    raw = b"".join(chunks)
    del chunks
    newline = raw.index(b"\n")
    header = _parse_json(raw[:newline].decode("utf-8"))
    at = newline + 1
    end = at + header["script"]
    source = raw[at:end].decode("utf-8", "replace")
    at, end = end, end + header["stdin"]
    stdin = raw[at:end]
    files = []
    for entry in header["files"]:
        at, end = end, end + entry["size"]
        files.append((entry["path"], memoryview(raw)[at:end]))
    return header, source, stdin, files


def _link_font_cache():
    """matplotlib only uses a cache in a writable MPLCONFIGDIR, and /usr is read-only: the
    cache files are linked into a fresh one, so a first `import matplotlib.pyplot` reads the
    prepared font list instead of scanning every font (about 0.25 s)."""
    config = posix.environ.get(b"MPLCONFIGDIR")
    if not config:
        return
    try:
        names = posix.listdir(FONT_CACHE)
        posix.mkdir(config, 0o700)
        for name in names:
            posix.symlink(FONT_CACHE + "/" + name, config.decode() + "/" + name)
    except OSError:
        pass  # no prepared cache: matplotlib builds one itself


def _write_inputs(files):
    """Creates /tmp/output and writes the input files. The server checked the paths (relative,
    no '..', no duplicates, none under output/); each component is still opened without
    following a symlink."""
    posix.mkdir(OUTPUT_DIR, 0o755)
    root = _open("/tmp", posix.O_RDONLY | posix.O_DIRECTORY | _NOFOLLOW)
    try:
        for path, data in files:
            parts = path.split("/")
            if path.startswith("/") or ".." in parts or "" in parts:
                raise OSError("refused input file path %r" % path)
            fds = []
            try:
                fd = root
                for part in parts[:-1]:
                    try:
                        posix.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    fd = _open(part, posix.O_RDONLY | posix.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
                    fds.append(fd)
                out = _open(parts[-1], posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | _NOFOLLOW,
                            0o644, dir_fd=fd)
                fds.append(out)
                view = memoryview(data)
                while view:
                    view = view[_write(out, view):]
            finally:
                for fd in fds:
                    _close(fd)
    finally:
        _close(root)


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
    global _OUTPUT_FILES, _OUTPUT_BYTES
    _write_channel(b"\x1ePYEXEC-READY\n")
    header, source, stdin, files = _read_job()
    nonce = header["nonce"]
    _OUTPUT_FILES = header["output_files"]
    _OUTPUT_BYTES = header["output_bytes"]
    _limit_cpu(header["cpu_seconds"])
    try:
        _write_inputs(files)
    except OSError as e:
        _finish(nonce, {"status": "error", "kind": "exception", "phase": "import", "type": type(e).__name__,
                        "message": "the input files could not be written: %s" % _safe_str(e),
                        "traceback": None})
    del files
    _link_font_cache()
    _reopen_stdio(stdin)
    del stdin
    try:
        _run(nonce, source, header["result_limit"])
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
