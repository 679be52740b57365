"""The template: a long-lived process inside one nsjail that has imported its libraries once
and forks every execution from that state (a fork server, as Sandbox2's forkserver.cc).

It runs as PID 1 of the template jail's PID namespace, single-threaded, as the unprivileged jail
uid. It holds no secret: a job's nonce and script reach the child only after the fork, on the
child's own socket.

Protocol with the server (TemplateJail on the Java side):
  * argv[1]: JSON settings (preloads, limits, mounts, cgroup controllers).
  * The server connects twice to /tmp/zygote.sock per execution and writes one header line on
    each: "<token> ctl <cgroup>" and "<token> out -". Once both halves of a token are there, the
    zygote clones a child into fresh user, mount, PID, IPC, UTS and network namespaces. The
    child makes itself a sandbox (below) and then is the runner: fd 0 and fd 2 are the ctl
    socket (job in, result frames out), fd 1 the out socket (the script's stdout).
  * stdin, from the server: "kill <token>" ends that execution's whole PID namespace.
  * stdout, to the server: "ready" once serving, "exit <token> <wait status>" when a child ended.
Anything unexpected ends the zygote; the server then replaces the template, and executions in
flight end with it (their PID namespaces are nested in the template's).

What each child does before any caller code runs, in this order: map its uid (65534, as in the
template) in its new user namespace; join its per-execution cgroups and then unshare a cgroup
namespace; mount its own tmpfs /tmp and /dev/shm and a fresh read-only /proc over the
template's; set its rlimits and lowest priority; drop every capability (bounding and ambient sets too); set
no_new_privs; keep only its two sockets as descriptors; reseed every random generator it
inherited; install a seccomp filter at least as strict as the jail's policy that also refuses
the namespace and mount calls the template itself needed.
"""
import sys
import posix

sys.path.insert(0, "/opt/pyexec")
import runner  # noqa: E402

import ctypes  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402

SOCKET_PATH = "/tmp/zygote.sock"
CGROUP_DIR = "/tmp/cg"
JAIL_ID = 65534
SETUP_FAILED = 121

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_FLAGS = 0x7E020000
SYS_CLONE = 56
SYS_UNSHARE = 272
SYS_CLOSE_RANGE = 436

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2

# The jail's seccomp policy (nsjail.cfg), by x86_64 syscall number, plus what the template
# needed: unshare, setns, mount and clone with namespace flags. Filters stack, so a child runs
# under both this and the template's own filter.
EPERM_SYSCALLS = (
    101, 310, 311, 312,  # ptrace, process_vm_readv, process_vm_writev, kcmp
    165, 166, 155, 161, 429, 428,  # mount, umount2, pivot_root, chroot, move_mount, open_tree
    430, 432, 431, 433, 442,  # fsopen, fsmount, fsconfig, fspick, mount_setattr
    272, 308,  # unshare, setns
    321, 298, 323, 250, 248, 249,  # bpf, perf_event_open, userfaultfd, keyctl, add_key, request_key
    246, 320, 175, 313, 176,  # kexec_load, kexec_file_load, init_module, finit_module, delete_module
    169, 167, 168, 163, 164, 227, 305,  # reboot, swapon, swapoff, acct, settimeofday, clock_settime, clock_adjtime
    159, 103, 179, 443, 172, 173, 304,  # adjtimex, syslog, quotactl, quotactl_fd, iopl, ioperm, open_by_handle_at
    303, 300, 212, 153, 135,  # name_to_handle_at, fanotify_init, lookup_dcookie, vhangup, personality
)
# clone3 cannot be filtered by flags (they sit in memory): ENOSYS makes libc fall back to clone.
ENOSYS_SYSCALLS = (435, 425, 426, 427)  # clone3, io_uring_setup, io_uring_enter, io_uring_register
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class SetupError(Exception):
    pass


def _check(result, what):
    if result < 0:
        errno = ctypes.get_errno()
        raise SetupError("%s failed: %s" % (what, posix.strerror(errno)))
    return result


