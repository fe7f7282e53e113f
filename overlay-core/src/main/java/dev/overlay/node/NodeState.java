package dev.overlay.node;

import dev.overlay.auth.SealFormat;
import dev.overlay.auth.Signatures;
import dev.overlay.broadcast.CacheLayout;
import dev.overlay.config.NodeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import dev.overlay.stream.StreamState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The protocol core of one node: a pure, deterministic state machine.
 *
 * <p>Input is {@link #handle(long, Event)}: the current time and one event. Output goes to the
 * {@link Outbox} given at construction: sends, dials, timers, deliveries and events. There are
 * no threads, clocks, sockets or global randomness in here; time and a seeded random generator
 * come from outside. That is what lets the Netty runtime and the simulator run the same code.
 *
 * <p>Where a message goes: {@link Event.Received} → the stream's {@link StreamState} (after
 * the sender and incarnation checks below) → {@code HyParView} for membership messages,
 * {@code Plumtree} for broadcast messages.
 */
public final class NodeState {

  private final NodeConfig config;
  private PeerInfo self;
  private final RandomGenerator rng;
  private final Outbox out;
  private final LinkTable links;
  /** Links the runtime holds outside any stream (Event.HoldLink): storage nodes and their askers. */
  private final java.util.Set<PeerId> holds = new java.util.HashSet<>();
  private final IncarnationTable incarnations;
  private final Signatures signatures;
  private final CacheLayout cacheLayout;
  private final SealFormat sealFormat = new SealFormat();
  private final LinkedHashMap<StreamId, StreamState> streams = new LinkedHashMap<>();
  private StreamState lastStream; // messages come in runs for one stream: skip the hash lookup
  private boolean started;

  /**
   * A node that neither signs nor checks seals: only with {@code config.auth()} not required.
   *
   * @param self this node's id, incarnation (larger after every restart) and addresses
   * @param rng the only source of randomness; seed it for reproducible runs
   */
  public NodeState(NodeConfig config, PeerInfo self, RandomGenerator rng, Outbox out) {
    this(config, self, rng, null, out);
    if (config.auth().required()) throw new IllegalArgumentException("publishers sign (auth.required): give the node its Signatures");
  }

  /**
   * @param self this node's id, incarnation (larger after every restart) and addresses
   * @param rng the only source of randomness; seed it for reproducible runs
   * @param signatures this node's key, and how to check others' seals
   */
  public NodeState(NodeConfig config, PeerInfo self, RandomGenerator rng, Signatures signatures, Outbox out) {
    this(config, self, rng, signatures, out, CacheLayout.ARENA);
  }

  /**
   * As above, with the message caches' memory layout chosen: {@link CacheLayout#SHARED_OBJECTS}
   * for the simulator, whose nodes share message objects. Behaviour is the same either way.
   */
  public NodeState(NodeConfig config, PeerInfo self, RandomGenerator rng, Signatures signatures, Outbox out,
      CacheLayout cacheLayout) {
    this.cacheLayout = cacheLayout;
    this.config = config;
    this.signatures = signatures;
    this.self = self;
    this.rng = rng;
    this.out = out;
    this.links = new LinkTable(config.maxLinks(), config.linkIdleTimeoutNanos(), out);
    this.incarnations = new IncarnationTable(config.incarnationTableCapacity());
  }

  /** Starts node-wide upkeep. Call once, before the first event. */
  public void start(long now) {
    if (started) return;
    started = true;
    out.schedule(Timer.Housekeeping.INSTANCE, config.housekeepingIntervalNanos());
  }

