package dev.overlay.broadcast;

import dev.overlay.core.Message.Data;
import dev.overlay.core.PeerId;

/**
 * Recently delivered messages, kept to answer GRAFTs, with the peer each came from and its hop
 * count (for the tree optimisation).
 *
 * <p>A FIFO ring holds the entries in arrival order, so eviction is by age; an open-addressing
 * index (linear probing, backward-shift deletion) finds an entry by message id. Neither
 * allocates per message. Bounded by count, bytes and age.
 */
final class MessageCache {

  private static final int EMPTY = -1;

  private final int capacity;
  private final long maxBytes;
  private final long ttlNanos;

  private final Data[] ring;
  private final PeerId[] ringFrom;
  private final long[] ringTime;
  private int head;
  private int count;
  private long bytes;

  private final int[] index; // ring slot, or EMPTY
  private final int mask;

  MessageCache(int capacity, long maxBytes, long ttlNanos) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.ttlNanos = ttlNanos;
    this.ring = new Data[capacity];
    this.ringFrom = new PeerId[capacity];
    this.ringTime = new long[capacity];
    int tableSize = Integer.highestOneBit(Math.max(2, capacity) * 2 - 1) << 1; // ≥ 2 × capacity
    this.index = new int[tableSize];
    this.mask = tableSize - 1;
    java.util.Arrays.fill(index, EMPTY);
  }

  /** Adds a message that was just delivered. {@code from} is null for our own messages. */
  void put(long now, Data message, PeerId from) {
    int size = message.payload().length;
    if (size > maxBytes) return; // could never fit; the GRAFT will be answered as not cached
    while (count == capacity || bytes + size > maxBytes) evictOldest();
    int slot = (head + count) % capacity;
    ring[slot] = message;
    ringFrom[slot] = from;
    ringTime[slot] = now;
    count++;
    bytes += size;
    int pos = hash(message.publisher(), message.session(), message.seq()) & mask;
    while (index[pos] != EMPTY) pos = (pos + 1) & mask;
    index[pos] = slot;
  }

  /** The ring slot of the message, or -1. */
  int find(PeerId publisher, long session, long seq) {
    int pos = hash(publisher, session, seq) & mask;
    for (int slot = index[pos]; slot != EMPTY; slot = index[pos]) {
      if (ring[slot].sameId(publisher, session, seq)) return slot;
      pos = (pos + 1) & mask;
    }
    return -1;
  }

  Data message(int slot) {
    return ring[slot];
  }

  PeerId from(int slot) {
    return ringFrom[slot];
  }

  /** Records that the tree now expects this message over another link, at another hop count. */
  void reroute(int slot, PeerId from, int hops) {
    ringFrom[slot] = from;
    ring[slot] = ring[slot].withHops(hops);
  }

  /** Drops entries older than the TTL. */
  void expire(long now) {
    while (count > 0 && now - ringTime[head] >= ttlNanos) evictOldest();
  }

  int size() {
    return count;
  }

  long bytes() {
    return bytes;
  }

  int capacity() {
    return capacity;
  }

  private void evictOldest() {
    int slot = head;
    Data d = ring[slot];
    removeFromIndex(slot, d);
    bytes -= d.payload().length;
    ring[slot] = null;
    ringFrom[slot] = null;
    head = (head + 1) % capacity;
    count--;
  }

  private void removeFromIndex(int slot, Data d) {
    int pos = hash(d.publisher(), d.session(), d.seq()) & mask;
    while (index[pos] != slot) pos = (pos + 1) & mask;
    index[pos] = EMPTY;
    // Backward-shift: pull later entries of the probe run into the hole when their home allows.
    int hole = pos;
    for (int j = (pos + 1) & mask; index[j] != EMPTY; j = (j + 1) & mask) {
      Data e = ring[index[j]];
      int home = hash(e.publisher(), e.session(), e.seq()) & mask;
      boolean homeBetweenHoleAndJ = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!homeBetweenHoleAndJ) {
        index[hole] = index[j];
        index[j] = EMPTY;
        hole = j;
      }
    }
  }

  private static int hash(PeerId publisher, long session, long seq) {
    long h = publisher.hashCode() * 0x9E3779B97F4A7C15L ^ session * 0xC2B2AE3D27D4EB4FL ^ seq * 0x165667B19E3779F9L;
    h ^= h >>> 31;
    h *= 0xD6E8FEB86659FD93L;
    return (int) (h ^ (h >>> 32));
  }
}
