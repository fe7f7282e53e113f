package dev.overlay.broadcast;

import dev.overlay.core.PeerId;

/**
 * Announcements waiting for the next IHAVE flush: which message, at what hop count, and which
 * peer it came from (that peer is not told about it). Parallel arrays, so queueing allocates
 * nothing; bounded by its capacity.
 */
final class LazyQueue {

  private final PeerId[] publisher;
  private final long[] session;
  private final long[] seq;
  private final int[] hops;
  private final PeerId[] from;
  private int size;

  LazyQueue(int capacity) {
    publisher = new PeerId[capacity];
    session = new long[capacity];
    seq = new long[capacity];
    hops = new int[capacity];
    from = new PeerId[capacity];
  }

  /** Queues one announcement; returns true when the queue is now full and must be flushed. */
  boolean add(PeerId pub, long sess, long sq, int hopCount, PeerId receivedFrom) {
    publisher[size] = pub;
    session[size] = sess;
    seq[size] = sq;
    hops[size] = hopCount;
    from[size] = receivedFrom;
    size++;
    return size == publisher.length;
  }

  int size() {
    return size;
  }

  int capacity() {
    return publisher.length;
  }

  PeerId publisher(int i) {
    return publisher[i];
  }

  long session(int i) {
    return session[i];
  }

  long seq(int i) {
    return seq[i];
  }

  int hops(int i) {
    return hops[i];
  }

  PeerId from(int i) {
    return from[i];
  }

  void clear() {
    java.util.Arrays.fill(publisher, 0, size, null);
    java.util.Arrays.fill(from, 0, size, null);
    size = 0;
  }
}
