package dev.overlay.stream;

import dev.overlay.broadcast.Plumtree;
import dev.overlay.broadcast.PlumtreeConfig;
import dev.overlay.core.Links;
import dev.overlay.core.Message;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.Outbox;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.core.Timer;
import dev.overlay.delivery.SeenConfig;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.membership.HyParView;
import dev.overlay.membership.HyParViewConfig;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * One joined stream: its HyParView membership, its Plumtree broadcast and its seen set. Routes
 * each message and timer of the stream to the protocol that owns it, and tells Plumtree and the
 * application when the active view changes.
 */
public final class StreamState implements HyParView.Listener {

  private final StreamId stream;
  private final PeerInfo self;
  private final Outbox out;
  private final HyParView membership;
  private final Plumtree broadcast;
  private final SeenMessages seen;
  private final FormerNeighbors former;
  /** Random per join, so a rejoin never reuses (session, seq) pairs a neighbour still remembers. */
  private final long session;
  private long lastSeq;

  public StreamState(StreamId stream, PeerInfo self, HyParViewConfig membershipConfig,
      PlumtreeConfig broadcastConfig, SeenConfig seenConfig, RandomGenerator rng, Links links, Outbox out) {
    this.stream = stream;
    this.self = self;
    this.out = out;
    this.session = rng.nextLong();
    this.seen = new SeenMessages(stream, seenConfig, out);
    this.former = new FormerNeighbors(membershipConfig.formerNeighborGraceNanos());
    this.broadcast = new Plumtree(stream, broadcastConfig, seen, out);
    this.membership = new HyParView(stream, membershipConfig, self, rng, links, out, this);
  }

  public void start(long now) {
    membership.start(now);
  }

  public void onIntroductions(long now, List<PeerInfo> peers) {
    membership.onIntroductions(now, peers);
  }

  public PublishResult publish(long now, byte[] payload) {
    return broadcast.publish(now, self.id(), session, ++lastSeq, payload);
  }

  public void onMessage(long now, PeerId from, Message message) {
    if (neighborsOnly(message) && !membership.isActive(from) && !former.withinGrace(now, from)) {
      out.emit(new OverlayEvent.Dropped(stream, from, OverlayEvent.DropReason.NOT_NEIGHBOR,
          message.getClass().getSimpleName() + " from a peer that is not a neighbour in the stream"));
      return;
    }
    if (message instanceof Message.Data m) {
      broadcast.onData(now, from, m);
    } else if (message instanceof Message.IHave m) {
      broadcast.onIHave(now, from, m);
    } else if (message instanceof Message.Graft m) {
      broadcast.onGraft(now, from, m);
    } else if (message instanceof Message.Prune m) {
      broadcast.onPrune(now, from, m);
    } else if (message instanceof Message.Join m) {
      membership.onJoin(now, from, m);
    } else if (message instanceof Message.ForwardJoin m) {
      membership.onForwardJoin(now, from, m);
    } else if (message instanceof Message.Neighbor m) {
      membership.onNeighbor(now, from, m);
    } else if (message instanceof Message.NeighborReply m) {
      membership.onNeighborReply(now, from, m);
    } else if (message instanceof Message.Disconnect m) {
      membership.onDisconnect(now, from, m);
    } else if (message instanceof Message.Shuffle m) {
      membership.onShuffle(now, from, m);
    } else if (message instanceof Message.ShuffleReply m) {
      membership.onShuffleReply(now, from, m);
    } else {
      throw new IllegalArgumentException("unhandled message type " + message.getClass().getSimpleName());
    }
  }

  /**
   * Broadcast frames and the membership walks travel only between neighbours. JOIN and NEIGHBOR
   * come from strangers by design; NEIGHBOR_REPLY, DISCONNECT and SHUFFLE_REPLY are checked
   * against what we asked or hold.
   */
  private static boolean neighborsOnly(Message m) {
    return m instanceof Message.Data || m instanceof Message.IHave || m instanceof Message.Graft
        || m instanceof Message.Prune || m instanceof Message.ForwardJoin || m instanceof Message.Shuffle;
  }

  public void onTimer(long now, Timer timer) {
    if (timer instanceof Timer.LazyFlush) {
      broadcast.onLazyFlush(now);
    } else if (timer instanceof Timer.GraftTimeout t) {
      broadcast.onGraftTimeout(now, t);
    } else if (timer instanceof Timer.StallCheck t) {
      broadcast.onStallCheck(now, t.publisher());
    } else if (timer instanceof Timer.NeighborTimeout t) {
      membership.onNeighborTimeout(now, t);
    } else if (timer instanceof Timer.RepairTick) {
      membership.onRepairTick(now);
    } else if (timer instanceof Timer.ShuffleTick) {
      membership.onShuffleTick(now);
    } else {
      throw new IllegalArgumentException("not a stream timer: " + timer);
    }
  }

  public void onLinkDown(long now, PeerId peer, String reason) {
    membership.onLinkDown(now, peer, reason);
  }

  public void onDialFailed(long now, PeerId peer, String reason) {
    membership.onDialFailed(now, peer, reason);
  }

  public void housekeeping(long now) {
    broadcast.housekeeping(now);
    seen.expire(now);
  }

  public void leave(long now) {
    membership.leave(now);
  }

  @Override
  public void neighborUp(long now, PeerInfo peer) {
    former.back(peer.id());
    broadcast.neighborUp(now, peer.id());
    out.emit(new OverlayEvent.NeighborUp(stream, peer.id()));
  }

  @Override
  public void neighborDown(long now, PeerId peer, String reason) {
    former.left(now, peer);
    broadcast.neighborDown(now, peer);
    out.emit(new OverlayEvent.NeighborDown(stream, peer, reason));
  }

  public StreamId id() {
    return stream;
  }

  public long session() {
    return session;
  }

  public HyParView membership() {
    return membership;
  }

  public Plumtree broadcast() {
    return broadcast;
  }

  public SeenMessages seen() {
    return seen;
  }
}
