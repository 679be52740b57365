package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import dev.pyexec.jailer.ExecutionOutcome.Kind;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Every row of SPEC's error table, produced by real scripts in real jails. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutcomeTableTest {
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
  void successReturnsMainsValueAndEverythingPrinted() {
    ExecutionOutcome outcome = jails.run("print('at import')\ndef main():\n    print('hi')\n    return {'ok': True}");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().toString()).isEqualTo("{\"ok\":true}");
    assertThat(outcome.stdout().text()).isEqualTo("at import\nhi\n");
  }

  @Test
  void tuplesBecomeLists() {
    assertThat(jails.run("def main():\n    return (1, (2, 3))").result().toString()).isEqualTo("[1,[2,3]]");
  }

  @Test
  void pandasAndNumpyAreAvailable() {
    ExecutionOutcome outcome = jails.run("import numpy as np\nimport pandas as pd\n"
        + "def main():\n    df = pd.DataFrame({'a': np.arange(3)})\n    return int(df['a'].sum())");
    assertThat(outcome.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(outcome.result().getAsInt()).isEqualTo(3);
  }

  @Test
  void syntaxErrorNamesSyntaxErrorAndTheLine() {
    ExecutionOutcome outcome = jails.run("def main():\n    x = 1 +\n    return x");
    assertThat(outcome.kind()).isEqualTo(Kind.SYNTAX_ERROR);
    assertThat(outcome.message()).contains("SyntaxError");
    assertThat(outcome.message()).contains("line 2");
  }

  @Test
  void missingMainIsReported() {
    ExecutionOutcome outcome = jails.run("print('no main here')");
    assertThat(outcome.kind()).isEqualTo(Kind.NO_MAIN);
    assertThat(outcome.message()).contains("main()");
    assertThat(outcome.stdout().text()).isEqualTo("no main here\n");
  }

  @Test
  void nonCallableMainIsReported() {
    ExecutionOutcome outcome = jails.run("main = 5");
    assertThat(outcome.kind()).isEqualTo(Kind.NO_MAIN);
    assertThat(outcome.message()).contains("not callable");
  }

  @Test
  void mainThatNeedsArgumentsIsReported() {
    ExecutionOutcome outcome = jails.run("def main(x, y=2):\n    return x");
    assertThat(outcome.kind()).isEqualTo(Kind.NO_MAIN);
    assertThat(outcome.message()).contains("requires: x");
  }

  @Test
  void exceptionInMainGivesTypeMessageAndTraceback() {
    ExecutionOutcome outcome = jails.run("def main():\n    print('before')\n    return 1 / 0");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).startsWith("ZeroDivisionError: division by zero");
    assertThat(outcome.traceback()).contains("line 3, in main");
    assertThat(outcome.traceback()).doesNotContain("runner.py");
    assertThat(outcome.stdout().text()).isEqualTo("before\n");
  }

  @Test
  void exceptionAtImportTimeIsReported() {
    ExecutionOutcome outcome = jails.run("import no_such_module_xyz\ndef main():\n    return 1");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).startsWith("ModuleNotFoundError");
    assertThat(outcome.message()).contains("while loading the script");
  }

  @Test
  void nonSerializableResultNamesTheType() {
    ExecutionOutcome outcome = jails.run("import numpy as np\ndef main():\n    return {'a': np.array([1])}");
    assertThat(outcome.kind()).isEqualTo(Kind.NOT_SERIALIZABLE);
    assertThat(outcome.message()).contains("ndarray");
    assertThat(outcome.message()).contains("JSON");
  }

  @Test
  void nanIsNotJson() {
    ExecutionOutcome outcome = jails.run("def main():\n    return [float('inf')]");
    assertThat(outcome.kind()).isEqualTo(Kind.NOT_SERIALIZABLE);
    assertThat(outcome.message()).contains("JSON");
  }

  @Test
  void sysExitBeforeReturnIsAnEarlyExit() {
    ExecutionOutcome outcome = jails.run("import sys\ndef main():\n    print('bye')\n    sys.exit(3)");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
    assertThat(outcome.message()).contains("sys.exit(3)");
    assertThat(outcome.stdout().text()).isEqualTo("bye\n");
  }

  @Test
  void exitBuiltinWorksAsInAnInterpreter() {
    ExecutionOutcome outcome = jails.run("def main():\n    exit(2)");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
    assertThat(outcome.message()).contains("sys.exit(2)");
  }

  @Test
  void osExitBeforeReturnIsAnEarlyExit() {
    ExecutionOutcome outcome = jails.run("import os\ndef main():\n    print('bye', flush=True)\n    os._exit(7)");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
    assertThat(outcome.message()).contains("exit code 7");
    assertThat(outcome.stdout().text()).isEqualTo("bye\n");
  }

  @Test
  void timeoutKeepsPartialStdoutAndSaysHowLong() {
    long start = System.nanoTime();
    ExecutionOutcome outcome = jails.run(
        "import time\ndef main():\n    print('started')\n    time.sleep(30)", Duration.ofMillis(1500));
    long tookMillis = (System.nanoTime() - start) / 1_000_000;
    assertThat(outcome.kind()).isEqualTo(Kind.TIMEOUT);
    assertThat(outcome.message()).isEqualTo("Execution timed out after 1.5 s");
    assertThat(outcome.stdout().text()).isEqualTo("started\n");
    assertThat(tookMillis).isLessThan(4000);
  }

  @Test
  void mainGuardDoesNotRunMainTwice() {
    ExecutionOutcome outcome = jails.run(
        "def main():\n    print('once')\n    return 1\nif __name__ == '__main__':\n    main()");
    assertThat(outcome.stdout().text()).isEqualTo("once\n");
  }

  @Test
  void asyncMainIsAwaited() {
    ExecutionOutcome outcome = jails.run("async def main():\n    return 'awaited'");
    assertThat(outcome.result().getAsString()).isEqualTo("awaited");
  }

  @Test
  void resultOverTheLimitIsRefused() {
    ExecutionOutcome outcome = jails.run("def main():\n    return 'x' * (9 * 1024 * 1024)");
    assertThat(outcome.kind()).isEqualTo(Kind.RESULT_TOO_LARGE);
  }

  @Test
  void integersOfAnySizeStayNumbers() {
    ExecutionOutcome outcome = jails.run("def main():\n    return [10**100, -2**70, 1.5]");
    assertThat(outcome.resultJson().text()).isEqualTo("[" + "1" + "0".repeat(100) + ",-1180591620717411303424,1.5]");
  }

  @Test
  void deeplyNestedResultsPassUntilPythonCannotEncodeThem() {
    ExecutionOutcome deep = jails.run("def main():\n    x = []\n    for _ in range(300):\n        x = [x]\n    return x");
    assertThat(deep.kind()).isEqualTo(Kind.SUCCESS);
    assertThat(deep.resultJson().text()).startsWith("[[[[");
    ExecutionOutcome tooDeep = jails.run("def main():\n    x = []\n    for _ in range(100000):\n        x = [x]\n    return x");
    assertThat(tooDeep.kind()).isEqualTo(Kind.NOT_SERIALIZABLE);
  }

  @Test
  void hugeExceptionMessagesAreCut() {
    ExecutionOutcome outcome = jails.run("def main():\n    raise ValueError('X' * (9 * 1024 * 1024))");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message().length()).isLessThan(70_000);
    assertThat(outcome.traceback().length()).isLessThan(300_000);
  }

  @Test
  void hugeExceptionTypeNamesAndExitCodesAreCutToFitTheFrame() {
    ExecutionOutcome named = jails.run("def main():\n    raise type('E' * (5 << 20), (Exception,), {})('m')");
    assertThat(named.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(named.message().length()).isLessThan(70_000);
    ExecutionOutcome exited = jails.run("import sys\ndef main():\n    sys.exit('c' * (5 << 20))");
    assertThat(exited.kind()).isEqualTo(Kind.EXITED);
    assertThat(exited.message().length()).isLessThan(70_000);
  }

  @Test
  void exceptionWhoseMessageCannotBeRenderedIsStillReported() {
    ExecutionOutcome outcome = jails.run("class Odd(Exception):\n    def __str__(self):\n        raise SystemExit(3)\n"
        + "def main():\n    raise Odd()");
    assertThat(outcome.kind()).isEqualTo(Kind.SCRIPT_ERROR);
    assertThat(outcome.message()).startsWith("Odd");
  }

  @Test
  void exitWithAHugeCodeIsAnEarlyExit() {
    ExecutionOutcome outcome = jails.run("import sys\ndef main():\n    sys.exit(10**5000)");
    assertThat(outcome.kind()).isEqualTo(Kind.EXITED);
    assertThat(outcome.message()).contains("very large int");
  }

  @Test
  void stdoutArrivesCompleteEveryTime() {
    for (int i = 0; i < 40; i++) {
      ExecutionOutcome outcome = jails.run("def main():\n    print('hello', " + i + ")\n    return 1");
      assertThat(outcome.stdout().text()).isEqualTo("hello " + i + "\n");
    }
  }

  @Test
  void printedJsonIsJustStdout() {
    ExecutionOutcome outcome = jails.run("def main():\n"
        + "    print('{\"result\": \"spoofed\", \"status\": \"ok\"}')\n    return 'real'");
    assertThat(outcome.result().getAsString()).isEqualTo("real");
    assertThat(outcome.stdout().text()).isEqualTo("{\"result\": \"spoofed\", \"status\": \"ok\"}\n");
  }

  @Test
  void stderrNeverReachesStdout() {
    ExecutionOutcome outcome = jails.run("import os, sys, subprocess\ndef main():\n"
        + "    print('err', file=sys.stderr)\n    os.write(2, b'raw err')\n"
        + "    subprocess.run(['sh', '-c', 'echo child err >&2'])\n    print('out')\n    return 1");
    assertThat(outcome.stdout().text()).isEqualTo("out\n");
  }

  @Test
  void outputOfChildProcessesKeepsItsOrder() {
    ExecutionOutcome outcome = jails.run("import subprocess\ndef main():\n"
        + "    print('one')\n    subprocess.run(['echo', 'two'])\n    print('three')");
    assertThat(outcome.stdout().text()).isEqualTo("one\ntwo\nthree\n");
  }
}
