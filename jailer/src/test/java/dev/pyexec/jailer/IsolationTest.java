package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** SPEC section 2, checked from inside real jails. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IsolationTest {
  private RealSandbox jails;

  @BeforeAll
  void start() {
    jails = RealSandbox.start();
  }

  @AfterAll
  void stop() {
    jails.close();
  }

  @Test
  void cannotConnectToAPortTheHostOpenedOnLoopback() throws IOException {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      JsonObject seen = jails.resultOf("import socket\ndef main():\n"
          + "    try:\n"
          + "        socket.create_connection(('127.0.0.1', " + server.getLocalPort() + "), timeout=2)\n"
          + "        return {'connected': True}\n"
          + "    except OSError as e:\n"
          + "        return {'connected': False, 'error': str(e)}");
      assertThat(seen.get("connected").getAsBoolean()).isFalse();
    }
  }

  @Test
  void cannotReachTheInternetOrTheMetadataServer() {
    JsonObject seen = jails.resultOf("import socket\ndef main():\n"
        + "    out = {}\n"
        + "    for host in ('169.254.169.254', '8.8.8.8'):\n"
        + "        try:\n"
        + "            socket.create_connection((host, 80), timeout=2)\n"
        + "            out[host] = 'connected'\n"
        + "        except OSError as e:\n"
        + "            out[host] = 'refused'\n"
        + "    return out");
    assertThat(seen.get("169.254.169.254").getAsString()).isEqualTo("refused");
    assertThat(seen.get("8.8.8.8").getAsString()).isEqualTo("refused");
  }

  @Test
  void seesNoNetworkInterfaceButLoopback() {
    JsonObject seen = jails.resultOf("import socket\ndef main():\n"
        + "    return {'names': [n for _, n in socket.if_nameindex()]}");
    assertThat(seen.get("names").toString()).isEqualTo("[\"lo\"]");
  }

  @Test
  void environmentHoldsOnlyWhatPythonNeeds() {
    JsonObject seen = jails.resultOf("import os\ndef main():\n    return dict(os.environ)");
    assertThat(seen.keySet()).containsNoneOf("JAVA_HOME", "USER", "PWD", "PYEXEC_NSJAIL", "SHELL",
        "MAVEN_OPTS", "GOOGLE_APPLICATION_CREDENTIALS");
    assertThat(seen.get("HOME").getAsString()).isEqualTo("/tmp");
    assertThat(seen.get("OMP_NUM_THREADS").getAsString()).isEqualTo("1");
  }

  @Test
  void seesNoneOfTheServersFiles() {
    String workDir = System.getProperty("user.dir");
    String home = System.getProperty("user.home");
    JsonObject seen = jails.resultOf("import os\ndef main():\n"
        + "    paths = ['" + workDir + "', '" + home + "', '/root', '/home', '/work', '/app', '/srv',"
        + " '/var', '/run', '/sys', '/usr/local', '/etc/passwd', '/etc/shadow', '/etc/hostname']\n"
        + "    return {'visible': [p for p in paths if os.path.exists(p)], 'root': sorted(os.listdir('/'))}");
    assertThat(seen.getAsJsonArray("visible")).isEmpty();
    assertThat(seen.get("root").toString()).isEqualTo(
        "[\"bin\",\"dev\",\"etc\",\"lib\",\"lib64\",\"opt\",\"proc\",\"tmp\",\"usr\"]");
  }

  @Test
  void systemFilesAreReadOnly() {
    JsonObject seen = jails.resultOf("def main():\n"
        + "    out = {}\n"
        + "    for path in ('/usr/bin/evil', '/etc/evil', '/opt/pyexec/runner.pyc', '/opt/pyexec/runner.py', '/evil'):\n"
        + "        try:\n"
        + "            open(path, 'w').write('x')\n"
        + "            out[path] = 'written'\n"
        + "        except OSError as e:\n"
        + "            out[path] = 'refused'\n"
        + "    return out");
    for (String path : seen.keySet()) {
      assertWithMessage(path).that(seen.get(path).getAsString()).isEqualTo("refused");
    }
  }

  @Test
  void tmpIsWritableAndPrivateToEachExecution() {
    JsonObject first = jails.resultOf("import os\ndef main():\n"
        + "    open('/tmp/left-behind', 'w').write('secret')\n"
        + "    return {'files': os.listdir('/tmp')}");
    assertThat(first.get("files").toString()).contains("left-behind");
    JsonObject second = jails.resultOf("import os\ndef main():\n    return {'files': os.listdir('/tmp')}");
    assertThat(second.get("files").toString()).doesNotContain("left-behind");
  }

  @Test
  void runsUnprivilegedWithoutCapabilitiesAndWithNoNewPrivs() {
    JsonObject seen = jails.resultOf("import os\ndef main():\n"
        + "    s = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
        + "    return {'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(),"
        + " 'caps': [s[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')],"
        + " 'nnp': s['NoNewPrivs'].strip(), 'seccomp': s['Seccomp'].strip()}");
    assertThat(seen.get("uid").getAsInt()).isNotEqualTo(0);
    assertThat(seen.get("euid").getAsInt()).isNotEqualTo(0);
    assertThat(seen.get("gid").getAsInt()).isNotEqualTo(0);
    assertThat(seen.get("caps").toString()).doesNotContainMatch("[1-9a-f]");
    assertThat(seen.get("nnp").getAsString()).isEqualTo("1");
    assertThat(seen.get("seccomp").getAsString()).isEqualTo("2");
  }

  @Test
  void hasItsOwnPidNamespace() {
    JsonObject seen = jails.resultOf("import os\ndef main():\n"
        + "    return {'pid': os.getpid(), 'procs': [p for p in os.listdir('/proc') if p.isdigit()]}");
    assertThat(seen.get("pid").getAsInt()).isEqualTo(1);
    assertThat(seen.getAsJsonArray("procs").size()).isEqualTo(1);
  }

  @Test
  void seccompRefusesWhatNoScriptNeeds() {
    Assumptions.assumeTrue(System.getProperty("os.arch").equals("amd64"), "syscall numbers are x86_64");
    JsonObject seen = jails.resultOf("import ctypes, os\n"
        + "libc = ctypes.CDLL(None, use_errno=True)\n"
        + "CALLS = {'ptrace': (101, 16, 1), 'mount': (165, 0, 0), 'umount2': (166, 0, 0),"
        + " 'unshare_user': (272, 0x10000000, 0), 'unshare_net': (272, 0x40000000, 0),"
        + " 'setns': (308, 0, 0), 'keyctl': (250, 0, 0), 'kexec_load': (246, 0, 0),"
        + " 'perf_event_open': (298, 0, 0), 'bpf': (321, 0, 0), 'userfaultfd': (323, 0, 0),"
        + " 'pivot_root': (155, 0, 0), 'chroot': (161, 0, 0), 'init_module': (175, 0, 0)}\n"
        + "def main():\n"
        + "    out = {}\n"
        + "    for name, (nr, a, b) in CALLS.items():\n"
        + "        rc = libc.syscall(nr, ctypes.c_long(a), ctypes.c_long(b), 0, 0, 0)\n"
        + "        out[name] = 'allowed' if rc >= 0 else os.strerror(ctypes.get_errno())\n"
        + "    return out");
    for (String call : seen.keySet()) {
      assertWithMessage(call).that(seen.get(call).getAsString()).isEqualTo("Operation not permitted");
    }
  }

  @Test
  void threadsAndSubprocessesStillWork() {
    JsonObject seen = jails.resultOf("import threading, subprocess, multiprocessing\n"
        + "def square(x):\n    return x * x\n"
        + "def main():\n"
        + "    box = []\n"
        + "    t = threading.Thread(target=lambda: box.append('thread'))\n"
        + "    t.start(); t.join()\n"
        + "    echo = subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout.strip()\n"
        + "    with multiprocessing.Pool(2) as pool:\n"
        + "        squares = pool.map(square, [1, 2, 3])\n"
        + "    return {'thread': box[0], 'echo': echo, 'squares': squares}");
    assertThat(seen.toString()).isEqualTo("{\"thread\":\"thread\",\"echo\":\"child\",\"squares\":[1,4,9]}");
  }
}
