package dev.overlay.node;

import dev.overlay.core.PeerId;
import java.util.LinkedHashMap;

/**
 * The measured round-trip time to each peer the transport has timed, smoothed as RFC 6298 keeps
 * its SRTT ({@code srtt += (sample - srtt) / 8}). Kept after the link closes, so that a passive
 * peer we were once linked to can be preferred as a neighbour for its latency. Bounded: the peers
 * timed least recently are forgotten first (reading a figure does not refresh it).
 *
 * <p>Only our own transport's measurements come in here (a PING of ours answered), never a
 * figure a peer states: a peer can make itself look slower, not faster than it is.
 */
final class RoundTrips {

  /** Enough for every link the default table allows, and the peers of a few past views. */
  static final int CAPACITY = 1024;

  private final LinkedHashMap<PeerId, long[]> srtt = new LinkedHashMap<>(64, 0.75f, false);
  /** Whether a stream uses the peer now: its figure is never the one forgotten. */
  private final java.util.function.Predicate<PeerId> inUse;

  RoundTrips(java.util.function.Predicate<PeerId> inUse) {
    this.inUse = inUse;
  }

  void sample(PeerId peer, long rttNanos) {
    if (rttNanos < 0) return;
    long[] s = srtt.remove(peer); // and put back last: the newest sample is the last forgotten
    if (s == null) s = new long[] {rttNanos};
    else s[0] += (rttNanos - s[0]) / 8;
    srtt.put(peer, s);
    if (srtt.size() > CAPACITY) forgetOldestUnused();
  }

  /**
   * A busy link is timed once, as it comes up (keep-alive PINGs go only on quiet links), so its
   * figure can be the oldest: age alone would let 1,024 newer peers (JOINs, within their budget)
   * erase every neighbour's figure. The oldest figure of a peer no stream uses goes instead; there
   * is always one, as the peers in use are at most the link table's cap, which is below this one's.
   */
  private void forgetOldestUnused() {
    for (java.util.Iterator<PeerId> it = srtt.keySet().iterator(); it.hasNext(); ) {
      if (!inUse.test(it.next())) {
        it.remove();
        return;
      }
    }
    srtt.remove(srtt.keySet().iterator().next()); // every peer in use: the oldest after all
  }

  boolean known(PeerId peer) {
    return srtt.containsKey(peer);
  }

  /** The smoothed round trip to {@code peer}, or -1 when it was never measured. */
  long nanos(PeerId peer) {
    long[] s = srtt.get(peer);
    return s == null ? -1 : s[0];
  }

  int size() {
    return srtt.size();
  }
}