  /** Handles one event at time {@code now} (nanoseconds on the caller's monotonic clock). */
  public void handle(long now, Event event) {
    if (event instanceof Event.Received e) {
      onReceived(now, e.from(), e.message());
    } else if (event instanceof Event.TimerFired e) {
      onTimer(now, e.timer());
    } else if (event instanceof Event.PeerConnected e) {
      links.onConnected(now, e.peer());
    } else if (event instanceof Event.PeerDisconnected e) {
      if (links.onDown(e.peer())) {
        for (StreamState s : streamList()) s.onLinkDown(now, e.peer(), e.reason());
      }
    } else if (event instanceof Event.RoundTrip e) {
      links.onRoundTrip(e.peer(), e.nanos());
    } else if (event instanceof Event.PeerSlow e) {
      for (StreamState s : streamList()) s.onPeerSlow(now, e.peer());
    } else if (event instanceof Event.PeerDrained e) {
      for (StreamState s : streamList()) s.onPeerDrained(e.peer());
    } else if (event instanceof Event.Saturated e) {
      saturated = e.saturated();
      for (StreamState s : streamList()) s.onSaturated(saturated);
    } else if (event instanceof Event.DialFailed e) {
      links.onDown(e.peer());
      for (StreamState s : streamList()) s.onDialFailed(now, e.peer(), e.reason());
    } else if (event instanceof Event.Publish e) {
      out.published(publish(now, e.stream(), e.payload()));
    } else if (event instanceof Event.JoinStream e) {
      join(now, e.stream(), e.publishers(), e.start());
    } else if (event instanceof Event.HoldLink e) {
      // One hold per peer, released only if it was taken: a refused hold (no room) never
      // releases a stream's own use of the link.
      if (e.hold()) {
        if (!holds.contains(e.peer().id()) && holds.size() < config.maxLinks() && links.tryAcquire(now, e.peer())) holds.add(e.peer().id());
      } else if (holds.remove(e.peer().id())) {
        links.release(now, e.peer().id());
      }
    } else if (event instanceof Event.History e) {
      StreamState s = streams.get(e.stream());
      int taken = s == null ? e.messages().size() : s.onHistory(now, e.from(), e.messages()); // left: nothing to take it
      if (taken < 0) dropHostile(now, e.from(), "sent a forged message as history");
      out.historyTaken(e.from(), e.stream(), taken);
    } else if (event instanceof Event.HistoryGap e) {
      StreamState s = streams.get(e.stream());
      if (s != null) s.broadcast().historyGap(now, e.publisher(), e.session(), e.fromSeq(), e.toSeq());
    } else if (event instanceof Event.HistoryEnded e) {
      StreamState s = streams.get(e.stream());
      if (s != null) s.broadcast().historyEnded(now);
    } else if (event instanceof Event.Introductions e) {
      StreamState s = streams.get(e.stream());
      if (s != null) s.onIntroductions(now, e.peers());
    } else if (event instanceof Event.LeaveStream e) {
      StreamState s = streams.remove(e.stream());
      if (s == lastStream) lastStream = null;
      if (s != null) s.leave(now, e.nodeClosing());
    } else {
      throw new IllegalArgumentException("unhandled event " + event);
    }
  }

  // ---- Introspection ----------------------------------------------------------------------

  public PeerInfo self() {
    return self;
  }

  /**
   * This node's addresses changed (its NAT mapped the listening port elsewhere): every stream
   * sends the new ones from now on. Only the candidates may change: the id and incarnation stay.
   */
  public void updateSelf(PeerInfo updated) {
    if (!updated.id().equals(self.id()) || updated.incarnation() != self.incarnation()) {
      throw new IllegalArgumentException("only the addresses of this node may change, not its id or incarnation");
    }
    self = updated;
    for (StreamState s : streams()) s.updateSelf(updated);
  }

  public NodeConfig config() {
    return config;
  }

  public boolean isJoined(StreamId stream) {
    return streams.containsKey(stream);
  }

  /** The joined stream's state, or null. For introspection and tests; do not mutate. */
  public StreamState stream(StreamId stream) {
    return streams.get(stream);
  }

  public Collection<StreamState> streams() {
    return List.copyOf(streams.values());
  }

  public List<PeerId> linkedPeers() {
    return links.peers();
  }

  /** The smoothed round trip to the peer our transport measured, in nanoseconds, or -1 when never. */
  public long roundTripNanos(PeerId peer) {
    return links.roundTripNanos(peer);
  }

  /** Links refused, or not dialled, because the link table was full (each also an event: PeerRefused or Dropped). */
  public long linksRefused() {
    return links.refused();
  }

