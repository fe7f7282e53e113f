package dev.overlay.sim;

import dev.overlay.protocol.Message;
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
  // The service-time model's backpressure: messages sent towards each end and not yet handled
  // there, and whether the other end counts this link as congested.
  private int unreadByDialer;
  private int unreadByAcceptor;
  private boolean congestedTowardsDialer;
  private boolean congestedTowardsAcceptor;
  // Arrivals at each end held while that node is not reading this link: later ones queue behind
  // them, since a link delivers in order.
  private int heldAtDialer;
  private int heldAtAcceptor;

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

  /** Messages sent towards {@code end} that it has not handled yet; {@code delta} changes the count first. */
  int unread(SimNode end, int delta) {
    if (end == dialer) return unreadByDialer += delta;
    return unreadByAcceptor += delta;
  }

  /** Arrivals held at {@code end} (not read yet); {@code delta} changes the count first. */
  int held(SimNode end, int delta) {
    if (end == dialer) return heldAtDialer += delta;
    return heldAtAcceptor += delta;
  }

  private int episodeTowardsDialer;
  private int episodeTowardsAcceptor;
  private boolean demotedTowardsDialer;
  private boolean demotedTowardsAcceptor;

  /** Counts congestion episodes towards {@code end}, so that a late check names the one it was for; {@code delta} first. */
  int congestionEpisode(SimNode end, int delta) {
    if (end == dialer) return episodeTowardsDialer += delta;
    return episodeTowardsAcceptor += delta;
  }

  /** Whether the sender took {@code end} off the eager path for holding its pause alone. */
  boolean demotedTowards(SimNode end) {
    return end == dialer ? demotedTowardsDialer : demotedTowardsAcceptor;
  }

  void demotedTowards(SimNode end, boolean v) {
    if (end == dialer) demotedTowardsDialer = v;
    else demotedTowardsAcceptor = v;
  }

  /** Whether the sender to {@code end} counts this link as congested. */
  boolean congestedTowards(SimNode end) {
    return end == dialer ? congestedTowardsDialer : congestedTowardsAcceptor;
  }

  void congestedTowards(SimNode end, boolean v) {
    if (end == dialer) congestedTowardsDialer = v;
    else congestedTowardsAcceptor = v;
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
