package dev.overlay.broadcast;

import dev.overlay.core.PeerId;

/**
 * Announcements waiting for the next IHAVE flush, as runs: consecutive sequence numbers of one
 * publisher session that came from the same peer (which is not told about them) collapse into
 * one run. A publisher's messages arrive in order, so between flushes a stream usually holds one
 * open run per publisher, and extending it touches only this object's fields.
 *
 * <p>Closed runs sit in parallel arrays that grow on demand up to {@code capacity} runs; a run is
 * closed early at {@code maxRunLength} so that no announcement exceeds what a peer accepts.
 *
 * <p>Internal, not API: public only so that a JMH benchmark in overlay-bench can measure it.
 */
public final class LazyQueue {

  private static final int INITIAL = 8;

  private final int capacity;
  private final int maxRunLength;

  // The open run, extended in place.
  private PeerId openPublisher; // null when there is no open run
  private PeerId openFrom;
  private long openSession;
  private long openFirstSeq;
  private int openCount;
  private int openHops;

  /** Closed run i: refs[2i] publisher, refs[2i+1] from; nums[3i..3i+2] session, first seq, count << 32 | hops. */
  private Object[] refs;
  private long[] nums;
  private int closed;

  public LazyQueue(int capacity, int maxRunLength) {
    this.capacity = capacity;
    this.maxRunLength = maxRunLength;
    refs = new Object[2 * Math.min(INITIAL, capacity)];
    nums = new long[3 * Math.min(INITIAL, capacity)];
  }

  /** Queues one announcement; returns true when the queue is now full and must be flushed. */
  public boolean add(PeerId publisher, long session, long seq, int hops, PeerId from) {
    if (openPublisher != null && openFirstSeq + openCount == seq && openSession == session
        && openCount < maxRunLength && same(openPublisher, publisher) && same(openFrom, from)) {
      openCount++;
      if (hops > openHops) openHops = hops;
      return false;
    }
    if (openPublisher != null) close();
    openPublisher = publisher;
    openFrom = from;
    openSession = session;
    openFirstSeq = seq;
    openCount = 1;
    openHops = hops;
    return runs() >= capacity;
  }

  private static boolean same(PeerId a, PeerId b) {
    return a == b || (a != null && a.equals(b));
  }

  /** The number of runs, the open one included. */
  public int runs() {
    return closed + (openPublisher == null ? 0 : 1);
  }

  int capacity() {
    return capacity;
  }

  /** Closes the open run, so that runs {@code 0 .. runs()-1} can be read. */
  public void seal() {
    if (openPublisher != null) close();
  }

  PeerId publisher(int i) {
    return (PeerId) refs[2 * i];
  }

  PeerId from(int i) {
    return (PeerId) refs[2 * i + 1];
  }

  long session(int i) {
    return nums[3 * i];
  }

  public long firstSeq(int i) {
    return nums[3 * i + 1];
  }

  public int count(int i) {
    return (int) (nums[3 * i + 2] >>> 32);
  }

  int hops(int i) {
    return (int) nums[3 * i + 2];
  }

  public void clear() {
    java.util.Arrays.fill(refs, 0, 2 * closed, null);
    closed = 0;
    openPublisher = null;
    openFrom = null;
  }

  private void close() {
    if (2 * closed == refs.length) {
      int n = Math.min(capacity, Math.max(1, closed) * 2);
      refs = java.util.Arrays.copyOf(refs, 2 * n);
      nums = java.util.Arrays.copyOf(nums, 3 * n);
    }
    refs[2 * closed] = openPublisher;
    refs[2 * closed + 1] = openFrom;
    nums[3 * closed] = openSession;
    nums[3 * closed + 1] = openFirstSeq;
    nums[3 * closed + 2] = (long) openCount << 32 | (openHops & 0xFFFFFFFFL);
    closed++;
    openPublisher = null;
    openFrom = null;
  }
}
