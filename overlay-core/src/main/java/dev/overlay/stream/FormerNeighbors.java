package dev.overlay.stream;

import dev.overlay.core.PeerId;
import dev.overlay.util.PeerStamps;

/**
 * Peers that left a stream's active view recently, with when. Their broadcast frames sent
 * before they heard of the change are still on the way and are taken for
 * {@code formerNeighborGrace}; after that they are a stranger's. Bounded: the oldest goes first.
 */
final class FormerNeighbors {

  static final int CAPACITY = 64;

  private final long graceNanos;
  private final PeerStamps left = new PeerStamps(8);

  FormerNeighbors(long graceNanos) {
    this.graceNanos = graceNanos;
  }

  void left(long now, PeerId peer) {
    expire(now);
    left.remove(peer);
    if (left.size() >= CAPACITY) left.remove(left.get(0));
    left.put(peer, now); // appended: oldest first
  }

  void back(PeerId peer) {
    left.remove(peer);
  }

  boolean withinGrace(long now, PeerId peer) {
    long at = left.stamp(peer, Long.MIN_VALUE);
    return at != Long.MIN_VALUE && now - at < graceNanos;
  }

  int size() {
    return left.size();
  }

  private void expire(long now) {
    while (left.size() > 0 && now - left.stamp(left.get(0), now) >= graceNanos) left.remove(left.get(0));
  }
}
