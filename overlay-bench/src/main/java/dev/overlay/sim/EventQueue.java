package dev.overlay.sim;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The simulator's agenda, ordered strictly by (time, sequence). The sequence number is assigned
 * on insertion, so events due at the same instant run in the order they were scheduled, and a
 * run is a pure function of its seed.
 *
 * <p>A calendar queue: almost every event is due within a few seconds (a link latency, a
 * protocol timer), so events go into a ring of ~1 ms buckets covering ~4 s, and only the rare
 * later ones into an overflow heap. A bucket is sorted once when time reaches it. Adding and
 * removing cost O(1) and touch memory mostly in order, where a binary heap of ~10⁵ events
 * would walk a dozen cold cache lines per operation (that was half of a 10,000-node run).
 */
final class EventQueue {

  /** Something that happens at a virtual instant. */
  abstract static class Entry {
    long time;
    long seq;

    abstract void fire();
  }

  private static final Comparator<Entry> ORDER =
      (a, b) -> a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.seq, b.seq);

  private static final int BUCKET_SHIFT = 20; // 2²⁰ ns ≈ 1.05 ms
  private static final int BUCKETS = 4096; // ≈ 4.3 s of future
  private static final int MASK = BUCKETS - 1;

  private final Entry[][] buckets = new Entry[BUCKETS][];
  private final int[] bucketSizes = new int[BUCKETS];
  /** The bucket being drained: sorted, read from {@code currentPos}. */
  private Entry[] current = new Entry[0];
  private int currentPos;
  private int currentSize;
  /** Events added for the current bucket while it drains (due before its end). */
  private final Heap late = new Heap();
  /** Events beyond the ring. */
  private final Heap overflow = new Heap();

  private long currentBucket; // absolute bucket number (time >> BUCKET_SHIFT) being drained
  private long nextSeq;
  private int size;
  private long lastPolledTime;

  void add(long time, Entry e) {
    e.time = time;
    e.seq = nextSeq++;
    size++;
    long bucket = time >> BUCKET_SHIFT;
    if (bucket <= currentBucket) {
      late.add(e);
    } else if (bucket - currentBucket < BUCKETS) {
      putInRing(bucket, e);
    } else {
      overflow.add(e);
    }
  }

  /** Inserts an older entry (from the overflow heap) where its sequence number belongs. */
  private void putInRingBySeq(long bucket, Entry e) {
    putInRing(bucket, e);
    int b = (int) (bucket & MASK);
    Entry[] arr = buckets[b];
    int i = bucketSizes[b] - 1;
    while (i > 0 && arr[i - 1].seq > e.seq) {
      arr[i] = arr[i - 1];
      i--;
    }
    arr[i] = e;
  }

  private void putInRing(long bucket, Entry e) {
    int b = (int) (bucket & MASK);
    Entry[] arr = buckets[b];
    if (arr == null) {
      arr = new Entry[64];
      buckets[b] = arr;
    } else if (bucketSizes[b] == arr.length) {
      arr = Arrays.copyOf(arr, arr.length * 2);
      buckets[b] = arr;
    }
    arr[bucketSizes[b]++] = e;
  }

  /** Removes the earliest entry; its time is then {@link #lastPolledTime()}. */
  Entry poll() {
    if (size == 0) return null;
    while (true) {
      Entry fromCurrent = currentPos < currentSize ? current[currentPos] : null;
      Entry fromLate = late.peek();
      if (fromCurrent != null || fromLate != null) {
        Entry e;
        if (fromLate == null || (fromCurrent != null && ORDER.compare(fromCurrent, fromLate) < 0)) {
          e = fromCurrent;
          current[currentPos++] = null;
        } else {
          e = late.poll();
        }
        size--;
        lastPolledTime = e.time;
        return e;
      }
      advance();
    }
  }

  long lastPolledTime() {
    return lastPolledTime;
  }

  /** The time of the earliest entry, or Long.MAX_VALUE when empty. */
  long peekTime() {
    if (size == 0) return Long.MAX_VALUE;
    while (true) {
      Entry fromCurrent = currentPos < currentSize ? current[currentPos] : null;
      Entry fromLate = late.peek();
      if (fromCurrent != null || fromLate != null) {
        if (fromLate == null) return fromCurrent.time;
        if (fromCurrent == null) return fromLate.time;
        return Math.min(fromCurrent.time, fromLate.time);
      }
      advance();
    }
  }

  int size() {
    return size;
  }

  /** Moves to the next non-empty bucket, pulling overflow events into the ring as it comes near. */
  private void advance() {
    while (true) {
      if (ringEmpty() && overflow.peek() != null) {
        // Nothing near: jump straight to the first far event.
        currentBucket = (overflow.peek().time >> BUCKET_SHIFT) - 1;
      }
      currentBucket++;
      while (overflow.peek() != null && (overflow.peek().time >> BUCKET_SHIFT) - currentBucket < BUCKETS) {
        Entry e = overflow.poll();
        putInRingBySeq(e.time >> BUCKET_SHIFT, e); // keeps its sequence number, so its place in the order
      }
      int b = (int) (currentBucket & MASK);
      int n = bucketSizes[b];
      if (n == 0) continue;
      Entry[] arr = buckets[b];
      if (current.length < n) current = new Entry[arr.length];
      sortInto(arr, n, current);
      Arrays.fill(arr, 0, n, null);
      bucketSizes[b] = 0;
      currentPos = 0;
      currentSize = n;
      return;
    }
  }

  /**
   * Sorts a bucket by (time, seq) into {@code out}. A bucket's entries are kept in sequence
   * order as they arrive (see {@link #putInRingBySeq}), so sorting by (time offset, position) is
   * sorting by (time, seq); each becomes one long key and a primitive sort does the work, far
   * cheaper than comparing objects.
   */
  private void sortInto(Entry[] arr, int n, Entry[] out) {
    if (keys.length < n) keys = new long[Math.max(n, keys.length * 2)];
    long bucketStart = currentBucket << BUCKET_SHIFT;
    for (int i = 0; i < n; i++) keys[i] = (arr[i].time - bucketStart) << 32 | i;
    Arrays.sort(keys, 0, n);
    for (int i = 0; i < n; i++) out[i] = arr[(int) keys[i]];
  }

  private long[] keys = new long[256];

  /** Called only when the current bucket and the late heap are drained. */
  private boolean ringEmpty() {
    return size == overflow.size();
  }

  /** A binary min-heap on (time, seq), for the few events that do not fit the ring. */
  private static final class Heap {
    private Entry[] heap = new Entry[64];
    private int size;

    void add(Entry e) {
      if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (ORDER.compare(heap[parent], e) <= 0) break;
        heap[i] = heap[parent];
        i = parent;
      }
      heap[i] = e;
    }

    Entry peek() {
      return size == 0 ? null : heap[0];
    }

    Entry poll() {
      Entry top = heap[0];
      Entry last = heap[--size];
      heap[size] = null;
      if (size > 0) {
        int i = 0;
        while (true) {
          int child = 2 * i + 1;
          if (child >= size) break;
          if (child + 1 < size && ORDER.compare(heap[child + 1], heap[child]) < 0) child++;
          if (ORDER.compare(last, heap[child]) <= 0) break;
          heap[i] = heap[child];
          i = child;
        }
        heap[i] = last;
      }
      return top;
    }

    int size() {
      return size;
    }
  }
}
