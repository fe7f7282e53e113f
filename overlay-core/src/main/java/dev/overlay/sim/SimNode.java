package dev.overlay.sim;

import dev.overlay.core.Message;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.Outbox;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.core.Timer;
import dev.overlay.node.NodeState;
import java.util.LinkedHashMap;

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
  final LinkedHashMap<PeerId, SimLink> links = new LinkedHashMap<>();

  long joinRequestedAt = -1;
  /** When the current incarnation first had a neighbour; Long.MAX_VALUE until then. */
  long readyAt = Long.MAX_VALUE;
  int restarts;
  boolean crashedForGood;

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
}
