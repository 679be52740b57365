#!/usr/bin/env python3
"""Checks one VM variant over HTTP from the host (standard library only); see vm-test.sh."""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_check import HELLO, request, execute  # noqa: E402


def wait_health(base, deadline, qemu_pid):
    last = "no answer"
    while time.monotonic() < deadline:
        if qemu_pid and not os.path.exists(f"/proc/{qemu_pid}"):
            raise SystemExit("the VM stopped before the service answered")
        try:
            status, _, body, raw = request(base, "/health", timeout=5)
            if status in (200, 503) and isinstance(body, dict):
                return status, body
            last = f"HTTP {status}: {raw[:200]!r}"
        except (OSError, urllib.error.URLError) as e:
            last = repr(e)
        time.sleep(0.5)
    raise TimeoutError(f"/health did not answer within the timeout; last: {last}")


def agent(base, path):
    with urllib.request.urlopen(base + path, timeout=60) as resp:
        raw = resp.read()
    return json.loads(raw) if path == "/state" else raw.decode("utf-8", "replace")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("variant")
    ap.add_argument("--service", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--t0-ns", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--qemu-pid", type=int)
    args = ap.parse_args(argv)
    try:
        status, health = wait_health(args.service, time.monotonic() + args.timeout, args.qemu_pid)
    except TimeoutError as e:
        print(f"[vm-check] {e}")
        print(agent(args.agent, "/log"))
        return 1
    print(f"[vm-check] health {status} after {(time.time_ns() - args.t0_ns) / 1e9:.1f} s: {json.dumps(health)}")
    print(agent(args.agent, "/log"))
    print(json.dumps(agent(args.agent, "/state"), indent=1)[:6000])
    status, _, body, _ = execute(args.service, HELLO)
    print(status, body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
