package dev.overlay.broadcast;

import dev.overlay.core.PeerId;

/**
 * Announcements waiting for the next IHAVE flush: which message, at what hop count, and which
 * peer it came from (that peer is not told about it). Parallel arrays that grow on demand up to
 * the capacity, so an idle stream costs little and queueing allocates nothing once grown.
 */
final class LazyQueue {

  private static final int INITIAL = 16;

  private final int capacity;
  /** Entry i: refs[2i] publisher, refs[2i+1] the peer it came from; nums[3i..3i+2] session, seq, hops. */
  private Object[] refs;
  private long[] nums;
  private int size;

  LazyQueue(int capacity) {
    this.capacity = capacity;
    int initial = Math.min(INITIAL, capacity);
    refs = new Object[2 * initial];
    nums = new long[3 * initial];
  }

  /** Queues one announcement; returns true when the queue is now full and must be flushed. */
  boolean add(PeerId pub, long sess, long sq, int hopCount, PeerId receivedFrom) {
    if (2 * size == refs.length) {
      int n = Math.min(capacity, size * 2);
      refs = java.util.Arrays.copyOf(refs, 2 * n);
      nums = java.util.Arrays.copyOf(nums, 3 * n);
    }
    refs[2 * size] = pub;
    refs[2 * size + 1] = receivedFrom;
    nums[3 * size] = sess;
    nums[3 * size + 1] = sq;
    nums[3 * size + 2] = hopCount;
    size++;
    return size == capacity;
  }

  int size() {
    return size;
  }

  int capacity() {
    return capacity;
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

  long seq(int i) {
    return nums[3 * i + 1];
  }

  int hops(int i) {
    return (int) nums[3 * i + 2];
  }

  void clear() {
    java.util.Arrays.fill(refs, 0, 2 * size, null);
    size = 0;
  }
}
