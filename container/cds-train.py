#!/usr/bin/env python3
"""Training run for the image's AppCDS archive (run by container/Dockerfile at build time).

usage: cds-train.py ARCHIVE JAVA_COMMAND...

Starts JAVA_COMMAND (which must carry -XX:ArchiveClassesAtExit=ARCHIVE) on a free
loopback port, sends it the requests a fresh instance answers first (/health, /execute
with good and bad bodies), then stops it with SIGTERM so that the JVM writes ARCHIVE
at exit. nsjail cannot run inside an image build, so the sandbox reports itself
unavailable here: the archive still holds the JVM, Jetty, invoker, Gson and
function classes, which is where start-up time goes. Exit 1 if no archive appears.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, path, method="GET", body=None, content_type="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers={"Content-Type": content_type} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    archive, command = argv[0], argv[1:]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = "/tmp/cds-train.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=dict(os.environ, PORT=str(port)),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited early ({proc.returncode})")
            try:
                call(base, "/health")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not answer within 120 s")
                time.sleep(0.1)
        statuses = []
        hello = json.dumps({"script": "def main():\n    print('hi')\n    return {'ok': True}\n"}).encode()
        for _ in range(3):
            statuses.append(call(base, "/health"))
            statuses.append(call(base, "/execute", "POST", hello))
            statuses.append(call(base, "/execute", "POST",
                                 json.dumps({"script": "def main(:\n", "timeout": 2}).encode()))
            statuses.append(call(base, "/execute", "POST", b"{not json"))
            statuses.append(call(base, "/execute", "POST", b"{}", "application/json; charset=utf-8"))
            statuses.append(call(base, "/execute", "POST", b"x", "text/plain"))
            statuses.append(call(base, "/execute", "GET"))
            statuses.append(call(base, "/nope"))
        print(f"cds-train: statuses {sorted(set(statuses))}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if not os.path.isfile(archive) or os.path.getsize(archive) == 0:
        with open(log_path, "rb") as log:
            sys.stderr.write(log.read()[-4000:].decode("utf-8", "replace"))
        print(f"cds-train: no archive at {archive}", file=sys.stderr)
        return 1
    os.remove(log_path)
    print(f"cds-train: wrote {archive} ({os.path.getsize(archive)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
