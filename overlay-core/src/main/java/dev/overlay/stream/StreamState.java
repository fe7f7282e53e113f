package dev.overlay.stream;

import dev.overlay.auth.SealBook;
import dev.overlay.auth.SealFormat;
import dev.overlay.auth.SealForwarder;
import dev.overlay.auth.Sealer;
import dev.overlay.auth.Signatures;
import dev.overlay.broadcast.CacheLayout;
import dev.overlay.broadcast.Plumtree;
import dev.overlay.config.AuthConfig;
import dev.overlay.config.HyParViewConfig;
import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.SeenConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.membership.HyParView;
import dev.overlay.protocol.Links;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Seal;
import dev.overlay.protocol.Timer;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * One joined stream: its HyParView membership, its Plumtree broadcast, its seen set and its
 * publisher authentication. Routes each message and timer of the stream to the protocol that
 * owns it, and tells Plumtree and the application when the active view changes.
 *
 * <p>Where a DATA goes: neighbours only ({@link FormerNeighbors} for frames in flight) →
 * {@link SealBook#authenticate} (nothing unauthenticated goes further) → {@code Plumtree.onData}.
 * Where our own goes: {@link Sealer} (batched under one signature) → {@code Plumtree.publish}
 * → {@link SealForwarder} (the seal on the wire once per batch and link) → the node's outbox.
 */
public final class StreamState implements HyParView.Listener {

  private final StreamId stream;
  private PeerInfo self;
  private final Outbox out;
  private final HyParView membership;
  private final Plumtree broadcast;
  private final SeenMessages seen;
  private final FormerNeighbors former;
  private final PeerRates rates = new PeerRates();
  /** Null when publishers do not sign (AuthConfig.required false). */
  private final SealBook seals;
  private final Sealer sealer;
  private final SealForwarder forwarder;
  /** Random per join, so a rejoin never reuses (session, seq) pairs a neighbour still remembers. */
  private final long session;
  private long lastSeq;
  private long forged;
  private long unsealed;
  private long notPermitted;

  public StreamState(StreamId stream, PeerInfo self, HyParViewConfig membershipConfig,
      PlumtreeConfig broadcastConfig, SeenConfig seenConfig, RandomGenerator rng, Links links, Outbox out) {
    this(stream, self, membershipConfig, broadcastConfig, seenConfig, AuthConfig.off(), null, null, null, rng, links, out,
        CacheLayout.ARENA);
  }

  /**
   * @param publishers the only publishers the stream takes messages from; null for anyone
   * @param signatures this node's signature scheme; unused when {@code auth} does not require seals
   * @param cacheLayout how the message cache keeps messages (the simulator's choice differs)
   */
  public StreamState(StreamId stream, PeerInfo self, HyParViewConfig membershipConfig, PlumtreeConfig broadcastConfig,
      SeenConfig seenConfig, AuthConfig auth, Signatures signatures, SealFormat format, Set<PeerId> publishers,
      RandomGenerator rng, Links links, Outbox out, CacheLayout cacheLayout) {
    this.stream = stream;
    this.self = self;
    this.out = out;
    this.session = rng.nextLong();
    this.seen = new SeenMessages(stream, seenConfig, out);
    this.former = new FormerNeighbors(membershipConfig.formerNeighborGraceNanos());
    if (auth.required()) {
      this.forwarder = new SealForwarder(out);
      this.broadcast = new Plumtree(stream, broadcastConfig, seen, forwarder, cacheLayout);
      this.seals = new SealBook(stream, auth, signatures, format, publishers);
      this.sealer = new Sealer(stream, self.id(), session, signatures, auth, format, out, broadcast::publish);
    } else {
      this.forwarder = null;
      this.broadcast = new Plumtree(stream, broadcastConfig, seen, out, cacheLayout);
      this.seals = publishers == null ? null : new SealBook(stream, auth, signatures, format, publishers);
      this.sealer = null;
    }
    this.membership = new HyParView(stream, membershipConfig, self, rng, links, out, this);
  }
  /** Our own addresses changed: see {@link HyParView#updateSelf}. */
  public void updateSelf(PeerInfo updated) {
    membership.updateSelf(updated);
    self = updated;
  }


  public void start(long now) {
    membership.start(now);
  }

  public void onIntroductions(long now, List<PeerInfo> peers) {
    membership.onIntroductions(now, peers);
  }

  /**
   * Publishes a payload. When publishers sign, the message is numbered now and sent with its
   * seal, now or within {@code sealInterval}; the result counts the neighbours it goes to as of
   * now.
   */
  public PublishResult publish(long now, byte[] payload) {
    long seq = ++lastSeq;
    if (sealer == null) return broadcast.publish(now, self.id(), session, seq, payload);
    PublishResult result = broadcast.preview(self.id(), session, seq);
    sealer.add(now, seq, payload);
    return result;
  }

  /**
   * Handles one message from {@code from}. Returns false when the sender has shown itself
   * hostile (it forwarded a forged message): the node then drops its link.
   */
  public boolean onMessage(long now, PeerId from, Message message) {
    if (!rates.allow(now, from, message)) {
      long refused = rates.report(now, from);
      if (refused > 0) {
        out.emit(new OverlayEvent.Dropped(stream, from, OverlayEvent.DropReason.RATE_LIMITED,
            refused + " membership or IHAVE frames over the peer's budget in the last second"));
      }
      return true;
    }
    if (neighborsOnly(message) && !membership.isActive(from) && !former.withinGrace(now, from)) {
      out.emit(new OverlayEvent.Dropped(stream, from, OverlayEvent.DropReason.NOT_NEIGHBOR,
          message.getClass().getSimpleName() + " from a peer that is not a neighbour in the stream"));
      return true;
    }
    if (message instanceof Message.Data m) {
      if (seals == null) {
        broadcast.onData(now, from, m);
        return true;
      }
      if (sealer == null) { // publishers do not sign here: only the permission is checked
        if (!seals.permits(m.publisher())) return refused(from, m);
        broadcast.onData(now, from, m);
        return true;
      }
      Seal seal = seals.authenticate(now, from, m);
      if (seal == null) return refused(from, m);
      broadcast.onData(now, from, m, seal);
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
    return true;
  }

  /**
   * History a storage node sent for a request of ours (the runtime checked that we asked that
   * peer): each message authenticated like any other, then delivered once. Returns how many
   * messages were taken, from the first; fewer than all when checking the next seal would pass
   * the signature budget (the runtime keeps the rest, and gives the storage node no more credit
   * until they are taken), and -1 when the sender sent a forgery (the node drops its link).
   */
  public int onHistory(long now, PeerId from, java.util.List<Message.Data> messages) {
    for (int i = 0; i < messages.size(); i++) {
      Message.Data m = messages.get(i);
      if (seals == null) {
        broadcast.onHistory(now, m, m.seal());
        continue;
      }
      if (sealer == null) {
        if (!seals.permits(m.publisher())) {
          refused(from, m);
          continue;
        }
        broadcast.onHistory(now, m, null);
        continue;
      }
      Seal seal = seals.authenticate(now, from, m, true);
      if (seal != null) {
        broadcast.onHistory(now, m, seal);
        continue;
      }
      if (seals.permits(m.publisher()) && seals.verdict() == SealBook.Verdict.OVER_BUDGET) return i; // later, not dropped
      if (!refused(from, m)) return -1;
    }
    return messages.size();
  }

  /** A message the seal book refused: dropped and counted; a forgery also costs its sender the link. */
  private boolean refused(PeerId from, Message.Data m) {
    SealBook.Verdict v = seals.permits(m.publisher()) ? seals.verdict() : SealBook.Verdict.NOT_PERMITTED;
    OverlayEvent.DropReason reason = switch (v) {
      case FORGED -> OverlayEvent.DropReason.FORGED;
      case NOT_PERMITTED -> OverlayEvent.DropReason.NOT_PERMITTED;
      case OVER_BUDGET -> OverlayEvent.DropReason.RATE_LIMITED;
      default -> OverlayEvent.DropReason.UNSEALED;
    };
    String detail = v == SealBook.Verdict.NOT_PERMITTED ? "publisher " + m.publisher() + " may not publish in this stream" : seals.detail();
    out.emit(new OverlayEvent.Dropped(stream, from, reason, detail));
    if (v == SealBook.Verdict.FORGED) forged++;
    else if (v == SealBook.Verdict.NOT_PERMITTED) notPermitted++;
    else unsealed++;
    return v != SealBook.Verdict.FORGED;
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
    if (timer instanceof Timer.SealFlush) {
      if (sealer != null) sealer.onTimer(now);
    } else if (timer instanceof Timer.LazyFlush) {
      broadcast.onLazyFlush(now);
    } else if (timer instanceof Timer.GraftTimeout t) {
      broadcast.onGraftTimeout(now, t);
    } else if (timer instanceof Timer.StallCheck t) {
      broadcast.onStallCheck(now, t.publisher());
    } else if (timer instanceof Timer.NeighborTimeout t) {
      membership.onNeighborTimeout(now, t);
    } else if (timer instanceof Timer.RepairTick) {
      membership.onRepairTick(now);
    } else if (timer instanceof Timer.ShuffleTick t) {
      membership.onShuffleTick(now, t);
    } else if (timer instanceof Timer.ReintroductionTick t) {
      membership.onReintroductionTick(now, t);
    } else if (timer instanceof Timer.ChurnTick t) {
      membership.onChurnTick(now, t);
    } else {
      throw new IllegalArgumentException("not a stream timer: " + timer);
    }
  }

  public void onLinkDown(long now, PeerId peer, String reason) {
    membership.onLinkDown(now, peer, reason);
  }

  public void onPeerSlow(long now, PeerId peer) {
    broadcast.demote(now, peer);
  }

  public void onPeerDrained(PeerId peer) {
    broadcast.drained(peer);
  }

  public void onSaturated(boolean saturated) {
    broadcast.saturated(saturated);
  }

  public void onDialFailed(long now, PeerId peer, String reason) {
    membership.onDialFailed(now, peer, reason);
  }

  public void housekeeping(long now) {
    broadcast.housekeeping(now);
    seen.expire(now);
  }

  public void leave(long now, boolean nodeClosing) {
    if (sealer != null) sealer.flush(now); // what was published goes out before we go
    if (!nodeClosing) broadcast.leave(now); // see Event.LeaveStream
    membership.leave(now);
  }

  @Override
  public boolean carriesTree(PeerId peer) {
    return seen.isFrontRunner(peer);
  }

  @Override
  public long firstDeliveries(PeerId peer) {
    return broadcast.firstDeliveries(peer);
  }

  @Override
  public void resetFirstDeliveries() {
    broadcast.resetFirstDeliveries();
  }

  @Override
  public long neighborSince(PeerId peer, long absent) {
    return broadcast.neighborSince(peer, absent);
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
    if (forwarder != null) forwarder.forget(peer);
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

  /** Caps of this stream's own tables, for NodeState.capacityUses. */
  public static final int FORMER_NEIGHBORS_CAPACITY = FormerNeighbors.CAPACITY;
  public static final int RATED_PEERS_CAPACITY = PeerRates.CAPACITY;
  public static final int SEALED_SESSIONS_CAPACITY = SealBook.MAX_SESSIONS;

  public int formerNeighbors() {
    return former.size();
  }

  public int ratedPeers() {
    return rates.size();
  }

  /** Membership and IHAVE frames dropped for being over their sender's budget. */
  public long rateLimited() {
    return rates.refused();
  }

  public int sealedSessions() {
    return seals == null ? 0 : seals.sessions();
  }

  /** Authentication counters: messages dropped as forged, unsealed or not permitted; seals made and verified. */
  public AuthStats authStats() {
    return new AuthStats(forged, unsealed, notPermitted, sealer == null ? 0 : sealer.seals(),
        seals == null ? 0 : seals.verified(), forwarder == null ? 0 : forwarder.sealsSent());
  }

  /** See {@link #authStats}. */
  public record AuthStats(long forged, long unsealed, long notPermitted, long sealsMade, long sealsVerified, long sealsSent) {}
}
