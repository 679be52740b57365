#!/usr/bin/env python3
"""End-to-end HTTP checks against a running pyexec container (standard library only).

usage:
  e2e_check.py wait-execute BASE_URL --t0-ns NS [--timeout S]
      Poll POST /execute with a hello-world script until it answers 200; print the
      milliseconds since NS (a time.time_ns() taken just before the container
      started) as `first_execute_ms=N`. Exit 1 on timeout.
  e2e_check.py wait-health BASE_URL [--timeout S]
      Poll GET /health until 200; print its body. Exit 1 on timeout.
  e2e_check.py check BASE_URL
      Run the contract checks; one line per check, then 'N passed, N failed'.
      Exit 0 only when all pass.

Network checks send no packet anywhere: they try the service's own port on the
container's loopback and a UDP connect() (a route lookup only) to a public address.
"""
import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.request

HELLO = "def main():\n    return 'ok'\n"


def request(base, path, method="GET", body=None, content_type=None, timeout=60):
    headers = {}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type or "application/json"
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except ValueError:
        parsed = None
    return status, hdrs, parsed, raw


def execute(base, script, **extra):
    return request(base, "/execute", "POST", dict({"script": script}, **extra))


def wait_execute(base, t0_ns, timeout):
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, _, body, _ = execute(base, HELLO)
            if status == 200 and isinstance(body, dict) and body.get("result") == "ok":
                print(f"first_execute_ms={(time.time_ns() - t0_ns) // 1_000_000}")
                return 0
            last = f"HTTP {status}: {body}"
        except (OSError, urllib.error.URLError) as e:
            last = repr(e)
        time.sleep(0.01)
    print(f"no successful /execute within {timeout} s; last: {last}", file=sys.stderr)
    return 1


def wait_health(base, timeout):
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, _, body, raw = request(base, "/health", timeout=5)
            if status == 200:
                print(raw.decode("utf-8", "replace"))
                return 0
            last = f"HTTP {status}: {raw[:300]!r}"
        except (OSError, urllib.error.URLError) as e:
            last = repr(e)
        time.sleep(0.2)
    print(f"/health not 200 within {timeout} s; last: {last}", file=sys.stderr)
    return 1


PANDAS = """\
import numpy as np
import pandas as pd

print("start")

def main():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [4.0, 5.0, np.nan]})
    print("rows", len(df))
    return {"sum_a": int(df["a"].sum()), "mean_b": float(df["b"].mean()),
            "columns": list(df.columns), "numpy": np.__version__}
"""

NETWORK = """\
import socket

def attempt(fn):
    try:
        fn()
        return "connected"
    except OSError as e:
        return "failed: " + type(e).__name__ + " " + str(e)

def tcp_service_port():
    # The function's own port on the container's loopback.
    socket.create_connection(("127.0.0.1", 8080), timeout=2).close()

def udp_route():
    # connect() on UDP only looks up a route: it sends nothing.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("1.1.1.1", 53))
    finally:
        s.close()

def main():
    names = [name for _, name in socket.if_nameindex()]
    return {"tcp_service": attempt(tcp_service_port), "udp_route": attempt(udp_route),
            "interfaces": names}
"""

ISOLATION = """\
import os

def main():
    return {
        "uid": os.getuid(),
        "app_visible": os.path.exists("/app"),
        "nsjail_visible": os.path.exists("/usr/local/bin/nsjail"),
        "java_visible": os.path.exists("/opt/java"),
        "env_keys": sorted(os.environ),
        "pid": os.getpid(),
        "tmp_writable": os.access("/tmp", os.W_OK),
        "usr_writable": os.access("/usr/lib", os.W_OK),
    }
"""


