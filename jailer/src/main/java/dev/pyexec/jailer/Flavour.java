package dev.pyexec.jailer;

import java.util.regex.Pattern;

/** What a jail's runner imports before it waits for its script. */
public enum Flavour {
  /** The runner alone: cheapest to start and to keep warm. */
  PLAIN(""),
  /** numpy and pandas already imported: they cost hundreds of milliseconds each time otherwise. */
  DATA("numpy,pandas");

  private static final Pattern DATA_IMPORT =
      Pattern.compile("^\\s*(?:import|from)\\s+(?:numpy|pandas)\\b", Pattern.MULTILINE);

  private final String preload;

  Flavour(String preload) {
    this.preload = preload;
  }

  /** The comma-separated module list the runner imports up front. */
  public String preload() {
    return preload;
  }

  /**
   * A cheap guess from the script's import lines. A wrong guess costs time (the script imports
   * what it needs itself), never correctness.
   */
  public static Flavour forScript(String script) {
    return DATA_IMPORT.matcher(script).find() ? DATA : PLAIN;
  }
}
