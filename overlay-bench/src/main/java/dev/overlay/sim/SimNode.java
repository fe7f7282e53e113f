package dev.overlay.sim;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.node.NodeState;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;

/**
 * A simulated node: the real {@link NodeState}, with an outbox that turns its commands into
 * simulator events. A crash discards the core; a restart builds a new one with a higher
 * incarnation, as a real process restart would.
 */
final class SimNode implements Outbox {

  final int index;
  final PeerId id;
  private final Simulation sim;

  NodeState core;
  long incarnation;
  boolean alive;
  boolean publisher;
  /** The link this node's end is attached to, per peer. */
  final LinkMap links = new LinkMap();

  long joinRequestedAt = -1;
  /** When the current incarnation first had a neighbour; Long.MAX_VALUE until then. */
  long readyAt = Long.MAX_VALUE;
  /** When any incarnation first had a neighbour; Long.MAX_VALUE until then. */
  long firstReadyAt = Long.MAX_VALUE;
  /**
   * What this node delivered, per publisher session, across restarts: the application's record,
   * kept only when churned nodes resume (SimConfig#resume).
   */
  java.util.Map<dev.overlay.protocol.MessageRef, dev.overlay.delivery.SeqIntervalSet> deliveredRuns;
  int restarts;
  /** The highest number delivered per publisher session by this incarnation, when it resumed (ordered delivery): checks the order. */
  java.util.Map<dev.overlay.protocol.MessageRef, long[]> orderCheck;
  boolean crashedForGood;

  // The service-time model (SimConfig#serviceModelled).
  /** When the node's one CPU is free again. */
  long busyUntil;
  /** Messages sent during the current handler, which cost CPU too; and whether one is running. */
  int sendsThisTurn;
  boolean inHandler;
  /** Links this node is congested towards; while any, it takes messages only from those peers. */
  int congestedLinks;
  /** Arrivals waiting for the CPU, oldest first, and whether the event that serves the next is armed. */
  final java.util.ArrayDeque<Simulation.Arrival> cpuQueue = new java.util.ArrayDeque<>();
  boolean cpuArmed;
  /** Arrivals held while the node takes no messages from their links, oldest first. */
  java.util.ArrayDeque<Simulation.Arrival> paused;
  /** What the core was last told (Event.Saturated). */
  boolean toldSaturated;
  /** Numbers the node's pauses, so that a late forced-resume check is ignored; and whether it fired. */
  int pauseEpisode;
  boolean forcedReading;

  /**
   * Where a restart resumes: the end of the unbroken run delivered from each publisher session's
   * first message (every node here joins before publishing starts, so it wants all of them; a run
   * starting later would leave the hole below it unasked for a second restart).
   */
  java.util.List<dev.overlay.core.Position> resumePositions() {
    java.util.List<dev.overlay.core.Position> out = new java.util.ArrayList<>();
    if (deliveredRuns == null) return out;
    deliveredRuns.forEach((k, seqs) -> out.add(new dev.overlay.core.Position(k.publisher(), k.session(),
        seqs.firstMissingFrom(1) - 1)));
    return out;
  }

  SimNode(int index, PeerId id, Simulation sim) {
    this.index = index;
    this.id = id;
    this.sim = sim;
  }

  PeerInfo info() {
    return PeerInfo.of(id, incarnation);
  }

  @Override
  public void send(PeerId to, Message message) {
    sim.send(this, to, message);
  }

  @Override
  public void connect(PeerInfo peer) {
    sim.dial(this, peer.id());
  }

  @Override
  public void disconnect(PeerId peer) {
    sim.close(this, peer, "closed by peer");
  }

  @Override
  public void schedule(Timer timer, long delayNanos) {
    sim.scheduleTimer(this, timer, delayNanos);
  }

  @Override
  public void deliver(Message.Data message) {
    sim.metrics().onDeliver(this, message, sim.now());
    if (orderCheck != null) {
      long[] high = orderCheck.computeIfAbsent(new dev.overlay.protocol.MessageRef(message.publisher(), message.session(), 0), k -> new long[] {-1});
      if (message.seq() < high[0]) sim.metrics().outOfOrder++;
      else high[0] = message.seq();
    }
    if (deliveredRuns != null) {
      deliveredRuns.computeIfAbsent(new dev.overlay.protocol.MessageRef(message.publisher(), message.session(), 0),
          k -> new dev.overlay.delivery.SeqIntervalSet(Integer.MAX_VALUE / 4)).add(message.seq(), dev.overlay.delivery.SeqIntervalSet.GapListener.NONE);
    }
  }

  @Override
  public void emit(OverlayEvent event) {
    sim.onNodeEvent(this, event);
  }

  @Override
  public void requestIntroductions(StreamId stream) {
    sim.requestIntroductions(this, stream);
  }

  @Override
  public void published(PublishResult result) {
    sim.metrics().onPublished(this, result, sim.now());
  }

  @Override
  public String toString() {
    return "node" + index + "(" + id + ")";
  }

  /**
   * The node's links by peer: a few dozen at most, so one array of (peer, link) pairs scanned by
   * identity first (ids are shared instances in the simulator) beats a hash map's scattered
   * entries.
   */
  static final class LinkMap {
    private Object[] pairs = new Object[16]; // pairs[2i] peer id, pairs[2i+1] its link
    private int size;

    SimLink get(PeerId peer) {
      for (int i = 0; i < size; i++) {
        if (pairs[2 * i] == peer) return (SimLink) pairs[2 * i + 1];
      }
      for (int i = 0; i < size; i++) {
        if (pairs[2 * i].equals(peer)) return (SimLink) pairs[2 * i + 1];
      }
      return null;
    }

    boolean containsKey(PeerId peer) {
      return get(peer) != null;
    }

    void put(PeerId peer, SimLink link) {
      for (int i = 0; i < size; i++) {
        if (pairs[2 * i].equals(peer)) {
          pairs[2 * i + 1] = link;
          return;
        }
      }
      if (2 * size == pairs.length) pairs = java.util.Arrays.copyOf(pairs, pairs.length * 2);
      pairs[2 * size] = peer;
      pairs[2 * size + 1] = link;
      size++;
    }

    SimLink remove(PeerId peer) {
      for (int i = 0; i < size; i++) {
        if (pairs[2 * i].equals(peer)) {
          SimLink l = (SimLink) pairs[2 * i + 1];
          System.arraycopy(pairs, 2 * i + 2, pairs, 2 * i, 2 * (size - i - 1));
          size--;
          pairs[2 * size] = null;
          pairs[2 * size + 1] = null;
          return l;
        }
      }
      return null;
    }

    /** A snapshot of the links, oldest first. */
    java.util.List<SimLink> values() {
      java.util.List<SimLink> out = new java.util.ArrayList<>(size);
      for (int i = 0; i < size; i++) out.add((SimLink) pairs[2 * i + 1]);
      return out;
    }

    void clear() {
      java.util.Arrays.fill(pairs, 0, 2 * size, null);
      size = 0;
    }
  }
}
