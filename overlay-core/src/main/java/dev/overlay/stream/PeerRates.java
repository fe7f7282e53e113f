package dev.overlay.stream;

import dev.overlay.core.PeerId;
import dev.overlay.protocol.Message;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How many membership frames and announcements each peer may send a stream per second. Honest
 * peers send a few: a shuffle every 10 s, a walk per join, an IHAVE per 100 ms. A peer sending
 * thousands a second (walks naming made-up joiners, floods of announcements) would otherwise
 * hold the node's loop, and every message of every stream waits behind it. Over budget, a frame
 * is dropped before any work is done on it. Token buckets on the caller's clock, per peer,
 * for the peers heard from most recently.
 */
final class PeerRates {

  static final int CAPACITY = 64;
  /** Membership frames (JOIN, FORWARD_JOIN, NEIGHBOR, NEIGHBOR_REPLY, DISCONNECT, SHUFFLE, SHUFFLE_REPLY). */
  static final int MEMBERSHIP_PER_SECOND = 20;
  /** IHAVE frames: ten a second at the default batching, and catch-ups. */
  static final int IHAVE_PER_SECOND = 50;

  private static final class Buckets {
    double membership = 2 * MEMBERSHIP_PER_SECOND;
    double ihave = 2 * IHAVE_PER_SECOND;
    long at;
    long refused;
    long reportedAt = Long.MIN_VALUE;
  }

  private final LinkedHashMap<PeerId, Buckets> peers = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Buckets> eldest) {
      return size() > CAPACITY;
    }
  };
  private long refusedTotal;

  /** Whether a frame of this kind from {@code peer} may be handled now; other kinds always may. */
  boolean allow(long now, PeerId peer, Message m) {
    boolean membership = !(m instanceof Message.Data || m instanceof Message.IHave || m instanceof Message.Graft
        || m instanceof Message.Prune);
    if (!membership && !(m instanceof Message.IHave)) return true;
    Buckets b = peers.get(peer);
    if (b == null) {
      b = new Buckets();
      b.at = now;
      peers.put(peer, b);
    }
    double seconds = Math.max(0, now - b.at) / 1e9;
    b.at = now;
    b.membership = Math.min(2 * MEMBERSHIP_PER_SECOND, b.membership + seconds * MEMBERSHIP_PER_SECOND);
    b.ihave = Math.min(2 * IHAVE_PER_SECOND, b.ihave + seconds * IHAVE_PER_SECOND);
    if (membership ? b.membership < 1 : b.ihave < 1) {
      b.refused++;
      refusedTotal++;
      return false;
    }
    if (membership) b.membership--;
    else b.ihave--;
    return true;
  }

  /**
   * Whether to report {@code peer}'s refusals now (at most once a second per peer, so a flood is
   * not also a flood of events); returns how many were refused since the last report, or 0.
   */
  long report(long now, PeerId peer) {
    Buckets b = peers.get(peer);
    if (b == null || b.refused == 0 || (b.reportedAt != Long.MIN_VALUE && now - b.reportedAt < 1_000_000_000L)) return 0;
    long n = b.refused;
    b.refused = 0;
    b.reportedAt = now;
    return n;
  }

  long refused() {
    return refusedTotal;
  }

  int size() {
    return peers.size();
  }
}
