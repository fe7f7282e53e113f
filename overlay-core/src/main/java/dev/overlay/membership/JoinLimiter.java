package dev.overlay.membership;

import dev.overlay.core.PeerId;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The budget of a stream's expensive membership requests. A JOIN costs us random walks to every
 * neighbour, and a high-priority NEIGHBOR that finds the view full evicts an honest neighbour;
 * a peer repeating either could churn our view or amplify its walks. So: one JOIN per peer per
 * {@code joinInterval}, at most {@code budgetPerSecond} JOINs a second in the stream, and at
 * most {@code evictionsPerMinute} forced evictions a minute (token buckets refilled on the
 * caller's clock; the eviction bucket holds half a minute's worth).
 */
final class JoinLimiter {

  private static final int REMEMBERED_PEERS = 256;

  private final long intervalNanos;
  private final int budget;
  private final LinkedHashMap<PeerId, Long> lastJoin = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Long> eldest) {
      return size() > REMEMBERED_PEERS;
    }
  };
  private double tokens;
  private long refilledAt = Long.MIN_VALUE;
  private final int evictionsPerMinute;
  private double evictionTokens;
  private long evictionsRefilledAt = Long.MIN_VALUE;

  JoinLimiter(long intervalNanos, int budgetPerSecond, int evictionsPerMinute) {
    this.intervalNanos = intervalNanos;
    this.budget = budgetPerSecond;
    this.tokens = budgetPerSecond;
    this.evictionsPerMinute = evictionsPerMinute;
    this.evictionTokens = evictionBurst();
  }

  private double evictionBurst() {
    return Math.max(1, evictionsPerMinute / 2.0);
  }

  /** Whether a JOIN from {@code peer} may be served now; takes a token if so. */
  boolean allowJoin(long now, PeerId peer) {
    Long last = lastJoin.get(peer);
    if (last != null && now - last < intervalNanos) return false;
    if (!take(now)) return false;
    lastJoin.put(peer, now);
    return true;
  }

  /** Whether a high-priority request may evict a neighbour now; takes a token if so. */
  boolean allowEviction(long now) {
    if (evictionsRefilledAt == Long.MIN_VALUE) evictionsRefilledAt = now;
    evictionTokens = Math.min(evictionBurst(), evictionTokens + (now - evictionsRefilledAt) * (evictionsPerMinute / 60e9));
    evictionsRefilledAt = now;
    if (evictionTokens < 1) return false;
    evictionTokens -= 1;
    return true;
  }

  private boolean take(long now) {
    if (refilledAt == Long.MIN_VALUE) refilledAt = now;
    tokens = Math.min(budget, tokens + (now - refilledAt) * (budget / 1e9));
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
}
