package dev.pyexec.jailer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whether this instance can really run sandboxed code, with which profile and engine.
 *
 * @param engine "template" or "oneshot" ("none" when unavailable)
 * @param engineStats the engine's figures (templates, executions, fallbacks), for /health and the log
 */
public record SandboxHealth(boolean healthy, String profile, String engine, String detail,
    Map<String, Object> engineStats) {
  public SandboxHealth {
    engineStats = Collections.unmodifiableMap(new LinkedHashMap<>(engineStats));
  }
}
