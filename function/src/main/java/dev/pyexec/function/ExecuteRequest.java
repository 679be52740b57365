package dev.pyexec.function;

import java.time.Duration;

/**
 * A validated POST /execute body: the script and the wall-clock time it may take.
 *
 * @param scriptBytes the script's size in UTF-8, measured once for the limit and the log
 */
record ExecuteRequest(String script, int scriptBytes, Duration timeout) {}