  /** How full each bounded table is, against its cap; the simulator checks these. */
  public List<CapacityUse> capacityUses() {
    List<CapacityUse> uses = new ArrayList<>();
    uses.add(new CapacityUse("streams", streams.size(), config.maxStreams()));
    uses.add(new CapacityUse("links", links.size(), config.maxLinks()));
    uses.add(new CapacityUse("incarnations", incarnations.size(), incarnations.capacity()));
    uses.add(new CapacityUse("round trips", links.timedPeers(), RoundTrips.CAPACITY));
    for (StreamState s : streams.values()) {
      String p = "stream " + s.id() + " ";
      var m = s.membership();
      var b = s.broadcast();
      var bc = config.broadcast();
      uses.add(new CapacityUse(p + "active view", m.activeSize(), config.membership().activeViewCapacity()));
      uses.add(new CapacityUse(p + "passive view", m.passiveSize(), config.membership().passiveViewCapacity()));
      uses.add(new CapacityUse(p + "pending neighbour requests", m.pendingSize(), config.membership().maxPendingRequests()));
      uses.add(new CapacityUse(p + "former neighbours", s.formerNeighbors(), StreamState.FORMER_NEIGHBORS_CAPACITY));
      uses.add(new CapacityUse(p + "peer rates", s.ratedPeers(), StreamState.RATED_PEERS_CAPACITY));
      uses.add(new CapacityUse(p + "sealed sessions", s.sealedSessions(), StreamState.SEALED_SESSIONS_CAPACITY));
      uses.add(new CapacityUse(p + "message cache", b.cacheSize(), bc.messageCacheCapacity()));
      uses.add(new CapacityUse(p + "message cache bytes", b.cacheBytes(), bc.messageCacheBytes()));
      uses.add(new CapacityUse(p + "missing messages", b.missingSize(), bc.maxMissing()));
      uses.add(new CapacityUse(p + "pending announcements", b.pendingAnnouncements(), bc.maxPendingAnnouncements()));
      uses.add(new CapacityUse(p + "trees", b.treeCount(), bc.maxPublisherTrees()));
      uses.add(new CapacityUse(p + "seen publishers", s.seen().publisherCount(), config.seen().maxPublishers()));
      uses.add(new CapacityUse(p + "intervals per session", s.seen().maxIntervalsInUse(), config.seen().maxIntervalsPerSession()));
    }
    return uses;
  }

  /** One bounded table's size against its cap. */
  public record CapacityUse(String table, long size, long cap) {
    public boolean exceeded() {
      return size > cap;
    }
  }

  // ---- Internals --------------------------------------------------------------------------

  /** Whether the transport has stopped reading (backpressure): see {@link Event.Saturated}. */
  private boolean saturated;

  private void join(long now, StreamId stream, java.util.Set<PeerId> publishers, dev.overlay.core.StartAt start) {
    StreamState joined = streams.get(stream);
    if (joined != null) {
      // Already in: a start asked for now applies to what the node has not delivered yet.
      if (!start.isLive()) joined.broadcast().startAt(now, start);
      return;
    }
    if (streams.size() >= config.maxStreams()) {
      out.emit(new OverlayEvent.Dropped(stream, null, DropReason.CAPACITY,
          "stream limit reached (" + config.maxStreams() + "): not joining"));
      return;
    }
    StreamState s = new StreamState(stream, self, config.membership(), config.broadcast(), config.seen(), config.auth(),
        signatures, sealFormat, publishers, rng, links, out, cacheLayout);
    streams.put(stream, s);
    if (saturated) s.onSaturated(true); // a stream joined during a pause is backpressured too
    s.broadcast().startAt(now, start); // before any neighbour: the first catch-up already counts
    s.start(now);
  }

  private PublishResult publish(long now, StreamId stream, byte[] payload) {
    StreamState s = streams.get(stream);
    if (s == null) return PublishResult.refused(stream, PublishResult.Status.NOT_JOINED);
    if (payload.length > config.maxPayloadBytes()) return PublishResult.refused(stream, PublishResult.Status.TOO_LARGE);
    return s.publish(now, payload);
  }

  private void onReceived(long now, PeerId from, Message message) {
    if (message instanceof Message.TrackerMessage) { // the runtime's business; a node never sends one to a node
      drop(message, from, DropReason.UNEXPECTED, message.getClass().getSimpleName());
      return;
    }
    StreamState s = lookup(message.stream());
    if (s == null) {
      onUnknownStream(now, from, message);
      return;
    }
    if (!passesMembershipChecks(from, message)) return;
    if (message instanceof Message.Data d && d.payload().length > config.maxPayloadBytes()) {
      drop(message, from, DropReason.TOO_LARGE, "payload of " + d.payload().length + " bytes, limit " + config.maxPayloadBytes());
      return;
    }
    if (!s.onMessage(now, from, message)) dropHostile(now, from, "forwarded a forged message");
  }

