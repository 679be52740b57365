package dev.pyexec.jailer;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hands every jail its own host uid from a range no real account uses, so that RLIMIT_NPROC
 * counts one jail's processes only and concurrent jails never share an identity.
 */
public final class UidAllocator {
  private final int base;
  private final int size;
  private final AtomicInteger next = new AtomicInteger();

  public UidAllocator(int base, int size) {
    if (base < 1000 || size < 1) {
      throw new IllegalArgumentException("uid range must start above system uids and be non-empty");
    }
    this.base = base;
    this.size = size;
  }

  public static UidAllocator standard() {
    return new UidAllocator(200_000, 50_000);
  }

  /** Whether a host uid belongs to this allocator's range. */
  public boolean owns(int uid) {
    return uid >= base && uid < base + size;
  }

  public int next() {
    return base + Math.floorMod(next.getAndIncrement(), size);
  }
}
