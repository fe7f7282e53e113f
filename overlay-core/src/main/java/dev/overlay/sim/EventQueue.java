package dev.overlay.sim;

import java.util.Arrays;

/**
 * The simulator's agenda: a binary min-heap of events ordered by (time, sequence). The sequence
 * number is assigned on insertion, so events due at the same instant run in the order they
 * were scheduled, and a run is a pure function of its seed.
 */
final class EventQueue {

  /** Something that happens at a virtual instant. */
  abstract static class Entry {
    long time;
    long seq;

    abstract void fire();
  }

  private Entry[] heap = new Entry[1024];
  private int size;
  private long nextSeq;

  void add(long time, Entry e) {
    e.time = time;
    e.seq = nextSeq++;
    if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
    int i = size++;
    while (i > 0) { // sift up
      int parent = (i - 1) >>> 1;
      Entry p = heap[parent];
      if (!before(e, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = e;
  }

  Entry poll() {
    if (size == 0) return null;
    Entry top = heap[0];
    Entry last = heap[--size];
    heap[size] = null;
    if (size > 0) { // sift down
      int i = 0;
      int half = size >>> 1;
      while (i < half) {
        int child = 2 * i + 1;
        Entry c = heap[child];
        int right = child + 1;
        if (right < size && before(heap[right], c)) {
          child = right;
          c = heap[right];
        }
        if (!before(c, last)) break;
        heap[i] = c;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }

  long peekTime() {
    return size == 0 ? Long.MAX_VALUE : heap[0].time;
  }

  int size() {
    return size;
  }

  private static boolean before(Entry a, Entry b) {
    return a.time < b.time || (a.time == b.time && a.seq < b.seq);
  }
}
