package dev.overlay.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition, with a deadline: the only way our tests wait. */
public final class Await {

  private Await() {}

  /** Returns once {@code condition} holds; fails with {@code what} (evaluated then) after {@code deadline}. */
  public static void until(Duration deadline, BooleanSupplier condition, Supplier<String> what) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0) throw new AssertionError("not within " + deadline + ": " + what.get());
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // between checks of the condition
    }
  }
}
