package dev.overlay.sim;

import java.util.Arrays;

/**
 * The simulator's agenda: a 4-ary min-heap of events ordered by (time, sequence). The
 * sequence number is assigned on insertion, so events due at the same instant run in the order
 * they were scheduled, and a run is a pure function of its seed.
 *
 * <p>Keys live in primitive arrays beside the entries, so sifting compares longs in a few cache
 * lines instead of chasing an object per comparison; a 4-ary heap halves the depth.
 */
final class EventQueue {

  /** Something that happens at a virtual instant. */
  abstract static class Entry {
    abstract void fire();
  }

  private Entry[] entries = new Entry[4096];
  private long[] times = new long[4096];
  private long[] seqs = new long[4096];
  private int size;
  private long nextSeq;
  private long lastPolledTime;

  void add(long time, Entry e) {
    if (size == entries.length) {
      int grown = size * 2;
      entries = Arrays.copyOf(entries, grown);
      times = Arrays.copyOf(times, grown);
      seqs = Arrays.copyOf(seqs, grown);
    }
    long seq = nextSeq++;
    int i = size++;
    while (i > 0) { // sift up
      int parent = (i - 1) >>> 2;
      if (times[parent] < time || (times[parent] == time && seqs[parent] < seq)) break;
      entries[i] = entries[parent];
      times[i] = times[parent];
      seqs[i] = seqs[parent];
      i = parent;
    }
    entries[i] = e;
    times[i] = time;
    seqs[i] = seq;
  }

  /** Removes the earliest entry; its time is then {@link #lastPolledTime()}. */
  Entry poll() {
    if (size == 0) return null;
    Entry top = entries[0];
    lastPolledTime = times[0];
    int last = --size;
    Entry e = entries[last];
    long time = times[last];
    long seq = seqs[last];
    entries[last] = null;
    if (last > 0) { // sift down
      int i = 0;
      while (true) {
        int first = 4 * i + 1;
        if (first >= last) break;
        int best = first;
        int end = Math.min(first + 4, last);
        for (int c = first + 1; c < end; c++) {
          if (times[c] < times[best] || (times[c] == times[best] && seqs[c] < seqs[best])) best = c;
        }
        if (time < times[best] || (time == times[best] && seq < seqs[best])) break;
        entries[i] = entries[best];
        times[i] = times[best];
        seqs[i] = seqs[best];
        i = best;
      }
      entries[i] = e;
      times[i] = time;
      seqs[i] = seq;
    }
    return top;
  }

  long lastPolledTime() {
    return lastPolledTime;
  }

  long peekTime() {
    return size == 0 ? Long.MAX_VALUE : times[0];
  }

  int size() {
    return size;
  }
}
