package dev.pyexec.jailer;

/** The sandbox itself failed (not the script): nsjail missing, a jail that would not start. */
public class SandboxException extends Exception {
  public SandboxException(String message) {
    super(message);
  }

  public SandboxException(String message, Throwable cause) {
    super(message, cause);
  }
}
