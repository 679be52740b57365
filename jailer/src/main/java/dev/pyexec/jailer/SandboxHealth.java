package dev.pyexec.jailer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whether this instance can really run sandboxed code, and with which profile.
 *
 * @param pool warm-pool figures (sizes, hits, misses), empty when the pool is off
 */
public record SandboxHealth(boolean healthy, String profile, String detail, Map<String, Object> pool) {
  public SandboxHealth {
    pool = Collections.unmodifiableMap(new LinkedHashMap<>(pool));
  }
}
