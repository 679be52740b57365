"""The test's eyes inside the VM, outside the container's cgroup (standard library only).

GET /state     processes, the container's cgroup tree, files in the shared temporary
               directories, and the kernel log, as JSON
GET /log       the container's stdout and stderr
POST /poweroff ends the VM
"""
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

BUSYBOX = "/pyexec-vm/busybox"
CONTAINER_CGROUP = "/sys/fs/cgroup/container"
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run")
CGROUP_FILES = ("cgroup.procs", "pids.current", "cgroup.controllers", "cgroup.subtree_control", "memory.max",
                "pids.max", "memory.events", "pids.events")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        return None if isinstance(e, FileNotFoundError) else f"<{e.strerror}>"


def processes():
    own = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == own:
            continue
        cmdline = read(f"/proc/{name}/cmdline")
        if not cmdline:  # kernel threads, or gone
            continue
        stat = read(f"/proc/{name}/stat") or ""
        ppid = int(stat.rsplit(")", 1)[1].split()[1]) if ")" in stat else 0
        if ppid == own:  # the agent's own helpers (dmesg)
            continue
        out.append({"pid": int(name), "ppid": ppid, "cmdline": cmdline.replace("\0", " ").strip(),
                    "cgroup": (read(f"/proc/{name}/cgroup") or "").strip()})
    return sorted(out, key=lambda p: p["pid"])


def cgroups():
    tree = {}
    for root, dirs, _ in os.walk(CONTAINER_CGROUP):
        rel = os.path.relpath(root, CONTAINER_CGROUP)
        tree["/" if rel == "." else "/" + rel] = {
            name: (read(os.path.join(root, name)) or "").strip() for name in CGROUP_FILES}
    return tree


def files():
    out = []
    for top in TEMP_DIRS:
        for root, dirs, names in os.walk(top):
            for name in dirs + names:
                out.append(os.path.join(root, name))
    return sorted(out)


def dmesg():
    return subprocess.run([BUSYBOX, "dmesg"], capture_output=True, text=True, errors="replace").stdout


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/state":
            body = json.dumps({"processes": processes(), "cgroups": cgroups(), "files": files(),
                               "dmesg": dmesg()}).encode()
            self.answer(200, body, "application/json")
        elif self.path == "/log":
            self.answer(200, (read("/run/container.log") or "").encode(), "text/plain")
        else:
            self.answer(404, b"", "text/plain")

    def do_POST(self):
        if self.path == "/poweroff":
            self.answer(200, b"bye", "text/plain")
            subprocess.Popen([BUSYBOX, "sh", "-c", "sync; sleep 0.2; poweroff -f"])
        else:
            self.answer(404, b"", "text/plain")

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
