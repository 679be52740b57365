package dev.pyexec.jailer;

/**
 * A regular file the script left under /tmp/output/, as the jail collected it.
 *
 * @param path relative to /tmp/output/
 */
public record OutputFile(String path, ByteSlice content) {}
