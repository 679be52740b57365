#!/usr/bin/env python3
"""Checks one variant of the gen2-like VM from the host, over HTTP (standard library only).

usage: vm_check.py VARIANT --service URL --agent URL --t0-ns NS [--timeout S] [--qemu-pid PID]

The service is the image's entrypoint in the VM; the agent (guest_agent.py) sees the VM from
outside the container's cgroup. Prints one line per check and FIGURE lines for the report;
exits 0 only when every check of the variant passed.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_check import HELLO, ISOLATION, NETWORK, PANDAS, Checker, execute, request  # noqa: E402

MEMORY_BOMB = """\
def main():
    hoard = []
    while True:
        hoard.append(b"x" * (16 << 20))
"""

FORK_BOMB = """\
import os, time

def main():
    children = 0
    error = None
    while children < 200:
        try:
            pid = os.fork()
        except OSError as e:
            error = e.errno
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
    time.sleep(4)  # the host looks at the cgroup meanwhile
    return {"children": children, "errno": error}
"""

THREADS_31 = """\
{imports}
import threading
from concurrent.futures import ThreadPoolExecutor

def main():
    barrier = threading.Barrier(31, timeout=60)
    with ThreadPoolExecutor(max_workers=31) as pool:
        waits = [pool.submit(barrier.wait) for _ in range(31)]
        [w.result() for w in waits]
    return 31
"""

THREADS_MAX = """\
{imports}
import threading

def main():
    stop = threading.Event()
    started = 0
    error = None
    while started < 100:
        try:
            threading.Thread(target=stop.wait, daemon=True).start()
        except RuntimeError as e:
            error = str(e)
            break
        started += 1
    stop.set()
    return {{"threads": started, "error": error}}
"""
PANDAS_IMPORT = "import numpy, pandas"


def wait_health(base, deadline, qemu_pid):
    last = "no answer"
    while time.monotonic() < deadline:
        if qemu_pid and not os.path.exists(f"/proc/{qemu_pid}"):
            raise TimeoutError("the VM stopped before the service answered")
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


def figure(name, value):
    print(f"FIGURE {name}={value}")


def leftovers(before, after):
    """What an execution left: processes started under a jail's Python, cgroups, files."""
    problems = []
    by_pid = {p["pid"]: p for p in after["processes"]}
    spares = {}
    spare_pids = set()
    for p in sorted(after["processes"], key=lambda p: p["pid"]):
        parent = by_pid.get(p["ppid"])
        if parent and parent["cmdline"].split(" ", 1)[0].endswith("python3"):
            # A template's zygote keeps one spare child forked ahead of demand, waiting for a job.
            grandparent = by_pid.get(parent["ppid"])
            zygote = "zygote.py" in parent["cmdline"] and grandparent and "nsjail" in grandparent["cmdline"]
            if zygote and spares.setdefault(parent["pid"], 0) < 1:
                spares[parent["pid"]] += 1
                spare_pids.add(str(p["pid"]))
                continue
            problems.append(f"process left: {p['pid']} {p['cmdline'][:80]} (child of a jail's Python)")
    for path, files in after["cgroups"].items():
        name = path.rsplit("/", 1)[-1]
        if name.startswith("NSJAIL_SELF"):
            problems.append(f"cgroup left: {path} (nsjail's own fallback group)")
        elif name.startswith("NSJAIL.") and not files.get("cgroup.procs"):
            problems.append(f"empty cgroup left: {path}")
        elif name.startswith("exec-") and set((files.get("cgroup.procs") or "").split()) - spare_pids:
            # A template's execution group is kept for the next execution, but only empty (or
            # holding the template's spare child, which waits there for its job).
            problems.append(f"processes left in an execution's cgroup: {path}: {files['cgroup.procs']!r}")
    new_files = sorted(set(after["files"]) - set(before["files"]))
    if new_files:
        problems.append(f"files left: {new_files[:10]}")
    return problems


def wait_engine(base, engine, seconds=90):
    """The instance serves with one-shot jails while its templates start and prove themselves
    in the background: wait for the engine to change, so nothing of that start-up is counted."""
    deadline = time.monotonic() + seconds
    body = {}
    while time.monotonic() < deadline:
        _, _, body, _ = request(base, "/health", timeout=5)
        if isinstance(body, dict) and body.get("engine") == engine:
            break
        time.sleep(0.5)
    return body if isinstance(body, dict) else {}