def _seccomp_program():
    """A classic BPF program: wrong architecture kills, listed calls fail, the rest is allowed."""
    def stmt(code, k):
        return struct.pack("HBBI", code, 0, 0, k)

    def jump(code, k, jt, jf):
        return struct.pack("HBBI", code, jt, jf, k)

    ld_w_abs, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill, errno = 0x7FFF0000, 0x80000000, 0x00050000
    prog = [stmt(ld_w_abs, 4), jump(jeq, AUDIT_ARCH_X86_64, 1, 0), stmt(ret, kill), stmt(ld_w_abs, 0),
            jump(jge, X32_SYSCALL_BIT, 0, 1), stmt(ret, errno | 38)]
    for nr in EPERM_SYSCALLS:
        prog += [jump(jeq, nr, 0, 1), stmt(ret, errno | 1)]
    for nr in ENOSYS_SYSCALLS:
        prog += [jump(jeq, nr, 0, 1), stmt(ret, errno | 38)]
    # clone: refuse namespace flags (args[0], low word, at offset 16).
    prog += [jump(jeq, SYS_CLONE, 0, 3), stmt(ld_w_abs, 16), jump(jset, NAMESPACE_FLAGS, 0, 1),
             stmt(ret, errno | 1), stmt(ret, allow)]
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _write_file(path, text):
    fd = posix.open(path, posix.O_WRONLY)
    try:
        posix.write(fd, text.encode())
    finally:
        posix.close(fd)


def _mount(source, target, fstype, flags, options):
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode(), flags,
                       options.encode() if options else None), "mount %s on %s" % (fstype, target))


