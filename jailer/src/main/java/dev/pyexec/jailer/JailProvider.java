package dev.pyexec.jailer;

import java.util.Map;

/** Where a jail for the next execution comes from: started on demand, or from the warm pool. */
public interface JailProvider extends AutoCloseable {
  /** A jail nobody has used, for this flavour. */
  Lease take(Flavour flavour) throws SandboxException;

  /** Which engine runs executions now: "template" or "oneshot", for /health. */
  default String engine() {
    return "oneshot";
  }

  /** Figures for /health and the logs. */
  Map<String, Object> stats();

  @Override
  void close();

  /** @param source "pool" or "cold", reported in the request log */
  record Lease(Jail jail, String source) {}
}