class Checker:
    def __init__(self, base):
        self.base = base
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            problems = fn()
        except Exception as e:  # a crash in a check is a failure of that check
            problems = [f"{type(e).__name__}: {e}"]
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            self.passed += 1
            print(f"ok   {name}")

    def expect(self, got_status, body, want_status, **fields):
        problems = []
        if got_status != want_status:
            problems.append(f"status {got_status}, want {want_status} (body {str(body)[:300]})")
        if not isinstance(body, dict):
            problems.append(f"body is not a JSON object: {str(body)[:200]}")
            return problems
        for key, want in fields.items():
            if key.endswith("_contains"):
                real = key[: -len("_contains")]
                if str(want).lower() not in str(body.get(real, "")).lower():
                    problems.append(f"{real} {str(body.get(real))[:200]!r} lacks {want!r}")
            elif key.endswith("_present"):
                real = key[: -len("_present")]
                if not body.get(real):
                    problems.append(f"no {real!r} in body")
            elif body.get(key) != want:
                problems.append(f"{key} {body.get(key)!r}, want {want!r}")
        return problems


def check(base):
    c = Checker(base)

    def health():
        status, _, body, _ = request(base, "/health")
        return c.expect(status, body, 200, status="healthy")

    def pandas_ok():
        status, _, body, _ = execute(base, PANDAS)
        problems = c.expect(status, body, 200, stdout="start\nrows 3\n")
        result = (body or {}).get("result") or {}
        if result.get("sum_a") != 6 or result.get("mean_b") != 4.5 or result.get("columns") != ["a", "b"]:
            problems.append(f"result {result}")
        return problems

    def syntax_error():
        status, _, body, _ = execute(base, "def main(:\n    return 1\n")
        return c.expect(status, body, 400, error_contains="SyntaxError")

    def no_main():
        status, _, body, _ = execute(base, "x = 1\n")
        return c.expect(status, body, 400, error_contains="main")

    def exception():
        status, _, body, _ = execute(base, "def main():\n    print('before')\n    return 1 / 0\n")
        return c.expect(status, body, 400, error_contains="ZeroDivisionError",
                        traceback_contains="ZeroDivisionError", stdout="before\n")

    def not_json():
        status, _, body, _ = execute(base, "def main():\n    return {1, 2}\n")
        return c.expect(status, body, 400, error_contains="set")

    def timeout():
        start = time.monotonic()
        status, _, body, _ = execute(
            base, "import time\nprint('waiting', flush=True)\ndef main():\n    time.sleep(30)\n", timeout=1)
        problems = c.expect(status, body, 408, error_contains="timed out", stdout_contains="waiting")
        if time.monotonic() - start > 10:
            problems.append(f"took {time.monotonic() - start:.1f} s")
        return problems

    def not_found():
        status, _, body, _ = request(base, "/nope")
        return c.expect(status, body, 404, error_present=True)

    def wrong_method():
        status, hdrs, body, _ = request(base, "/execute", "GET")
        problems = c.expect(status, body, 405, error_present=True)
        if "POST" not in (hdrs.get("Allow") or ""):
            problems.append(f"Allow header {hdrs.get('Allow')!r}")
        return problems

    def wrong_type():
        status, _, body, _ = request(base, "/execute", "POST", json.dumps({"script": HELLO}).encode(),
                                     content_type="text/plain")
        return c.expect(status, body, 415, error_present=True)

    def too_large():
        script = "# " + "x" * (300 * 1024) + "\ndef main():\n    return 1\n"
        status, _, body, _ = execute(base, script)
        return c.expect(status, body, 413, error_present=True)

    def no_network():
        status, _, body, _ = execute(base, NETWORK)
        problems = c.expect(status, body, 200)
        result = (body or {}).get("result") or {}
        for key in ("tcp_service", "udp_route"):
            if not str(result.get(key, "")).startswith("failed"):
                problems.append(f"{key}: {result.get(key)!r} (want failed)")
        if set(result.get("interfaces") or []) - {"lo"}:
            problems.append(f"interfaces {result.get('interfaces')}")
        return problems

    def isolation():
        status, _, body, _ = execute(base, ISOLATION)
        problems = c.expect(status, body, 200)
        r = (body or {}).get("result") or {}
        if r.get("uid") in (0, None):
            problems.append(f"uid {r.get('uid')}")
        for key in ("app_visible", "nsjail_visible", "java_visible", "usr_writable"):
            if r.get(key) is not False:
                problems.append(f"{key} {r.get(key)!r}")
        if r.get("tmp_writable") is not True:
            problems.append("/tmp not writable")
        leaked = [k for k in r.get("env_keys", []) if k.startswith(("PYEXEC", "PORT", "JAVA", "JDK", "K_"))]
        if leaked:
            problems.append(f"server env visible: {leaked}")
        return problems

    def csv_in_chart_out():
        script = ("import pandas as pd\nimport matplotlib.pyplot as plt\n"
                  "def main():\n"
                  "    df = pd.read_csv('data/in.csv')\n"
                  "    df.plot(x='x', y='y')\n"
                  "    plt.savefig('/tmp/output/chart.png')\n"
                  "    df.to_csv('/tmp/output/doubled.csv', index=False, columns=['y'])\n"
                  "    return {'rows': len(df), 'sum_y': int(df['y'].sum())}\n")
        status, _, body, _ = execute(base, script, timeout=20,
                                     files=[{"path": "data/in.csv", "content": "x,y\n1,2\n2,4\n3,8\n"}])
        problems = c.expect(status, body, 200, result={"rows": 3, "sum_y": 14})
        files = (body or {}).get("files") or []
        if [f.get("path") for f in files] != ["chart.png", "doubled.csv"]:
            return problems + [f"files {[f.get('path') for f in files]}"]
        png = base64.b64decode(files[0]["content_base64"])
        if not png.startswith(b"\x89PNG") or len(png) != files[0]["size"]:
            problems.append(f"chart.png is not a PNG of its size ({len(png)} bytes)")
        if base64.b64decode(files[1]["content_base64"]) != b"y\n2\n4\n8\n":
            problems.append("doubled.csv content")
        return problems

    def stdin_and_traversal():
        status, _, body, _ = execute(base, "def main():\n    return input()\n", stdin="from stdin\n")
        problems = c.expect(status, body, 200, result="from stdin")
        status, _, body, _ = execute(base, HELLO, files=[{"path": "../etc/x", "content": "boom"}])
        return problems + c.expect(status, body, 400, kind="invalid_request", error_contains="../etc/x")

    def openapi():
        status, _, body, _ = request(base, "/openapi.json")
        problems = c.expect(status, body, 200, openapi="3.1.0")
        if "/execute" not in ((body or {}).get("paths") or {}):
            problems.append("no /execute in paths")
        return problems

    for name, fn in [
        ("GET /health is 200 healthy", health),
        ("an input CSV in, a matplotlib chart and a CSV out", csv_in_chart_out),
        ("stdin is read; a path traversal in files -> 400", stdin_and_traversal),
        ("GET /openapi.json is an OpenAPI 3.1 document", openapi),
        ("pandas + numpy script succeeds with stdout", pandas_ok),
        ("syntax error -> 400 SyntaxError", syntax_error),
        ("no main -> 400", no_main),
        ("exception -> 400 with traceback and stdout", exception),
        ("non-JSON result -> 400", not_json),
        ("timeout 1 s -> 408 with partial stdout", timeout),
        ("unknown path -> 404", not_found),
        ("GET /execute -> 405 with Allow", wrong_method),
        ("text/plain -> 415", wrong_type),
        ("300 KiB script -> 413", too_large),
        ("no network inside the jail", no_network),
        ("jail hides /app, /opt/java, nsjail, server env; runs unprivileged", isolation),
    ]:
        c.run(name, fn)
    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["wait-execute", "wait-health", "check"])
    ap.add_argument("base")
    ap.add_argument("--t0-ns", type=int)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args(argv)
    if args.mode == "wait-execute":
        if args.t0_ns is None:
            ap.error("wait-execute needs --t0-ns")
        return wait_execute(args.base, args.t0_ns, args.timeout)
    if args.mode == "wait-health":
        return wait_health(args.base, args.timeout)
    return check(args.base)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
