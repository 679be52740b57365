package dev.pyexec.jailer;

import java.util.List;

/**
 * The files a script left under /tmp/output/, sorted by path.
 *
 * @param truncated whether files were left out: past a cap, or too deep or too many to look at
 */
public record OutputFiles(List<OutputFile> files, boolean truncated) {
  public static final OutputFiles NONE = new OutputFiles(List.of(), false);

  public OutputFiles {
    files = List.copyOf(files);
  }

  public long totalBytes() {
    long total = 0;
    for (OutputFile file : files) {
      total += file.content().length();
    }
    return total;
  }
}
