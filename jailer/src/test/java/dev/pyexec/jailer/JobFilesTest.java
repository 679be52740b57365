package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** stdin, input files and output files, through real jails. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JobFilesTest {
  private RealSandbox jails;

  @BeforeAll
  void start() {
    jails = RealSandbox.start();
  }

  @AfterAll
  void stop() {
    jails.close();
  }

  private ExecutionOutcome run(String script, byte[] stdin, List<InputFile> files) {
    return jails.sandbox.execute(new ScriptJob(script, Duration.ofSeconds(10), stdin, files));
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> paths(ExecutionOutcome outcome) {
    return outcome.files().files().stream().map(OutputFile::path).toList();
  }

  @Test
  void theScriptReadsItsStdin() {
    ExecutionOutcome outcome = run("import sys\ndef main():\n    return [input(), sys.stdin.read()]",
        utf8("first line\nrest \u00e9\n"), List.of());
    assertThat(outcome.result().toString()).isEqualTo("[\"first line\",\"rest \u00e9\\n\"]");
  }

  @Test
  void inputFilesAreWrittenUnderTmpBeforeTheScriptLoads() {
    ExecutionOutcome outcome = run("import os\ntext = open('data/in.csv').read()\n"
        + "def main():\n    return [text, list(open('/tmp/raw.bin', 'rb').read()), os.getcwd()]",
        new byte[0], List.of(new InputFile("data/in.csv", utf8("a,b\n1,2\n")), new InputFile("raw.bin", new byte[] {0, -1})));
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().toString()).isEqualTo("[\"a,b\\n1,2\\n\",[0,255],\"/tmp\"]");
  }

  @Test
  void theOutputDirectoryExistsAndIsEmptyAtStart() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n    return os.listdir('/tmp/output')");
    assertThat(outcome.result().toString()).isEqualTo("[]");
    assertThat(outcome.files().files()).isEmpty();
    assertThat(outcome.files().truncated()).isFalse();
  }

  @Test
  void outputFilesComeBackSortedWithTheirBytes() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    os.makedirs('/tmp/output/sub')\n"
        + "    open('/tmp/output/sub/z.bin', 'wb').write(bytes(range(256)))\n"
        + "    open('/tmp/output/b.txt', 'w').write('bee')\n"
        + "    open('output/a.txt', 'w').write('')\n"
        + "    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(paths(outcome)).containsExactly("a.txt", "b.txt", "sub/z.bin").inOrder();
    assertThat(outcome.files().files().get(1).content().text()).isEqualTo("bee");
    assertThat(outcome.files().files().get(2).content().length()).isEqualTo(256);
    assertThat(outcome.files().files().get(2).content().toByteArray()[255]).isEqualTo((byte) 255);
  }

  @Test
  void outputFilesComeBackWhenTheScriptRaises() {
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    open('/tmp/output/partial.txt', 'w').write('so far')\n"
        + "    raise ValueError('then it broke')");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(paths(outcome)).containsExactly("partial.txt");
  }

  @Test
  void outputFilesComeBackWhenTheScriptExits() {
    ExecutionOutcome outcome = jails.run("import sys\ndef main():\n"
        + "    open('/tmp/output/log.txt', 'w').write('bye')\n"
        + "    sys.exit(3)");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
    assertThat(paths(outcome)).containsExactly("log.txt");
  }

  @Test
  void outputFilesComeBackWhenTheResultIsNotSerializable() {
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    open('/tmp/output/data.bin', 'wb').write(b'\\x00')\n"
        + "    return {1, 2}");
    assertThat(outcome.kind()).isEqualTo(Kind.NOT_SERIALIZABLE);
    assertThat(paths(outcome)).containsExactly("data.bin");
  }

  @Test
  void noOutputFilesWhenTheScriptKillsItsRunner() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    open('/tmp/output/lost.txt', 'w').write('x')\n"
        + "    os._exit(0)");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
    assertThat(outcome.files().files()).isEmpty();
  }

  @Test
  void noOutputFilesAfterATimeout() {
    ExecutionOutcome outcome = jails.run("import time\ndef main():\n"
        + "    open('/tmp/output/late.txt', 'w').write('x')\n"
        + "    time.sleep(30)", Duration.ofSeconds(1));
    assertThat(outcome.kind()).isEqualTo(Kind.TIMEOUT);
    assertThat(outcome.files().files()).isEmpty();
  }

  @Test
  void symlinksAndSpecialFilesAreSkippedNeverFollowed() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    os.symlink('/etc/ld.so.cache', '/tmp/output/outside')\n"
        + "    os.symlink('/usr/lib', '/tmp/output/dir-outside')\n"
        + "    os.mkfifo('/tmp/output/fifo')\n"
        + "    open('/tmp/output/real.txt', 'w').write('real')\n"
        + "    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(paths(outcome)).containsExactly("real.txt");
  }

  @Test
  void anOutputDirectoryReplacedByASymlinkYieldsNothing() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    os.rmdir('/tmp/output')\n"
        + "    os.symlink('/usr/lib/python3', '/tmp/output')\n"
        + "    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.files().files()).isEmpty();
  }

  @Test
  void aSubdirectoryReplacedByASymlinkIsNotFollowed() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n"
        + "    os.symlink('/usr/lib/python3', '/tmp/output/lib')\n"
        + "    os.makedirs('/tmp/output/real')\n"
        + "    open('/tmp/output/real/x', 'w').write('x')\n"
        + "    return 1");
    assertThat(paths(outcome)).containsExactly("real/x");
  }

  @Test
  void tenThousandFilesComeBackAsTheFirst64AndTruncated() {
    long start = System.nanoTime();
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    for i in range(10000):\n"
        + "        open('/tmp/output/f%05d' % i, 'w').close()\n"
        + "    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.files().files()).hasSize(64);
    assertThat(paths(outcome).get(0)).isEqualTo("f00000");
    assertThat(paths(outcome).get(63)).isEqualTo("f00063");
    assertThat(outcome.files().truncated()).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void filesPastTheByteCapAreLeftOutAndTruncated() {
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    for name in ('a', 'b', 'c'):\n"
        + "        open('/tmp/output/' + name, 'wb').write(b'x' * (7 * 1024 * 1024))\n"
        + "    open('/tmp/output/d', 'wb').write(b'small')\n"
        + "    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(paths(outcome)).containsExactly("a", "b", "d").inOrder();
    assertThat(outcome.files().totalBytes()).isAtMost(JobLimits.OUTPUT_BYTES);
    assertThat(outcome.files().truncated()).isTrue();
  }

  @Test
  void aFileThatKeepsGrowingIsCollectedAsItWasWhenOpened() {
    ExecutionOutcome outcome = jails.run("import os, time\ndef main():\n"
        + "    if os.fork() == 0:\n"
        + "        try:\n"
        + "            with open('/tmp/output/growing', 'ab', buffering=0) as f:\n"
        + "                while True:\n"
        + "                    f.write(b'y' * 4096)\n"
        + "                    time.sleep(0.0005)\n"
        + "        finally:\n"
        + "            os._exit(0)\n"
        + "    time.sleep(0.2)\n"
        + "    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(paths(outcome)).containsExactly("growing");
    assertThat(outcome.files().totalBytes()).isAtMost(JobLimits.OUTPUT_BYTES);
  }

  @Test
  void theRunnerRefusesATraversingPathEvenIfTheServerLetItThrough() {
    ExecutionOutcome outcome = run("def main():\n    return 1", new byte[0],
        List.of(new InputFile("../../etc/escaped", utf8("x"))));
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).contains("input files could not be written");
  }
}
