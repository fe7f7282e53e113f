package dev.overlay.transport;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Whether the node may open one more outbound connection now. Peers name the addresses we dial
 * (the joiners of walks, the origins of shuffles), so dialling must be budgeted, or a peer could
 * aim the node at any host:port and hold every link slot with dials that hang:
 * <ul>
 *   <li>a token bucket of {@code perSecond} attempts (burst the same);</li>
 *   <li>at most {@code maxInProgress} attempts at once;</li>
 *   <li>an address whose last attempts failed is not tried again within its backoff, which
 *       doubles per failure from {@code backoffMin} up to {@code backoffMax} (half fixed, half
 *       random), whatever peer id the dial is for.</li>
 * </ul>
 * Loop-confined; time comes from the caller.
 */
final class DialGate {

  private static final int REMEMBERED_ADDRESSES = 4096;

  private static final class Backoff {
    int failures;
    long notBefore;
  }

  private final int perSecond;
  private final int maxInProgress;
  private final long backoffMin;
  private final long backoffMax;
  private final RandomGenerator random;
  private final LinkedHashMap<String, Backoff> addresses = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Backoff> eldest) {
      return size() > REMEMBERED_ADDRESSES;
    }
  };
  private double tokens;
  private long refilledAt = Long.MIN_VALUE;
  private int inProgress;
  private long refusedBudget;
  private long refusedInProgress;
  private long refusedBackoff;

  DialGate(int perSecond, int maxInProgress, long backoffMin, long backoffMax, RandomGenerator random) {
    this.perSecond = perSecond;
    this.maxInProgress = maxInProgress;
    this.backoffMin = backoffMin;
    this.backoffMax = backoffMax;
    this.random = random;
    this.tokens = perSecond;
  }

  /** Null, and the attempt is counted as started, when {@code address} may be dialled now; otherwise why not. */
  String tryStart(long now, String address) {
    return tryStart(now, address, false);
  }

  /**
   * As {@link #tryStart(long, String)}; with {@code configured}, the address is one the
   * application gave (a seed, a tracker) and is not held back by its backoff, only by the
   * budget: its introducer has its own retry policy, and a tracker that restarts must be found
   * again at once.
   */
  String tryStart(long now, String address, boolean configured) {
    Backoff b = configured ? null : addresses.get(address);
    if (b != null && now < b.notBefore) {
      refusedBackoff++;
      return "address in backoff for another " + (b.notBefore - now) / 1_000_000 + " ms after "
          + b.failures + " failed attempt" + (b.failures == 1 ? "" : "s");
    }
    if (inProgress >= maxInProgress) {
      refusedInProgress++;
      return "dial limit reached (" + maxInProgress + " in progress)";
    }
    refill(now);
    if (tokens < 1) {
      refusedBudget++;
      return "dial budget exhausted (" + perSecond + " per second)";
    }
    tokens -= 1;
    inProgress++;
    return null;
  }

  /** An attempt started by {@link #tryStart} ended: with a link, or not. */
  void finished(long now, String address, boolean linked) {
    if (inProgress > 0) inProgress--;
    if (linked) {
      addresses.remove(address);
      return;
    }
    backoff(now, address);
  }

  /** The address failed: it waits its backoff (also for an attempt released earlier, found guilty later). */
  void backoff(long now, String address) {
    Backoff b = addresses.computeIfAbsent(address, a -> new Backoff());
    b.failures++;
    long ceiling = backoffMin << Math.min(b.failures - 1, 30);
    if (ceiling <= 0 || ceiling > backoffMax) ceiling = backoffMax;
    b.notBefore = now + ceiling / 2 + (long) (random.nextDouble() * (ceiling / 2));
  }

  /** A dial given up by us (not the address's failure): out of the count, and no backoff. */
  void released() {
    if (inProgress > 0) inProgress--;
  }

  /**
   * Whether a dial may add a raced attempt: only while at most half the slots are taken, so
   * that racing never crowds out other peers' first attempts.
   */
  boolean roomToRace() {
    return inProgress < maxInProgress / 2;
  }

  int inProgress() {
    return inProgress;
  }

  long refusedBudget() {
    return refusedBudget;
  }

  long refusedInProgress() {
    return refusedInProgress;
  }

  long refusedBackoff() {
    return refusedBackoff;
  }

  private void refill(long now) {
    if (refilledAt == Long.MIN_VALUE) refilledAt = now;
    tokens = Math.min(perSecond, tokens + (now - refilledAt) * (perSecond / 1e9));
    refilledAt = now;
  }
}
