package dev.overlay.transport;

import dev.overlay.core.PeerId;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with full jitter per peer: after n consecutive failed dials, the next
 * waits a uniformly random time in [0, min(max, min · 2ⁿ)). Remembers at most {@code capacity}
 * peers, least recently failed forgotten first.
 */
final class DialBackoff {

  private final long minNanos;
  private final long maxNanos;
  private final RandomGenerator random;
  private final LinkedHashMap<PeerId, Integer> failures;

  DialBackoff(long minNanos, long maxNanos, int capacity, RandomGenerator random) {
    this.minNanos = minNanos;
    this.maxNanos = maxNanos;
    this.random = random;
    this.failures = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<PeerId, Integer> eldest) {
        return size() > capacity;
      }
    };
  }

  /** How long to wait before dialling the peer; 0 when its last dial succeeded or it never failed. */
  long delay(PeerId peer) {
    Integer n = failures.get(peer);
    if (n == null) return 0;
    long ceiling = minNanos << Math.min(n - 1, 30);
    if (ceiling <= 0 || ceiling > maxNanos) ceiling = maxNanos;
    return (long) (random.nextDouble() * ceiling);
  }

  void failure(PeerId peer) {
    failures.merge(peer, 1, Integer::sum);
  }

  void success(PeerId peer) {
    failures.remove(peer);
  }
}
