package dev.overlay.delivery;

import java.util.Arrays;

/**
 * The sequence numbers received from one publisher session, as sorted disjoint intervals.
 *
 * <p>In-order arrival only extends the last interval, so the common case is O(1) and allocates
 * nothing. Holes between the lowest and highest number received are gaps; the set reports them
 * to a {@link GapListener} as they open and close.
 *
 * <p>Bounded: at most {@code maxIntervals} intervals. When one more would be needed, the lowest
 * hole is abandoned (its numbers count as received from then on) and reported. Numbers below
 * the lowest interval are refused as too old once the set is full.
 *
 * <p>Only a new hole above the highest or below the lowest number may take the set to its cap
 * (and only one above past it). A number that would
 * split a hole in two is held back ({@link #HELD_BACK}) once the set is within a quarter of its
 * cap: a hole fetched out of order (GRAFT answers, some refused and asked again later) breaks
 * into as many pieces as there are stragglers, and abandoning the lowest piece lost messages that
 * were still in every cache (the burst scenario of issue 10, once in six fresh CI runs). A number
 * held back is fetched again, and taken the second time whatever the set holds (the caller
 * passes {@code mayHold} false), so that a hole whose edges never come costs no messages;
 * numbers at a hole's edges are always taken.
 */
public final class SeqIntervalSet {

  public static final int NEW = 0;
  public static final int DUPLICATE = 1;
  /** Below everything we track while the set is full: we cannot tell, so we refuse it. */
  public static final int TOO_OLD = 2;
  /** Inside a hole, and taking it would split the hole while the set is near its cap: not recorded; fetch it again later. */
  public static final int HELD_BACK = 3;

  /** Told about holes as they open, close, or are given up. */
  public interface GapListener {
    /** Hears nothing: for a set kept only to know what it holds. */
    GapListener NONE = new GapListener() {
      @Override
      public void gapDetected(long fromSeq, long toSeq) {}

      @Override
      public void gapResolved(long fromSeq, long toSeq) {}

      @Override
      public void gapAbandoned(long fromSeq, long toSeq) {}
    };

    void gapDetected(long fromSeq, long toSeq);

    void gapResolved(long fromSeq, long toSeq);

    void gapAbandoned(long fromSeq, long toSeq);
  }

  private final int maxIntervals;
  /** From this many intervals on, a number that would split a hole is held back; the rest stays for new holes above. */
  private final int splitLimit;
  /** Interval i is [iv[2i], iv[2i+1]]: one array, so a lookup touches one cache line. */
  private long[] iv;
  private int size;

  public SeqIntervalSet(int maxIntervals) {
    if (maxIntervals < 2) throw new IllegalArgumentException("maxIntervals must be at least 2");
    this.maxIntervals = maxIntervals;
    this.splitLimit = maxIntervals - maxIntervals / 4;
    iv = new long[2 * Math.min(2, maxIntervals + 1)];
  }

  /**
   * Makes an empty set start after {@code seq}: numbers up to it count as received (0 stands for
   * "before the first"), so everything above is new and a later number opens a gap from
   * {@code seq + 1}. How a node resumes a session where the application left it.
   *
   * @return false, changing nothing, if the set is not empty
   */
  public boolean startAfter(long seq) {
    if (size != 0) return false;
    if (seq < 0) throw new IllegalArgumentException("seq must not be negative");
    insertAt(0, seq);
    iv[0] = 0;
    return true;
  }

  /** Records {@code seq}; returns {@link #NEW}, {@link #DUPLICATE}, {@link #TOO_OLD} or {@link #HELD_BACK}. */
  public int add(long seq, GapListener gaps) {
    return add(seq, gaps, true);
  }

  /** As {@link #add(long, GapListener)}; with {@code mayHold} false a number is never held back (it was once already). */
  public int add(long seq, GapListener gaps, boolean mayHold) {
    if (size == 0) {
      insertAt(0, seq);
      return NEW;
    }
    int last = size - 1;
    long high = iv[2 * last + 1];
    if (seq == high + 1) { // the common case: the next message in order
      iv[2 * last + 1] = seq;
      return NEW;
    }
    if (seq > high) {
      insertAt(size, seq);
      gaps.gapDetected(high + 1, seq - 1);
      enforceCap(gaps);
      return NEW;
    }
    int i = floorInterval(seq);
    if (i >= 0 && seq <= end(i)) return DUPLICATE;
    if (i < 0) { // below the lowest interval
      if (seq == start(0) - 1) {
        iv[0] = seq;
        return NEW;
      }
      if (size == maxIntervals) return TOO_OLD;
      long oldLow = start(0);
      insertAt(0, seq);
      gaps.gapDetected(seq + 1, oldLow - 1);
      return NEW;
    }
    // seq lies in the hole between interval i and i + 1.
    boolean joinsLeft = seq == end(i) + 1;
    boolean joinsRight = seq == start(i + 1) - 1;
    if (joinsLeft && joinsRight) {
      iv[2 * i + 1] = end(i + 1);
      removeAt(i + 1);
    } else if (joinsLeft) {
      iv[2 * i + 1] = seq;
    } else if (joinsRight) {
      iv[2 * (i + 1)] = seq;
    } else {
      if (mayHold && size >= splitLimit) return HELD_BACK;
      insertAt(i + 1, seq);
    }
    gaps.gapResolved(seq, seq);
    enforceCap(gaps);
    return NEW;
  }

  public boolean contains(long seq) {
    if (size == 0) return false;
    int last = size - 1;
    if (seq >= start(last)) return seq <= end(last); // the usual case: recent messages
    int i = floorInterval(seq);
    return i >= 0 && seq <= end(i);
  }

  /** The smallest number at or above {@code seq} that is not in the set. Intervals never touch, so one step is enough. */
  public long firstMissingFrom(long seq) {
    if (size == 0) return seq;
    int i = floorInterval(seq);
    return i >= 0 && seq <= end(i) ? end(i) + 1 : seq;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** The number of intervals held (1 when nothing is missing). */
  public int intervals() {
    return size;
  }

  public long lowest() {
    return start(0);
  }

  public long highest() {
    return end(size - 1);
  }

  /** The total count of numbers missing between the lowest and the highest. */
  public long missing() {
    long m = 0;
    for (int i = 1; i < size; i++) m += start(i) - end(i - 1) - 1;
    return m;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < size; i++) {
      if (i > 0) sb.append(", ");
      sb.append(start(i));
      if (end(i) != start(i)) sb.append("..").append(end(i));
    }
    return sb.append(']').toString();
  }

  private long start(int i) {
    return iv[2 * i];
  }

  private long end(int i) {
    return iv[2 * i + 1];
  }

  /** The index of the last interval starting at or before seq, or -1. */
  private int floorInterval(long seq) {
    int lo = 0;
    int hi = size - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (start(mid) <= seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  private void insertAt(int index, long seq) {
    if (2 * size == iv.length) iv = Arrays.copyOf(iv, 2 * Math.min(size * 2, maxIntervals + 1));
    System.arraycopy(iv, 2 * index, iv, 2 * index + 2, 2 * (size - index));
    iv[2 * index] = seq;
    iv[2 * index + 1] = seq;
    size++;
  }

  private void removeAt(int index) {
    System.arraycopy(iv, 2 * index + 2, iv, 2 * index, 2 * (size - index - 1));
    size--;
  }

  private void enforceCap(GapListener gaps) {
    if (size <= maxIntervals) return;
    long from = end(0) + 1;
    long to = start(1) - 1;
    iv[1] = end(1);
    removeAt(1);
    gaps.gapAbandoned(from, to);
  }
}
