package dev.overlay.broadcast;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message.Data;
import java.util.Arrays;

/**
 * Recently delivered messages, kept to answer GRAFTs, with the peer each came from and its hop
 * count (for the tree optimisation).
 *
 * <p>A FIFO ring holds the entries in arrival order, so eviction is by age; an open-addressing
 * index (linear probing, backward-shift deletion) finds an entry by message id. Bounded by count,
 * bytes and age; the arrays start small and double up to the count cap, so an idle stream costs
 * a few hundred bytes.
 *
 * <p>Two ways to keep a message. With {@code arena} (the default for real nodes) the cache
 * keeps its fields in primitive arrays and copies the payload into one byte array, used as a
 * ring: a busy cache is then a handful of large arrays that the garbage collector never looks
 * inside, rather than a hundred thousand message objects that every young collection copies
 * (in the 20-node demo at 20,000 msg/s those copies made 150 ms pauses). A GRAFT answer builds
 * the message again. Without it (the simulator's choice) the cache keeps the message objects
 * themselves: there, thousands of nodes share each object, and copies would multiply the heap.
 *
 * <p>Nothing is allocated per message in either way once the arrays have grown.
 */
final class MessageCache {

  private static final int EMPTY = -1;
  private static final int INITIAL = 16;
  private static final int INITIAL_ARENA = 4096;
  // Per-slot fields, packed so that one entry shares a cache line or two.
  private static final int L_TIME = 0;
  private static final int L_SESSION = 1;
  private static final int L_SEQ = 2;
  private static final int LONGS = 3;
  private static final int I_HASH = 0;
  private static final int I_BYTES = 1;
  private static final int I_HOPS = 2;
  private static final int I_OFFSET = 3;
  private static final int INTS = 4;
  private static final int REFS = 3;

  private final StreamId stream;
  private final int capacity;
  private final long maxBytes;
  private final long ttlNanos;
  private final boolean arenaMode;

  /**
   * Slot i: refs[3i] the message (or, in arena mode, its publisher), refs[3i+1] the peer it came
   * from, refs[3i+2] its seal, which a GRAFT answer carries again.
   */
  private Object[] refs;
  private long[] longs;
  private int[] ints;
  private int slots;
  private int head;
  private int count;
  private long bytes;

  private byte[] arena; // arena mode: payloads, in ring order; null until the first message
  private int arenaTail; // where the next payload goes

  private int[] index; // ring slot, or EMPTY; at least twice the ring's length
  /** The full hash of each index entry, so probing and deletion never touch the entries themselves. */
  private int[] indexHash;
  private int mask;

  MessageCache(StreamId stream, int capacity, long maxBytes, long ttlNanos, boolean arena) {
    this.stream = stream;
    this.capacity = capacity;
    this.maxBytes = arena ? Math.min(maxBytes, Integer.MAX_VALUE - 8) : maxBytes;
    this.ttlNanos = ttlNanos;
    this.arenaMode = arena;
    allocate(Math.min(INITIAL, capacity));
  }

  /** Adds a message that was just delivered. {@code from} is null for our own messages. */
  void put(long now, Data message, PeerId from) {
    put(now, message, from, message.seal());
  }

  /** Adds a message that was just delivered, with the seal that authenticated it (or null). */
  void put(long now, Data message, PeerId from, dev.overlay.protocol.Seal seal) {
    int size = message.payload().length;
    if (size > maxBytes) return; // could never fit; a GRAFT for it will be answered as not cached
    if (count == slots && slots < capacity) grow();
    while (count == slots || bytes + size > maxBytes) evictOldest();
    int offset = arenaMode ? reserve(size) : 0;
    int slot = (head + count) % slots;
    int h = hash(message.publisher(), message.session(), message.seq());
    if (arenaMode) {
      refs[REFS * slot] = message.publisher();
      System.arraycopy(message.payload(), 0, arena, offset, size);
    } else {
      refs[REFS * slot] = message;
    }
    refs[REFS * slot + 1] = from;
    refs[REFS * slot + 2] = seal;
    int l = slot * LONGS;
    longs[l + L_TIME] = now;
    longs[l + L_SESSION] = message.session();
    longs[l + L_SEQ] = message.seq();
    int i = slot * INTS;
    ints[i + I_HASH] = h;
    ints[i + I_BYTES] = size;
    ints[i + I_HOPS] = message.hops();
    ints[i + I_OFFSET] = offset;
    count++;
    bytes += size;
    insertIndex(slot, h);
  }

  /** The ring slot of the message, or -1. */
  int find(PeerId publisher, long session, long seq) {
    int h = hash(publisher, session, seq);
    int pos = h & mask;
    for (int slot = index[pos]; slot != EMPTY; slot = index[pos]) {
      if (indexHash[pos] == h && longs[slot * LONGS + L_SEQ] == seq && longs[slot * LONGS + L_SESSION] == session
          && publisher(slot).equals(publisher)) {
        return slot;
      }
      pos = (pos + 1) & mask;
    }
    return -1;
  }

  /** The message in the slot: the kept object, or (arena mode) a new one built from the copy. */
  Data message(int slot) {
    if (!arenaMode) {
      Data d = (Data) refs[REFS * slot];
      return d.withSeal((dev.overlay.protocol.Seal) refs[REFS * slot + 2], false);
    }
    int i = slot * INTS;
    int offset = ints[i + I_OFFSET];
    byte[] payload = Arrays.copyOfRange(arena, offset, offset + ints[i + I_BYTES]);
    int l = slot * LONGS;
    return new Data(stream, publisher(slot), longs[l + L_SESSION], longs[l + L_SEQ], ints[i + I_HOPS], payload,
        (dev.overlay.protocol.Seal) refs[REFS * slot + 2], false);
  }

