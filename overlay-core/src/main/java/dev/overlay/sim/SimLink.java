package dev.overlay.sim;

import dev.overlay.core.Message;
import java.util.ArrayDeque;

/**
 * One simulated connection between two nodes. Each end is pending (dialling, or attached to a
 * dial coming the other way), open, or closed. Messages a pending end sends wait in its queue
 * until the end opens, as a real transport queues writes during the handshake.
 */
final class SimLink {

  static final int PENDING = 0;
  static final int OPEN = 1;
  static final int CLOSED = 2;

  final SimNode dialer;
  final SimNode acceptor;
  /** One-way latency, fixed for the link's life; kept here so a send need not touch the far node. */
  final long latencyNanos;
  private int dialerState = PENDING;
  private int acceptorState = PENDING;
  private ArrayDeque<Message> dialerQueue;
  private ArrayDeque<Message> acceptorQueue;

  SimLink(SimNode dialer, SimNode acceptor, long latencyNanos) {
    this.dialer = dialer;
    this.acceptor = acceptor;
    this.latencyNanos = latencyNanos;
  }

  SimNode other(SimNode end) {
    return end == dialer ? acceptor : dialer;
  }

  int state(SimNode end) {
    return end == dialer ? dialerState : acceptorState;
  }

  void setState(SimNode end, int state) {
    if (end == dialer) dialerState = state;
    else acceptorState = state;
    if (state == CLOSED) clearQueue(end);
  }

  void enqueue(SimNode end, Message m) {
    if (end == dialer) {
      if (dialerQueue == null) dialerQueue = new ArrayDeque<>();
      dialerQueue.add(m);
    } else {
      if (acceptorQueue == null) acceptorQueue = new ArrayDeque<>();
      acceptorQueue.add(m);
    }
  }

  /** Removes and returns what the end queued while pending (may be null). */
  ArrayDeque<Message> takeQueue(SimNode end) {
    ArrayDeque<Message> q;
    if (end == dialer) {
      q = dialerQueue;
      dialerQueue = null;
    } else {
      q = acceptorQueue;
      acceptorQueue = null;
    }
    return q;
  }

  private void clearQueue(SimNode end) {
    if (end == dialer) dialerQueue = null;
    else acceptorQueue = null;
  }
}