def check_gen2(c, args, health):
    health = wait_engine(args.service, "template") or health
    figure("gen2_engine", health.get("engine"))
    profile = health.get("sandbox_profile", "")
    log = agent(args.agent, "/log")
    state0 = agent(args.agent, "/state")
    dmesg0 = state0["dmesg"]

    def profile_has_cgroup_v2():
        return [] if "cgroup-v2" in profile else [f"profile {profile!r} has no cgroup v2 limits"]

    def template_engine_serves():
        engine = health.get("engine")
        return [] if engine == "template" else [f"engine {engine!r}, want template"]

    def diagnostics_logged():
        problems = []
        lines = [l for l in log.splitlines() if '"platform {' in l]
        if len(lines) != 1:
            problems.append(f"{len(lines)} platform lines in the log")
        elif '\\"cgroup_version\\":\\"v2\\"' not in lines[0]:
            problems.append(f"platform line without cgroup v2: {lines[0][:300]}")
        if "cgroup v2: jails under /sys/fs/cgroup/pyexec-jails" not in log:
            problems.append("no log line saying where the jails' cgroups are")
        return problems

    def leaf_layout():
        tree = state0["cgroups"]
        problems = []
        root, server, jails = tree.get("/", {}), tree.get("/pyexec-server"), tree.get("/pyexec-jails")
        if root.get("cgroup.procs"):
            problems.append(f"the container's own cgroup still holds processes {root.get('cgroup.procs')!r}")
        if server is None or jails is None:
            return problems + [f"cgroups {sorted(tree)}, want /pyexec-server and /pyexec-jails"]
        cmdlines = {p["pid"]: p["cmdline"] for p in state0["processes"]}
        in_server = [cmdlines.get(int(pid), "?") for pid in server["cgroup.procs"].split()]
        for want in ("tini", "java", "sleep"):
            if not any(want in cmd for cmd in in_server):
                problems.append(f"no {want} process in pyexec-server ({in_server})")
        if set(jails["cgroup.subtree_control"].split()) < {"memory", "pids"}:
            problems.append(f"pyexec-jails subtree_control {jails['cgroup.subtree_control']!r}")
        return problems

    def contract(script, want_status, **fields):
        def run():
            status, _, body, _ = execute(args.service, script)
            return c.expect(status, body, want_status, **fields)
        return run

    def pandas_ok():
        status, _, body, _ = execute(args.service, PANDAS)
        problems = c.expect(status, body, 200, stdout="start\nrows 3\n")
        if ((body or {}).get("result") or {}).get("sum_a") != 6:
            problems.append(f"result {body}")
        return problems

    def not_found():
        status, _, body, _ = request(args.service, "/nope")
        return c.expect(status, body, 404)

    def isolated():
        status, _, body, _ = execute(args.service, ISOLATION)
        r = (body or {}).get("result") or {}
        problems = c.expect(status, body, 200)
        if r.get("uid") in (0, None) or r.get("app_visible") is not False or r.get("java_visible") is not False:
            problems.append(f"result {r}")
        return problems

    def no_network():
        status, _, body, _ = execute(args.service, NETWORK)
        r = (body or {}).get("result") or {}
        problems = c.expect(status, body, 200)
        if not str(r.get("tcp_service", "")).startswith("failed") or set(r.get("interfaces") or []) - {"lo"}:
            problems.append(f"result {r}")
        return problems

    def timeout():
        # The jail killed at the timeout must not leave its cgroup or processes (checked last).
        status, _, body, _ = execute(args.service, "import time\nprint('waiting', flush=True)\n"
                                     "def main():\n    time.sleep(60)\n", timeout=2)
        return c.expect(status, body, 408, stdout_contains="waiting")

    def memory_bomb():
        status, _, body, _ = execute(args.service, MEMORY_BOMB, timeout=30)
        problems = c.expect(status, body, 400, kind="limit_exceeded", error_contains="memory")
        dmesg = agent(args.agent, "/state")["dmesg"][len(dmesg0):]
        # A one-shot jail's group is nsjail's NSJAIL.<pid>; a template's execution has tmpl-*/exec-<n>.
        in_jail = "pyexec-jails/NSJAIL." in dmesg or re.search(r"pyexec-jails/tmpl-[^/\s]+/exec-", dmesg)
        if not in_jail or "oom" not in dmesg.lower():
            problems.append("the kernel log shows no OOM kill in a jail's cgroup: " + dmesg[-400:])
        return problems

    def fork_bomb():
        seen = {}

        def watch():
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline and not seen.get("full"):
                for path, files in agent(args.agent, "/state")["cgroups"].items():
                    jail = "NSJAIL." in path or "/exec-" in path
                    if jail and files.get("pids.current") and files.get("pids.current") == files.get("pids.max"):
                        seen["full"] = f"{path}: pids.current {files['pids.current']} = pids.max"
                time.sleep(0.3)

        watcher = threading.Thread(target=watch)
        watcher.start()
        status, _, body, _ = execute(args.service, FORK_BOMB, timeout=30)
        watcher.join()
        r = (body or {}).get("result") or {}
        problems = c.expect(status, body, 200)
        if not (0 < (r.get("children") or 0) < 32) or r.get("errno") != 11:
            problems.append(f"result {r}")
        if not seen.get("full"):
            problems.append("no jail cgroup was seen at its pids.max")
        else:
            print(f"     {seen['full']}")
        figure("fork_bomb_children", r.get("children"))
        return problems

    def nothing_left():
        time.sleep(3)  # the last jails end and the templates fork their next spares
        return leftovers(state0, agent(args.agent, "/state"))

    for name, fn in [
        ("health reports a cgroup v2 profile", profile_has_cgroup_v2),
        ("the template engine serves (its self-test passed in the VM)", template_engine_serves),
        ("one platform diagnostics line, cgroup v2 delegated", diagnostics_logged),
        ("the container's processes moved into a leaf, jails parent has memory+pids", leaf_layout),
        ("pandas script succeeds with stdout", pandas_ok),
        ("syntax error -> 400", contract("def main(:\n    pass\n", 400, error_contains="SyntaxError")),
        ("exception -> 400 with traceback", contract("def main():\n    return 1 / 0\n", 400,
                                                      error_contains="ZeroDivisionError")),
        ("unknown path -> 404", not_found),
        ("jail is isolated and unprivileged", isolated),
        ("no network in the jail", no_network),
        ("timeout 2 s -> 408 with partial stdout", timeout),
        ("memory bomb -> limit_exceeded by the cgroup's OOM kill", memory_bomb),
        ("fork bomb contained by pids.max", fork_bomb),
        *thread_checks(c, args),
        ("no process, cgroup or file of an execution is left", nothing_left),
    ]:
        c.run(name, fn)