  int hops(int slot) {
    return ints[slot * INTS + I_HOPS];
  }

  PeerId from(int slot) {
    return (PeerId) refs[REFS * slot + 1];
  }

  /** Records that the tree now expects this message over another link, at another hop count. */
  void reroute(int slot, PeerId from, int hops) {
    refs[REFS * slot + 1] = from;
    ints[slot * INTS + I_HOPS] = hops;
    if (!arenaMode) refs[REFS * slot] = ((Data) refs[REFS * slot]).withHops(hops);
  }

  /** Drops entries older than the TTL. */
  void expire(long now) {
    while (count > 0 && now - longs[head * LONGS + L_TIME] >= ttlNanos) evictOldest();
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

  private PeerId publisher(int slot) {
    Object o = refs[REFS * slot];
    return arenaMode ? (PeerId) o : ((Data) o).publisher();
  }

  private void allocate(int ringLength) {
    slots = ringLength;
    refs = new Object[REFS * ringLength];
    longs = new long[LONGS * ringLength];
    ints = new int[INTS * ringLength];
    int tableSize = Integer.highestOneBit(Math.max(2, ringLength) * 2 - 1) << 1; // ≥ 2 × ring length
    index = new int[tableSize];
    indexHash = new int[tableSize];
    mask = tableSize - 1;
    Arrays.fill(index, EMPTY);
  }

  /** Doubles the ring (up to the cap), keeping arrival order, and rebuilds the index. */
  private void grow() {
    Object[] oldRefs = refs;
    long[] oldLongs = longs;
    int[] oldInts = ints;
    int oldSlots = slots;
    int oldHead = head;
    allocate(Math.min(capacity, oldSlots * 2));
    for (int i = 0; i < count; i++) {
      int from = (oldHead + i) % oldSlots;
      System.arraycopy(oldRefs, REFS * from, refs, REFS * i, REFS);
      System.arraycopy(oldLongs, LONGS * from, longs, LONGS * i, LONGS);
      System.arraycopy(oldInts, INTS * from, ints, INTS * i, INTS);
      insertIndex(i, ints[INTS * i + I_HASH]);
    }
    head = 0;
  }

  /**
   * Arena mode: finds {@code size} contiguous bytes after the newest payload, wrapping to the
   * start when the end is too short, growing the arena (up to the byte cap) or evicting the
   * oldest entries when there is no room. Returns the offset.
   */
  private int reserve(int size) {
    if (arena == null) arena = new byte[(int) Math.min(maxBytes, Math.max(INITIAL_ARENA, size))];
    while (true) {
      if (bytes == 0) arenaTail = 0; // nothing live (or only empty payloads): start over
      int headOffset = count == 0 ? arenaTail : ints[head * INTS + I_OFFSET];
      boolean wrapped = bytes > 0 && arenaTail <= headOffset;
      if (!wrapped) {
        if (arena.length - arenaTail >= size) return take(arenaTail, size);
        if (headOffset >= size && bytes > 0) return take(0, size); // the end stays unused until the ring passes it
      } else if (headOffset - arenaTail >= size) {
        return take(arenaTail, size);
      }
      if (arena.length < maxBytes) {
        growArena(size);
      } else {
        evictOldest();
      }
    }
  }

  private int take(int offset, int size) {
    arenaTail = offset + size;
    return offset;
  }

  /** Doubles the arena (up to the byte cap), packing the live payloads at its start in ring order. */
  private void growArena(int size) {
    long wanted = Math.max((long) arena.length * 2, bytes + size);
    byte[] bigger = new byte[(int) Math.min(maxBytes, wanted)];
    int at = 0;
    for (int k = 0; k < count; k++) {
      int i = ((head + k) % slots) * INTS;
      int n = ints[i + I_BYTES];
      System.arraycopy(arena, ints[i + I_OFFSET], bigger, at, n);
      ints[i + I_OFFSET] = at;
      at += n;
    }
    arena = bigger;
    arenaTail = at;
  }

  private void insertIndex(int slot, int h) {
    int pos = h & mask;
    while (index[pos] != EMPTY) pos = (pos + 1) & mask;
    index[pos] = slot;
    indexHash[pos] = h;
  }

  private void evictOldest() {
    int slot = head;
    removeFromIndex(slot);
    bytes -= ints[slot * INTS + I_BYTES];
    refs[REFS * slot] = null;
    refs[REFS * slot + 1] = null;
    refs[REFS * slot + 2] = null;
    head = (head + 1) % slots;
    count--;
  }

  private void removeFromIndex(int slot) {
    int pos = ints[slot * INTS + I_HASH] & mask;
    while (index[pos] != slot) pos = (pos + 1) & mask;
    index[pos] = EMPTY;
    // Backward-shift: pull later entries of the probe run into the hole when their home allows.
    int hole = pos;
    for (int j = (pos + 1) & mask; index[j] != EMPTY; j = (j + 1) & mask) {
      int home = indexHash[j] & mask;
      boolean homeBetweenHoleAndJ = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!homeBetweenHoleAndJ) {
        index[hole] = index[j];
        indexHash[hole] = indexHash[j];
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
