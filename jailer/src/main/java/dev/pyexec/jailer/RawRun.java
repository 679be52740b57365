package dev.pyexec.jailer;

import java.time.Duration;

/**
 * What one jail reported, before it is put into the words of SPEC's error table.
 *
 * @param started whether the runner came up and asked for its script
 * @param frame the runner's result frame, or null if it never sent a whole one
 * @param exitCode nsjail's exit status: the runner's code, or 128 + signal if it was killed
 * @param timedOut whether the server killed the jail at the wall-clock timeout
 * @param diagnostics nsjail's own messages, for the log only
 */
public record RawRun(
    boolean started,
    ResultFrame frame,
    int exitCode,
    boolean timedOut,
    CapturedOutput stdout,
    String diagnostics,
    Duration elapsed) {}