def thread_checks(c, args):
    """31 threads must start under every profile (SPEC); also how many start at most."""
    def threads(imports):
        def run():
            status, _, body, _ = execute(args.service, THREADS_31.format(imports=imports), timeout=30)
            return c.expect(status, body, 200, result=31)
        return run

    def threads_max(imports, label):
        def run():
            status, _, body, _ = execute(args.service, THREADS_MAX.format(imports=imports), timeout=30)
            r = (body or {}).get("result") or {}
            figure(f"{args.variant}_threads_reached_{label}", r.get("threads"))
            problems = c.expect(status, body, 200)
            if (r.get("threads") or 0) < 31:
                problems.append(f"only {r.get('threads')} threads: {r.get('error')}")
            return problems
        return run

    return [
        ("31 threads start", threads("")),
        ("31 threads start with pandas imported", threads(PANDAS_IMPORT)),
        ("threads reached", threads_max("", "plain")),
        ("threads reached with pandas imported", threads_max(PANDAS_IMPORT, "pandas")),
    ]


def check_hello(c, args):
    def hello():
        status, _, body, _ = execute(args.service, HELLO)
        return c.expect(status, body, 200, result="ok")
    c.run("hello world runs", hello)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("variant", choices=["gen2", "cgroup-ro", "nouserns", "nocap", "nocap-nouserns"])
    ap.add_argument("--service", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--t0-ns", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--qemu-pid", type=int)
    args = ap.parse_args(argv)
    try:
        status, health = wait_health(args.service, time.monotonic() + args.timeout, args.qemu_pid)
    except TimeoutError as e:
        print(f"FAIL {e}")
        try:
            print(agent(args.agent, "/log")[-4000:])
        except (OSError, urllib.error.URLError):
            pass
        return 1
    figure(f"{args.variant}_boot_to_health_s", f"{(time.time_ns() - args.t0_ns) / 1e9:.1f}")
    figure(f"{args.variant}_profile", health.get("sandbox_profile"))
    print(f"     health {status}: {json.dumps(health)[:400]}")
    c = Checker(args.service)
    profile = health.get("sandbox_profile", "")
    if args.variant == "gen2":
        check_gen2(c, args, health)
    elif args.variant == "cgroup-ro":
        c.run("healthy with a profile without cgroups",
              lambda: [] if status == 200 and "cgroup" not in profile else [f"{status} {profile}"])
        c.run("the log says the cgroup tree is read-only",
              lambda: [] if "read-only" in agent(args.agent, "/log") else ["no read-only finding in the log"])
        check_hello(c, args)
        for name, fn in thread_checks(c, args):
            c.run(name, fn)
    elif args.variant == "nouserns":
        c.run("healthy with a reduced profile (no user namespace)",
              lambda: [] if status == 200 and profile.startswith("reduced") else [f"{status} {profile}"])
        check_hello(c, args)
        for name, fn in thread_checks(c, args):
            c.run(name, fn)
    elif args.variant == "nocap":
        # A user namespace gives nsjail the capabilities it needs inside it: no CAP_SYS_ADMIN
        # outside is no reason to refuse while the self-test proves the isolation.
        c.run("healthy with a user-namespace profile",
              lambda: [] if status == 200 and profile.startswith("full") else [f"{status} {profile}"])
        check_hello(c, args)
    elif args.variant == "nocap-nouserns":
        c.run("fails closed: /health 503 naming CAP_SYS_ADMIN",
              lambda: [] if status == 503 and "CAP_SYS_ADMIN" in str(health.get("detail")) else [f"{status} {health}"])

        def refuses():
            status = execute(args.service, HELLO)[0]
            return [] if status in (500, 503) else [f"an execution got HTTP {status}"]
        c.run("executions are refused", refuses)
    print(f"{c.passed} passed, {c.failed} failed")
    if c.failed:
        print("----- the service's start-up log -----")
        for line in agent(args.agent, "/log").splitlines():
            if any(word in line for word in ("platform", "cgroup", "self-test", "profile", "sandbox")):
                print(line[:1500])
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