  /**
   * A message naming a sender must come from that sender, and one from an earlier incarnation
   * of its sender is stale. Returns whether the message may be handled.
   */
  private boolean passesMembershipChecks(PeerId from, Message message) {
    PeerInfo claimed = null;
    long incarnation;
    if (message instanceof Message.Join m) {
      claimed = m.sender();
      incarnation = claimed.incarnation();
    } else if (message instanceof Message.Neighbor m) {
      claimed = m.sender();
      incarnation = claimed.incarnation();
    } else if (message instanceof Message.Disconnect m) {
      incarnation = m.incarnation();
    } else if (message instanceof Message.ForwardJoin m) {
      // Relayed, so the joiner is not the sender: its incarnation is checked, never recorded.
      if (incarnations.isOlder(m.joiner().id(), m.joiner().incarnation())) {
        drop(message, from, DropReason.STALE_INCARNATION, "FORWARD_JOIN for an earlier incarnation of " + m.joiner().id());
        return false;
      }
      return true;
    } else {
      return true;
    }
    if (claimed != null && !claimed.id().equals(from)) {
      drop(message, from, DropReason.SPOOFED_SENDER, message.getClass().getSimpleName() + " claims sender " + claimed.id());
      return false;
    }
    if (incarnations.isStale(from, incarnation)) {
      drop(message, from, DropReason.STALE_INCARNATION,
          message.getClass().getSimpleName() + " from incarnation " + incarnation);
      return false;
    }
    return true;
  }

  /**
   * A peer that forwards forgeries loses its link, in every stream: it is either the forger or
   * relays one unchecked. Streams see the link go down as if it had failed.
   */
  private void dropHostile(long now, PeerId peer, String why) {
    out.emit(new OverlayEvent.PeerRefused(peer, why));
    out.disconnect(peer);
    if (links.onDown(peer)) {
      for (StreamState s : streamList()) s.onLinkDown(now, peer, why);
    }
  }

  /** Tells a peer that thinks we are in a stream that we are not, so it stops asking. */
  private void onUnknownStream(long now, PeerId from, Message message) {
    drop(message, from, DropReason.UNKNOWN_STREAM, message.getClass().getSimpleName());
    if (!(message instanceof Message.Disconnect) && !(message instanceof Message.NeighborReply)
        && !(message instanceof Message.ShuffleReply)) {
      links.send(now, from, new Message.Disconnect(message.stream(), self.incarnation(), false));
    }
  }

  private void drop(Message message, PeerId from, DropReason reason, String detail) {
    out.emit(new OverlayEvent.Dropped(message.stream(), from, reason, detail));
  }

  private void onTimer(long now, Timer timer) {
    if (timer instanceof Timer.Housekeeping) {
      out.schedule(Timer.Housekeeping.INSTANCE, config.housekeepingIntervalNanos());
      links.closeIdle(now);
      for (StreamState s : streams.values()) s.housekeeping(now);
      return;
    }
    StreamState s = lookup(streamOf(timer));
    if (s != null) s.onTimer(now, timer); // else: the stream was left; the timer is stale
  }

  private StreamState lookup(StreamId stream) {
    StreamState s = lastStream;
    if (s != null && s.id().value() == stream.value()) return s;
    s = streams.get(stream);
    if (s != null) lastStream = s;
    return s;
  }

  private static StreamId streamOf(Timer timer) {
    if (timer instanceof Timer.ShuffleTick t) return t.stream();
    if (timer instanceof Timer.ReintroductionTick t) return t.stream();
    if (timer instanceof Timer.ChurnTick t) return t.stream();
    if (timer instanceof Timer.RepairTick t) return t.stream();
    if (timer instanceof Timer.NeighborTimeout t) return t.stream();
    if (timer instanceof Timer.LazyFlush t) return t.stream();
    if (timer instanceof Timer.GraftTimeout t) return t.stream();
    if (timer instanceof Timer.StallCheck t) return t.stream();
    if (timer instanceof Timer.SealFlush t) return t.stream();
    throw new IllegalArgumentException("unhandled timer " + timer);
  }

  /** A copy, because handlers may join or leave streams while we iterate. */
  private List<StreamState> streamList() {
    return new ArrayList<>(streams.values());
  }
}
