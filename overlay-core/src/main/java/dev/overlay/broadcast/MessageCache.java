package dev.overlay.broadcast;

import dev.overlay.core.Message.Data;
import dev.overlay.core.PeerId;
import java.util.Arrays;

/**
 * Recently delivered messages, kept to answer GRAFTs, with the peer each came from and its hop
 * count (for the tree optimisation).
 *
 * <p>A FIFO ring holds the entries in arrival order, so eviction is by age; an open-addressing
 * index (linear probing, backward-shift deletion) finds an entry by message id. Neither
 * allocates per message once grown. Bounded by count, bytes and age; the arrays start small and
 * double up to the count cap, so an idle stream costs a few hundred bytes.
 */
final class MessageCache {

  private static final int EMPTY = -1;
  private static final int INITIAL = 16;

  private final int capacity;
  private final long maxBytes;
  private final long ttlNanos;

  /** Slot i: ring[2i] the message, ring[2i+1] the peer it came from; interleaved to share a cache line. */
  private Object[] ring;
  private long[] ringTime;
  private int slots;
  private int head;
  private int count;
  private long bytes;

  private int[] index; // ring slot, or EMPTY; at least twice the ring's length
  private int mask;

  MessageCache(int capacity, long maxBytes, long ttlNanos) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.ttlNanos = ttlNanos;
    allocate(Math.min(INITIAL, capacity));
  }

  /** Adds a message that was just delivered. {@code from} is null for our own messages. */
  void put(long now, Data message, PeerId from) {
    int size = message.payload().length;
    if (size > maxBytes) return; // could never fit; a GRAFT for it will be answered as not cached
    if (count == slots && slots < capacity) grow();
    while (count == slots || bytes + size > maxBytes) evictOldest();
    int slot = (head + count) % slots;
    ring[2 * slot] = message;
    ring[2 * slot + 1] = from;
    ringTime[slot] = now;
    count++;
    bytes += size;
    insertIndex(slot, message);
  }

  /** The ring slot of the message, or -1. */
  int find(PeerId publisher, long session, long seq) {
    int pos = hash(publisher, session, seq) & mask;
    for (int slot = index[pos]; slot != EMPTY; slot = index[pos]) {
      if (message(slot).sameId(publisher, session, seq)) return slot;
      pos = (pos + 1) & mask;
    }
    return -1;
  }

  Data message(int slot) {
    return (Data) ring[2 * slot];
  }

  PeerId from(int slot) {
    return (PeerId) ring[2 * slot + 1];
  }

  /** Records that the tree now expects this message over another link, at another hop count. */
  void reroute(int slot, PeerId from, int hops) {
    ring[2 * slot + 1] = from;
    ring[2 * slot] = message(slot).withHops(hops);
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

  private void allocate(int ringLength) {
    slots = ringLength;
    ring = new Object[2 * ringLength];
    ringTime = new long[ringLength];
    int tableSize = Integer.highestOneBit(Math.max(2, ringLength) * 2 - 1) << 1; // ≥ 2 × ring length
    index = new int[tableSize];
    mask = tableSize - 1;
    Arrays.fill(index, EMPTY);
  }

  /** Doubles the ring (up to the cap), keeping arrival order, and rebuilds the index. */
  private void grow() {
    Object[] oldRing = ring;
    long[] oldTime = ringTime;
    int oldSlots = slots;
    int oldHead = head;
    allocate(Math.min(capacity, oldSlots * 2));
    for (int i = 0; i < count; i++) {
      int from = (oldHead + i) % oldSlots;
      ring[2 * i] = oldRing[2 * from];
      ring[2 * i + 1] = oldRing[2 * from + 1];
      ringTime[i] = oldTime[from];
      insertIndex(i, message(i));
    }
    head = 0;
  }

  private void insertIndex(int slot, Data message) {
    int pos = hash(message.publisher(), message.session(), message.seq()) & mask;
    while (index[pos] != EMPTY) pos = (pos + 1) & mask;
    index[pos] = slot;
  }

  private void evictOldest() {
    int slot = head;
    Data d = message(slot);
    removeFromIndex(slot, d);
    bytes -= d.payload().length;
    ring[2 * slot] = null;
    ring[2 * slot + 1] = null;
    head = (head + 1) % slots;
    count--;
  }

  private void removeFromIndex(int slot, Data d) {
    int pos = hash(d.publisher(), d.session(), d.seq()) & mask;
    while (index[pos] != slot) pos = (pos + 1) & mask;
    index[pos] = EMPTY;
    // Backward-shift: pull later entries of the probe run into the hole when their home allows.
    int hole = pos;
    for (int j = (pos + 1) & mask; index[j] != EMPTY; j = (j + 1) & mask) {
      Data e = message(index[j]);
      int home = hash(e.publisher(), e.session(), e.seq()) & mask;
      boolean homeBetweenHoleAndJ = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!homeBetweenHoleAndJ) {
        index[hole] = index[j];
        index[j] = EMPTY;
        hole = j;
      }
    }
  }

  /**
   * Groups of 16 consecutive sequence numbers of a session hash to 16 adjacent slots (one cache
   * line of the index), so in-order arrivals write the index nearly sequentially; the groups
   * themselves are spread at random, which keeps probe runs short.
   */
  private static int hash(PeerId publisher, long session, long seq) {
    long h = publisher.hashCode() * 0x9E3779B97F4A7C15L ^ session * 0xC2B2AE3D27D4EB4FL ^ (seq >>> 4) * 0x165667B19E3779F9L;
    h ^= h >>> 31;
    h *= 0xD6E8FEB86659FD93L;
    int group = (int) (h ^ (h >>> 32));
    return group << 4 | (int) (seq & 15);
  }
}
