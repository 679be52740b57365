package dev.pyexec.function;

import dev.pyexec.jailer.InputFile;
import java.time.Duration;
import java.util.List;

/**
 * A validated POST /execute body: the script, the wall-clock time it may take, what it reads on
 * stdin and the files it finds under /tmp.
 *
 * @param scriptBytes the script's size in UTF-8, measured once for the limit and the log
 */
record ExecuteRequest(String script, int scriptBytes, Duration timeout, byte[] stdin, List<InputFile> files) {}
