package dev.overlay.node;

import dev.overlay.core.PeerId;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The latest incarnation each recently heard-from peer has announced, so that a JOIN, NEIGHBOR
 * or DISCONNECT from an earlier incarnation is recognised and ignored. Least recently used
 * entries are forgotten beyond the capacity; forgetting only weakens the check, never breaks it.
 */
final class IncarnationTable {

  private final int capacity;
  private final LinkedHashMap<PeerId, Long> latest;

  IncarnationTable(int capacity) {
    this.capacity = capacity;
    this.latest = new LinkedHashMap<>(64, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<PeerId, Long> eldest) {
        return size() > IncarnationTable.this.capacity;
      }
    };
  }

  /**
   * Whether {@code incarnation} is older than one already seen from the peer; remembers newer
   * ones. Only for an incarnation the peer itself sent over its own authenticated link: one
   * relayed by a third party (a FORWARD_JOIN's joiner) is checked with {@link #isOlder} and never
   * recorded, or anyone could lock a peer out by naming it with a huge incarnation.
   */
  boolean isStale(PeerId peer, long incarnation) {
    Long known = latest.get(peer);
    if (known != null && incarnation < known) return true;
    if (known == null || incarnation > known) latest.put(peer, incarnation);
    return false;
  }

  /** Whether {@code incarnation} is older than one the peer itself told us; records nothing. */
  boolean isOlder(PeerId peer, long incarnation) {
    Long known = latest.get(peer);
    return known != null && incarnation < known;
  }

  int size() {
    return latest.size();
  }

  int capacity() {
    return capacity;
  }
}
