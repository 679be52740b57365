package dev.pyexec.jailer;

/**
 * The bytes of the runner's result frame: a JSON line, then the result's JSON, then the output
 * files. Held once; {@link OutcomeClassifier} checks it and slices it without copying.
 *
 * @param oversize the frame announced more bytes than any honest runner sends: only a script
 *     that stole the nonce can do that, and the bytes were not kept
 */
public record ResultFrame(byte[] body, boolean oversize) {
  static final ResultFrame OVERSIZE = new ResultFrame(new byte[0], true);
}
