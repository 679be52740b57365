package dev.pyexec.jailer;

import java.time.Duration;

/**
 * Sizes of the warm pool, per flavour, and how it refills.
 *
 * @param maxIdle a warm jail older than this is recycled (its lifetime backstop is sized on it)
 * @param refillParallelism how many jails may be starting at once in the background
 * @param memoryCeilingMb the pool stops growing when its estimated resident memory reaches this
 */
public record PoolSettings(
    boolean enabled,
    int plainMin,
    int plainMax,
    int dataMin,
    int dataMax,
    Duration maxIdle,
    int refillParallelism,
    int memoryCeilingMb) {

  /** Resident memory of one waiting jail, measured on Debian 12 (runner alone / with pandas). */
  static final int PLAIN_JAIL_MB = 12;
  static final int DATA_JAIL_MB = 75;

  public PoolSettings {
    if (plainMin < 0 || dataMin < 0 || plainMax < plainMin || dataMax < dataMin) {
      throw new IllegalArgumentException("pool sizes need 0 <= min <= max, got plain "
          + plainMin + ".." + plainMax + ", data " + dataMin + ".." + dataMax);
    }
    if (refillParallelism < 1) {
      throw new IllegalArgumentException("refillParallelism must be at least 1");
    }
    if (maxIdle.isNegative() || maxIdle.isZero()) {
      throw new IllegalArgumentException("maxIdle must be positive");
    }
  }

  public static PoolSettings off() {
    return new PoolSettings(false, 0, 0, 0, 0, Duration.ofSeconds(60), 1, 0);
  }

  public static PoolSettings defaults(int cpus) {
    return new PoolSettings(true, 2, 4 * Math.max(1, cpus), 1, 2 * Math.max(1, cpus),
        Duration.ofSeconds(60), Math.max(1, cpus / 2), 1024);
  }

  int min(Flavour flavour) {
    return flavour == Flavour.DATA ? dataMin : plainMin;
  }

  int max(Flavour flavour) {
    return flavour == Flavour.DATA ? dataMax : plainMax;
  }

  static int memoryMb(Flavour flavour) {
    return flavour == Flavour.DATA ? DATA_JAIL_MB : PLAIN_JAIL_MB;
  }

  @Override
  public String toString() {
    return "plain " + plainMin + ".." + plainMax + ", data " + dataMin + ".." + dataMax
        + ", max idle " + maxIdle.toSeconds() + " s, refill parallelism " + refillParallelism
        + ", memory ceiling " + memoryCeilingMb + " MiB";
  }
}