class Template:
    def __init__(self, settings):
        self.settings = settings
        self.filter = ctypes.create_string_buffer(_seccomp_program())
        self.fprog = _SockFprog(len(self.filter.raw) // 8, ctypes.addressof(self.filter))
        self.children = {}  # pid -> token
        self.halves = {}  # token -> {role: (socket, cgroup)}

    # --- in the child -------------------------------------------------------------------------

    def become_sandbox(self, ctl, out, cgroup):
        s = self.settings
        # Descriptors first, so a failure below can still be reported on the channel.
        posix.dup2(ctl, 0)
        posix.dup2(out, 1)
        posix.dup2(ctl, 2)
        _check(_libc.syscall(SYS_CLOSE_RANGE, 3, ctypes.c_uint(0xFFFFFFFF), 0), "close_range")
        if posix.getpid() != 1:
            raise SetupError("the child is not PID 1 of its namespace")
        _write_file("/proc/self/setgroups", "deny")
        _write_file("/proc/self/uid_map", "%d %d 1" % (JAIL_ID, JAIL_ID))
        _write_file("/proc/self/gid_map", "%d %d 1" % (JAIL_ID, JAIL_ID))
        if s["cgroups"]:
            for controller in s["cgroups"]:
                _write_file("%s/%s/%s/cgroup.procs" % (CGROUP_DIR, controller, cgroup), "0")
            _check(_libc.syscall(SYS_UNSHARE, CLONE_NEWCGROUP), "unshare(CLONE_NEWCGROUP)")
        # Over the template's /tmp (its socket and cgroup directories) and /dev/shm.
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=%d,mode=1777" % s["tmpfs_bytes"])
        # The working directory still is the template's /tmp underneath: move to the new one.
        posix.chdir("/tmp")
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "size=%d,mode=1777" % s["shm_bytes"])
        if s["proc"]:
            _mount("proc", "/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        import resource
        for name, value in s["rlimits"].items():
            limit = getattr(resource, "RLIMIT_" + name.upper())
            resource.setrlimit(limit, (value, value))
        posix.setpriority(posix.PRIO_PROCESS, 0, s["nice"])
        self._drop_capabilities()
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
        _reseed()
        _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(self.fprog), 0, 0),
               "installing the seccomp filter")

    @staticmethod
    def _drop_capabilities():
        cap = 0
        while _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
            cap += 1
        _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient capabilities")
        header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
        _check(_libc.capset(ctypes.byref(header), data), "capset")

    def run_child(self, ctl, out, cgroup, listener):
        # The template's handler and wake-up pipe must not reach caller code; and no socket
        # object of the template may later close a descriptor number the script reuses.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        listener.detach()
        for half in self.halves.values():
            for conn, _, _ in half.values():
                conn.detach()
        self.halves = {}
        try:
            self.become_sandbox(ctl.detach(), out.detach(), cgroup)
        except BaseException as e:  # noqa: B902 - never run caller code in a half-made sandbox
            try:
                posix.write(2, ("sandbox set-up failed in the template's child: %s\n" % e).encode())
            finally:
                posix._exit(SETUP_FAILED)
        runner.take_channel()
        runner.serve()
        posix._exit(SETUP_FAILED)  # serve() never returns

    # --- in the template ----------------------------------------------------------------------

    def spawn(self, token, ctl, out, cgroup, listener):
        flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET
        # A raw clone, not os.fork(): one call puts the child straight into its new PID namespace.
        # The child is PID 1 there, as the template is in its own, so glibc's cached thread id
        # stays true.
        pid = _libc.syscall(SYS_CLONE, ctypes.c_ulong(flags | signal.SIGCHLD), 0, 0, 0, 0)
        if pid == 0:
            self.run_child(ctl, out, cgroup, listener)
        ctl.close()
        out.close()
        if pid < 0:
            _say("exit %s %d" % (token, 127 << 8))
            _say("clone failed: %s" % posix.strerror(ctypes.get_errno()))
            return
        self.children[pid] = token

    def accept(self, listener):
        conn, _ = listener.accept()
        conn.settimeout(2.0)
        header = b""
        try:
            # Peek, then take exactly the header line: the job bytes behind it are the child's.
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                seen = conn.recv(256, socket.MSG_PEEK)
                if b"\n" in seen or not seen or len(seen) >= 256:
                    header = conn.recv(seen.index(b"\n") + 1) if b"\n" in seen else b""
                    break
                time.sleep(0.0005)
        except OSError:
            pass
        parts = header.decode("ascii", "replace").split()
        if len(parts) != 3 or parts[1] not in ("ctl", "out"):
            conn.close()
            return
        token, role, cgroup = parts
        conn.settimeout(None)
        half = self.halves.setdefault(token, {})
        if role in half:
            conn.close()
            return
        half[role] = (conn, cgroup, time.monotonic())
        if len(half) == 2:
            del self.halves[token]
            self.spawn(token, half["ctl"][0], half["out"][0], half["ctl"][1], listener)

    def drop_stale_halves(self):
        now = time.monotonic()
        for token in [t for t, h in self.halves.items() if any(now - v[2] > 10 for v in h.values())]:
            for conn, _, _ in self.halves.pop(token).values():
                conn.close()

    def reap(self):
        while True:
            try:
                pid, status = posix.waitpid(-1, posix.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            token = self.children.pop(pid, None)
            if token is not None:
                _say("exit %s %d" % (token, status))

    def command(self, line):
        parts = line.split()
        if len(parts) == 2 and parts[0] == "kill":
            for pid, token in list(self.children.items()):
                if token == parts[1]:
                    try:
                        posix.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        elif parts == ["quit"]:
            posix._exit(0)

    def serve(self):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            posix.unlink(SOCKET_PATH)  # left by an earlier template in the same directory
        except FileNotFoundError:
            pass
        listener.bind(SOCKET_PATH)
        listener.listen(128)
        wake_r, wake_w = posix.pipe()
        posix.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        commands = b""
        _say("ready")
        while True:
            readable, _, _ = select.select([listener, 0, wake_r], [], [], 5.0)
            if wake_r in readable:
                posix.read(wake_r, 4096)
            self.reap()
            if 0 in readable:
                data = posix.read(0, 4096)
                if not data:
                    posix._exit(0)  # the server is gone
                commands += data
                while b"\n" in commands:
                    line, commands = commands.split(b"\n", 1)
                    self.command(line.decode("ascii", "replace"))
            if listener in readable:
                self.accept(listener)
            self.drop_stale_halves()


def _reseed():
    """A forked child starts with its template's random state: give it its own."""
    random.seed()
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile._name_sequence = None
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_process is not None:
        mp_process.current_process().authkey = posix.urandom(32)


def _say(line):
    posix.write(1, (line + "\n").encode())


def _warm(preloads):
    """Touch what a typical script touches, so children do not each load it again."""
    if "pandas" in preloads:
        import pandas
        frame = pandas.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
        frame.describe().to_dict()
        frame.groupby("x").sum().to_dict(orient="records")
    runner._encode({"warm": [1, 2.5, None, True]})


def main():
    settings = json.loads(sys.argv[1])
    if posix.getpid() != 1:
        sys.exit("the template must be PID 1 of its jail")
    runner.prepare(settings["preloads"])
    _warm(settings["preloads"])
    threads = posix.listdir("/proc/self/task") if settings["proc"] else ["1"]
    if len(threads) != 1:
        sys.exit("the template must be single-threaded to fork safely; it has %d threads" % len(threads))
    gc.collect()
    gc.freeze()  # children must not dirty the template's pages by collecting them
    Template(settings).serve()


if __name__ == "__main__":
    main()
