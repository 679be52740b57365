package dev.pyexec.jailer;

import java.util.Objects;

/**
 * A file written under the jail's /tmp before the script is loaded.
 *
 * @param path relative to /tmp, already checked by the caller (no absolute path, no '..')
 */
public record InputFile(String path, byte[] content) {
  public InputFile {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(content, "content");
  }
}
