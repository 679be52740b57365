package dev.pyexec.function;

import java.time.Duration;

/** A validated POST /execute body: the script and the wall-clock time it may take. */
record ExecuteRequest(String script, Duration timeout) {}
