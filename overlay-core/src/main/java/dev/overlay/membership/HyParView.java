package dev.overlay.membership;

import dev.overlay.config.HyParViewConfig;
import dev.overlay.core.HyParViewStats;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Links;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import dev.overlay.util.PeerInfoSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * HyParView (Leitão, Pereira, Rodrigues, DSN 2007) for one stream: a small active view of
 * connected neighbours and a larger passive view of known peers to replace them from.
 *
 * <p>Departures from the paper, each for a reason:
 * <ul>
 *   <li>A peer enters the active view only when it has accepted: the requester adds on the
 *       NEIGHBOR reply, the acceptor when it replies (iroh-gossip #53/#56). The JOIN contact and
 *       a FORWARD_JOIN's end point therefore send a high-priority NEIGHBOR to the joiner.</li>
 *   <li>A node below {@code activeViewMinimum} neighbours asks with high priority, not only an
 *       empty one, and asks the introducer when it has no passive peers left, with backoff.</li>
 *   <li>A low-priority refusal is not retried at once; the periodic repair asks another peer.</li>
 *   <li>Every {@code reintroductionInterval} a node asks its introducer for members even when its
 *       views are full, and takes one of them in with high priority. Without it, two islands left
 *       by a partition stay apart for good: each side's views only hold its own side once the
 *       dials across the cut have failed, and shuffles never leave an island.</li>
 * </ul>
 */
public final class HyParView {

  /** Tells the stream when the active view changes, so Plumtree and the application follow. */
  public interface Listener {
    void neighborUp(long now, PeerInfo peer);

    void neighborDown(long now, PeerId peer, String reason);

    /** Whether a neighbour carries a broadcast tree to us: evicting it would cost its subtree a repair. */
    default boolean carriesTree(PeerId peer) {
      return false;
    }

    /** Messages the neighbour delivered to us first since the last {@link #resetFirstDeliveries}. */
    default long firstDeliveries(PeerId peer) {
      return 0;
    }

    /** A new scoring interval begins. */
    default void resetFirstDeliveries() {}

    /** When the neighbour came into the active view (as the broadcast layer saw it), or {@code absent}. */
    default long neighborSince(PeerId peer, long absent) {
      return absent;
    }
  }

  /** A neighbour request under way; a churn request names the neighbour it is to replace ({@code replaces}). */
  private record Pending(PeerInfo peer, boolean highPriority, long requestId, PeerId replaces, String why) {}

  /** Neighbour losses closer together than this count as one burst (a partition, not churn). */
  static final long SUSPECT_WINDOW_NANOS = 10_000_000_000L;
  /** The first re-introduction after a suspected partition comes this soon (±50 %); the period then doubles. */
  static final long SUSPECT_PERIOD_NANOS = 10_000_000_000L;
  /**
   * For this long after a suspected partition, the period stays short while the active view is
   * below capacity: a small group cut off together keeps a few neighbours among itself (so it is
   * not isolated), and with the period grown to minutes by the heal it stayed apart (3 of 10,000
   * nodes in the simulator, 30 s after a 120 s cut).
   */
  static final long SUSPECT_HOLD_NANOS = 600_000_000_000L;

  private final StreamId stream;
  private final HyParViewConfig config;
  private PeerInfo self;
  private final RandomGenerator rng;
  private final Links links;
  private final Outbox out;
  private final Listener listener;

  private final PeerInfoSet active;
  private final PeerInfoSet passive;
  private final LinkedHashMap<PeerId, Pending> pending = new LinkedHashMap<>();
  private long nextRequestId;
  private List<PeerInfo> lastShuffleSent = List.of();
  /** Our shuffle under way: only a reply echoing its nonce is taken, and only one. */
  private boolean shuffleOutstanding;
  private long shuffleNonce;
  private final JoinLimiter joinLimiter;

  private PeerId joinContact;
  private long joinDeadline;
  private long introductionBackoff;
  private long nextIntroductionAt;

  private final Timer.RepairTick repairTimer;
  private boolean repairScheduled; // set whenever the active view has room, so it refills
  private final Timer.ShuffleTick shuffleTimer;
  private final Timer.ChurnTick churnTimer;
  /** Names this membership of the stream in its periodic timers: random, so a tick of an earlier one never matches. */
  private final long timerGeneration;
  /** When the current scoring interval began; a neighbour that came later has not had a whole one. */
  private long scoredSince;
  /** Our periodic re-introduction asked the introducer: its answer brings one peer into the active view. */
  private boolean remixWanted;
  /** The re-introduction timer in force (a suspected partition replaces it), and its period now. */
  private long reintroductionGeneration;
  private long reintroductionPeriod;
  /** When the last neighbours were lost without a goodbye, newest last: a burst of them looks like a partition. */
  private final long[] recentLosses;
  private int lossCount;
  private long suspectedAt = Long.MIN_VALUE / 2; // never: far enough back that now - suspectedAt cannot overflow
  /** The live counts behind {@link #stats()}. */
  private static final class Tally {
    long joinsSent;
    long joinsReceived;
    long neighborRequestsSent;
    long neighborRequestsRefused;
    long neighborRequestsRejected;
    long neighborRequestsTimedOut;
    long evictions;
    long shufflesStarted;
    long shufflesAccepted;
    long introductionsRequested;
    long reintroductions;
    long islandsSuspected;
    long churnRequests;
    long churnedOut;
  }

  private final Tally stats = new Tally();

  public HyParView(StreamId stream, HyParViewConfig config, PeerInfo self, RandomGenerator rng,
      Links links, Outbox out, Listener listener) {
    this.stream = stream;
    this.config = config;
    this.self = self;
    this.rng = rng;
    this.links = links;
    this.out = out;
    this.listener = listener;
    this.active = new PeerInfoSet(config.activeViewCapacity() + 1);
    this.passive = new PeerInfoSet(config.passiveViewCapacity() + 1);
    this.repairTimer = new Timer.RepairTick(stream);
    this.timerGeneration = rng.nextLong();
    // Random, not 0: a NeighborTimeout of an earlier membership must not match a request of this one.
    this.nextRequestId = rng.nextLong();
    this.shuffleTimer = new Timer.ShuffleTick(stream, timerGeneration);
    this.churnTimer = new Timer.ChurnTick(stream, timerGeneration);
    this.reintroductionPeriod = config.reintroductionIntervalNanos();
    // Random, not 0: a tick of an earlier membership of this stream (left, then joined again)
    // must not pass for this one's.
    this.reintroductionGeneration = rng.nextLong();
    this.recentLosses = new long[Math.max(2, (config.activeViewCapacity() + 1) / 2)];
    this.introductionBackoff = config.introductionBackoffMinNanos();
    this.joinLimiter = new JoinLimiter(config.joinIntervalNanos(), config.joinBudgetPerSecond(), config.forcedEvictionsPerMinute());
  }
  /**
   * Our own addresses changed (a NAT gave the node another public address): what we send from
   * now on carries them. Same id and incarnation: peers that know the old ones learn the new
   * ones from our next JOIN, NEIGHBOR or SHUFFLE.
   */
  public void updateSelf(PeerInfo updated) {
    if (!updated.id().equals(self.id()) || updated.incarnation() != self.incarnation()) {
      throw new IllegalArgumentException("only the addresses of this node may change, not its id or incarnation");
    }
    self = updated;
  }


  /** Starts the periodic timers (each at a random phase) and asks for introductions. */
  public void start(long now) {
    armRepair();
    out.schedule(shuffleTimer, jittered(config.shuffleIntervalNanos()));
    scoredSince = now;
    if (config.reintroductionIntervalNanos() > 0) {
      out.schedule(new Timer.ReintroductionTick(stream, reintroductionGeneration), jittered(reintroductionPeriod));
    }
    if (config.churnIntervalNanos() > 0) out.schedule(churnTimer, jittered(config.churnIntervalNanos()));
    requestIntroductions(now);
  }

  // ---- Introductions ----------------------------------------------------------------------

  /** Some members of the stream, from the introducer. Join through one; keep the rest as passive peers. */
  public void onIntroductions(long now, List<PeerInfo> peers) {
    List<PeerInfo> candidates = new ArrayList<>(peers.size());
    for (PeerInfo p : peers) {
      if (!p.id().equals(self.id()) && !active.contains(p.id())) candidates.add(p);
    }
    if (candidates.isEmpty()) return;
    if (remixWanted && !active.isEmpty()) {
      // Our periodic re-introduction: one of these comes in even if the view is full, as a
      // high-priority request (the acceptor spends its eviction budget on it). One a period is
      // enough to join two islands; more would only churn the trees.
      remixWanted = false;
      PeerInfo fresh = null;
      for (int tries = 0; tries < candidates.size() && fresh == null; tries++) {
        PeerInfo c = candidates.get(rng.nextInt(candidates.size()));
        if (!pending.containsKey(c.id())) fresh = c;
      }
      if (fresh != null) {
        stats.reintroductions++;
        requestNeighbor(now, fresh, true);
      }
    }
    if (active.isEmpty() && pending.isEmpty() && !joinInProgress(now)) {
      PeerInfo contact = candidates.remove(rng.nextInt(candidates.size()));
      joinContact = contact.id();
      joinDeadline = now + config.neighborRequestTimeoutNanos();
      links.send(now, contact, new Message.Join(stream, self));
      stats.joinsSent++;
    }
    for (PeerInfo p : candidates) addPassive(p);
    fillActiveView(now);
  }

  // ---- Messages ---------------------------------------------------------------------------

  /** A joiner asks us in: offer it a slot and announce it by random walks from every other neighbour. */
  public void onJoin(long now, PeerId from, Message.Join join) {
    PeerInfo joiner = join.sender();
    stats.joinsReceived++;
    if (!joinLimiter.allowJoin(now, from)) {
      drop(from, OverlayEvent.DropReason.RATE_LIMITED, "JOIN over the stream's or the peer's budget");
      return;
    }
    requestNeighbor(now, joiner, true);
    for (int i = 0; i < active.size(); i++) {
      PeerInfo n = active.get(i);
      if (n.id().equals(joiner.id())) continue;
      links.send(now, n.id(), new Message.ForwardJoin(stream, joiner, config.activeRandomWalkLength()));
    }
  }

  public void onForwardJoin(long now, PeerId from, Message.ForwardJoin fj) {
    PeerInfo joiner = fj.joiner();
    if (joiner.id().equals(self.id())) return;
    if (fj.ttl() <= 0 || active.size() <= 1) {
      acceptJoiner(now, joiner);
      return;
    }
    if (fj.ttl() == config.passiveRandomWalkLength()) addPassive(joiner);
    PeerInfo next = active.random(rng, p -> !p.id().equals(from) && !p.id().equals(joiner.id()));
    if (next == null) {
      acceptJoiner(now, joiner);
      return;
    }
    links.send(now, next.id(), new Message.ForwardJoin(stream, joiner, fj.ttl() - 1));
  }

  public void onNeighbor(long now, PeerId from, Message.Neighbor request) {
    PeerInfo peer = request.sender();
    if (active.contains(peer.id())) {
      active.put(peer); // it may have new addresses
      links.send(now, peer.id(), new Message.NeighborReply(stream, true));
      return;
    }
    boolean room = active.size() < config.activeViewCapacity();
    // A forced eviction is spent from the join budget: a peer repeating high-priority requests
    // must not be able to churn out our honest neighbours.
    boolean accept = room || (request.highPriority() && joinLimiter.allowEviction(now));
    if (!accept) {
      if (request.highPriority()) drop(from, OverlayEvent.DropReason.RATE_LIMITED, "forced eviction over the stream's budget");
      stats.neighborRequestsRefused++;
      links.send(now, peer.id(), new Message.NeighborReply(stream, false));
      addPassive(peer);
      return;
    }
    Pending crossing = pending.remove(peer.id());
    if (active.size() >= config.activeViewCapacity() && (crossing == null || !churnOut(now, crossing))) {
      evictRandomActive(now, peer.id());
    }
    // The reply goes first: taking the peer in tells the broadcast layer, which may send it
    // something at once (a catch-up IHAVE), and the requester drops whatever comes from a peer
    // it does not count as a neighbour yet. A burst announced that way was lost for good
    // (InProcessChurnTest); the link keeps the order.
    links.send(now, peer.id(), new Message.NeighborReply(stream, true));
    addActive(now, peer);
    if (crossing != null) links.release(now, peer.id()); // our own request to it is moot now
  }

  public void onNeighborReply(long now, PeerId from, Message.NeighborReply reply) {
    Pending p = pending.remove(from);
    if (p == null) {
      // We gave up on this request (timeout), or already took the peer in. If it took us in,
      // tell it we did not, so the views stay symmetric.
      if (reply.accepted() && !active.contains(from)) {
        links.send(now, from, new Message.Disconnect(stream, self.incarnation(), true));
      }
      return;
    }
    if (reply.accepted()) {
      if (!active.contains(from)) {
        if (active.size() >= config.activeViewCapacity()) {
          if (p.replaces() != null && !churnOut(now, p)) {
            // The neighbour it was to replace left, or now brings us a tree: not worth a random
            // eviction. The replacement is told we did not take it.
            links.send(now, from, new Message.Disconnect(stream, self.incarnation(), true));
            links.release(now, from);
            addPassive(p.peer());
            return;
          }
          if (p.replaces() == null) evictRandomActive(now, from);
        }
        addActive(now, p.peer());
      }
      links.release(now, from); // the active view holds its own reference now
      return;
    }
    stats.neighborRequestsRejected++;
    links.release(now, from);
    addPassive(p.peer());
    if (active.size() < config.activeViewMinimum()) fillActiveView(now);
  }

  public void onDisconnect(long now, PeerId from, Message.Disconnect disconnect) {
    PeerInfo removed = active.remove(from);
    if (removed != null) {
      links.release(now, from);
      listener.neighborDown(now, from, disconnect.alive() ? "disconnected by peer" : "peer left the stream");
      if (disconnect.alive()) addPassive(removed);
      fillActiveView(now);
      return;
    }
    if (!disconnect.alive()) {
      passive.remove(from);
      if (pending.remove(from) != null) links.release(now, from);
      if (from.equals(joinContact)) joinDeadline = 0;
    }
  }

  public void onShuffle(long now, PeerId from, Message.Shuffle shuffle) {
    PeerInfo origin = shuffle.origin();
    if (origin.id().equals(self.id())) return;
    if (shuffle.ttl() > 0 && active.size() > 1) {
      PeerInfo next = active.random(rng, p -> !p.id().equals(from) && !p.id().equals(origin.id()));
      if (next != null) {
        links.send(now, next.id(), new Message.Shuffle(stream, origin, shuffle.ttl() - 1, shuffle.peers(), shuffle.nonce()));
        return;
      }
    }
    // The walk ends here: answer with as many passive peers as we were sent, then merge theirs.
    List<PeerInfo> received = capped(shuffle.peers());
    List<PeerInfo> reply = passive.sample(rng, received.size(), p -> !p.id().equals(origin.id()));
    links.send(now, origin, new Message.ShuffleReply(stream, reply, shuffle.nonce()));
    stats.shufflesAccepted++;
    List<PeerInfo> incoming = new ArrayList<>(received);
    incoming.add(origin);
    integrate(incoming, reply);
  }

  public void onShuffleReply(long now, PeerId from, Message.ShuffleReply reply) {
    if (!shuffleOutstanding || reply.nonce() != shuffleNonce) {
      drop(from, OverlayEvent.DropReason.UNSOLICITED, "SHUFFLE_REPLY to no shuffle of ours");
      return;
    }
    shuffleOutstanding = false;
    integrate(capped(reply.peers()), lastShuffleSent);
  }

  // ---- Links ------------------------------------------------------------------------------

  /** The link to the peer failed or was closed by it. */
  public void onLinkDown(long now, PeerId peer, String reason) {
    if (active.remove(peer) != null) {
      links.release(now, peer);
      listener.neighborDown(now, peer, reason);
      lostWithoutGoodbye(now);
      fillActiveView(now);
    }
    if (pending.remove(peer) != null) {
      links.release(now, peer);
      fillActiveView(now);
    }
    if (peer.equals(joinContact)) joinDeadline = 0;
  }

  /** The peer could not be reached at all: forget it as a candidate too. */
  public void onDialFailed(long now, PeerId peer, String reason) {
    passive.remove(peer);
    onLinkDown(now, peer, "dial failed: " + reason);
  }

  // ---- Timers -----------------------------------------------------------------------------

  public void onNeighborTimeout(long now, Timer.NeighborTimeout timeout) {
    Pending p = pending.get(timeout.peer());
    if (p == null || p.requestId() != timeout.requestId()) return; // answered already
    pending.remove(timeout.peer());
    stats.neighborRequestsTimedOut++;
    links.release(now, timeout.peer());
    passive.remove(timeout.peer()); // unresponsive: not a good candidate
    fillActiveView(now);
  }

  public void onRepairTick(long now) {
    repairScheduled = false;
    fillActiveView(now); // re-arms the tick while the view has room
    boolean isolated = active.size() < config.activeViewMinimum();
    if (!isolated) {
      introductionBackoff = config.introductionBackoffMinNanos();
      return;
    }
    if (pending.isEmpty() && !joinInProgress(now) && !hasPassiveCandidate()) {
      if (active.isEmpty()) out.emit(new OverlayEvent.Isolated(stream));
      requestIntroductions(now);
    }
  }

  /**
   * Time to ask the introducer again. Only a node that is not isolated does (an isolated one asks
   * on its own, with backoff); its answer brings one of the members in, see {@link #onIntroductions}.
   * After a suspected partition the period starts at {@link #SUSPECT_PERIOD_NANOS} and doubles
   * up to {@code reintroductionInterval}, except while the view is below capacity within
   * {@link #SUSPECT_HOLD_NANOS} of the suspicion.
   */
  public void onReintroductionTick(long now, Timer.ReintroductionTick tick) {
    if (tick.generation() != reintroductionGeneration) return; // replaced by a suspected partition's
    boolean stayShort = active.size() < config.activeViewCapacity() && now - suspectedAt < SUSPECT_HOLD_NANOS;
    if (!stayShort) reintroductionPeriod = Math.min(config.reintroductionIntervalNanos(), 2 * reintroductionPeriod);
    out.schedule(tick, jittered(reintroductionPeriod));
    remixWanted = false; // an answer that never came does not carry over to a later, unrelated one
    if (active.size() < config.activeViewMinimum()) return;
    remixWanted = true;
    out.requestIntroductions(stream);
    stats.introductionsRequested++;
  }

  /**
   * Time to replace the worst-scored neighbours ({@link ChurnPolicy}): {@code churnFraction} of
   * the active view, among the neighbours that were in it for the whole interval and carry no
   * tree to us. Each replacement is asked in with high priority (the acceptor spends its eviction
   * budget, as for a re-introduction); the neighbour it replaces goes only once it has accepted,
   * so a refusal costs nothing. Not while the view has room: filling it comes first.
   */
  public void onChurnTick(long now, Timer.ChurnTick tick) {
    if (!tick.equals(churnTimer) || config.churnIntervalNanos() == 0) return; // an earlier membership's
    out.schedule(churnTimer, jittered(config.churnIntervalNanos()));
    long since = scoredSince;
    scoredSince = now;
    try {
      if (active.size() < config.activeViewCapacity()) return;
      List<ChurnPolicy.Scored> eligible = new ArrayList<>(active.size());
      long total = 0;
      for (int i = 0; i < active.size(); i++) {
        PeerInfo p = active.get(i);
        long firsts = listener.firstDeliveries(p.id());
        total += firsts;
        if (listener.neighborSince(p.id(), Long.MAX_VALUE) > since || listener.carriesTree(p.id())) continue;
        if (pendingReplacementOf(p.id())) continue;
        eligible.add(new ChurnPolicy.Scored(p, firsts, links.roundTripNanos(p.id())));
      }
      int count = Math.max(1, (int) (config.churnFraction() * active.size()));
      for (ChurnPolicy.Scored victim : ChurnPolicy.worst(eligible, count)) {
        List<PeerInfo> candidates = passive.sample(rng, passive.size(), c -> !pending.containsKey(c.id()));
        ChurnPolicy.Replacement r = ChurnPolicy.replacement(victim, candidates, c -> links.roundTripNanos(c.id()),
            config.churnRandomShare(), rng);
        if (r == null) return;
        String why = "churned out: delivered " + victim.firstDeliveries() + " of " + total + " messages first in "
            + (now - since) / 1_000_000_000L + " s, round trip " + millis(victim.rttNanos()) + "; replaced by "
            + (r.nearer() ? "a nearer peer (" + millis(links.roundTripNanos(r.peer().id())) + ")" : "a random peer");
        if (requestNeighbor(now, r.peer(), true, victim.peer().id(), why)) stats.churnRequests++;
      }
    } finally {
      listener.resetFirstDeliveries();
    }
  }

  public void onShuffleTick(long now, Timer.ShuffleTick tick) {
    if (!tick.equals(shuffleTimer)) return; // an earlier membership's
    out.schedule(shuffleTimer, jittered(config.shuffleIntervalNanos()));
    PeerInfo target = active.random(rng);
    if (target == null) return;
    List<PeerInfo> peers = new ArrayList<>(config.shuffleSize());
    peers.add(self);
    peers.addAll(active.sample(rng, config.shuffleActiveCount(), p -> !p.id().equals(target.id())));
    peers.addAll(passive.sample(rng, config.shufflePassiveCount(), p -> true));
    lastShuffleSent = peers;
    shuffleNonce = rng.nextLong();
    shuffleOutstanding = true;
    links.send(now, target.id(), new Message.Shuffle(stream, self, config.shuffleTtl(), peers, shuffleNonce));
    stats.shufflesStarted++;
  }

  // ---- Leaving ----------------------------------------------------------------------------

  /** Tells every neighbour we are leaving, and lets go of every link. */
  public void leave(long now) {
    for (PeerInfo p : active.toList()) {
      links.send(now, p.id(), new Message.Disconnect(stream, self.incarnation(), false));
      links.release(now, p.id());
      listener.neighborDown(now, p.id(), "left the stream");
    }
    active.clear();
    remixWanted = false;
    for (PeerId p : new ArrayList<>(pending.keySet())) links.release(now, p);
    pending.clear();
    passive.clear();
  }

  // ---- Introspection ----------------------------------------------------------------------

  public List<PeerInfo> activeView() {
    return active.toList();
  }

  public List<PeerInfo> passiveView() {
    return passive.toList();
  }

  public boolean isActive(PeerId peer) {
    return active.contains(peer);
  }

  public int activeSize() {
    return active.size();
  }

  public int passiveSize() {
    return passive.size();
  }

  /** The generation this membership's shuffle and churn timers carry (tests fire them). */
  public long timerGeneration() {
    return timerGeneration;
  }

  /** The generation the re-introduction timer in force carries (tests fire it). */
  long reintroductionGeneration() {
    return reintroductionGeneration;
  }

  public int pendingSize() {
    return pending.size();
  }

  /** The counters now, as an immutable value. */
  public HyParViewStats stats() {
    Tally t = stats;
    return new HyParViewStats(t.joinsSent, t.joinsReceived, t.neighborRequestsSent, t.neighborRequestsRefused,
        t.neighborRequestsRejected, t.neighborRequestsTimedOut, t.evictions, t.shufflesStarted, t.shufflesAccepted,
        t.introductionsRequested, t.reintroductions, t.islandsSuspected, t.churnRequests, t.churnedOut);
  }

  // ---- Internals --------------------------------------------------------------------------

  private void acceptJoiner(long now, PeerInfo joiner) {
    if (!active.contains(joiner.id()) && !pending.containsKey(joiner.id())) requestNeighbor(now, joiner, true);
  }

  private void requestNeighbor(long now, PeerInfo peer, boolean highPriority) {
    requestNeighbor(now, peer, highPriority, null, null);
  }

  /** Whether the request went out. */
  private boolean requestNeighbor(long now, PeerInfo peer, boolean highPriority, PeerId replaces, String why) {
    if (peer.id().equals(self.id())) return false;
    if (!pending.containsKey(peer.id()) && pending.size() >= config.maxPendingRequests()) {
      // Each request holds a link and a dial; walks ending here must not pile them up.
      drop(peer.id(), OverlayEvent.DropReason.CAPACITY,
          "pending neighbour requests full (" + config.maxPendingRequests() + "): not asking");
      return false;
    }
    long id = ++nextRequestId;
    Pending earlier = pending.get(peer.id());
    if (replaces == null && earlier != null && earlier.replaces() != null) { // asked again (a JOIN): still a churn request
      replaces = earlier.replaces();
      why = earlier.why();
    }
    Pending previous = pending.put(peer.id(), new Pending(peer, highPriority, id, replaces, why));
    if (previous == null) links.acquire(now, peer);
    links.send(now, peer, new Message.Neighbor(stream, self, highPriority));
    out.schedule(new Timer.NeighborTimeout(stream, peer.id(), id), config.neighborRequestTimeoutNanos());
    stats.neighborRequestsSent++;
    return true;
  }

  /**
   * Asks passive peers for the free active slots, one request per slot; keeps the repair tick
   * armed while there is room. Not while our JOIN is under way: its random walks bring
   * neighbours, and high-priority requests on top would only make other nodes evict.
   */
  private void fillActiveView(long now) {
    while (!joinInProgress(now) && active.size() + fillRequests() < config.activeViewCapacity()) {
      PeerInfo candidate = passive.random(rng, p -> !pending.containsKey(p.id()));
      if (candidate == null) break;
      // Not sent (pending requests full, which churn requests can be): the next would fail too.
      if (!requestNeighbor(now, candidate, active.size() < config.activeViewMinimum(), null, null)) break;
    }
    armRepair();
  }

  /** The repair tick runs only while the active view has room: a full view needs no upkeep. */
  private void armRepair() {
    if (repairScheduled || active.size() >= config.activeViewCapacity()) return;
    repairScheduled = true;
    out.schedule(repairTimer, jittered(config.repairIntervalNanos()));
  }

  private boolean hasPassiveCandidate() {
    for (PeerInfo p : passive.toList()) {
      if (!pending.containsKey(p.id())) return true;
    }
    return false;
  }

  private void addActive(long now, PeerInfo peer) {
    passive.remove(peer.id());
    active.put(peer);
    links.acquire(now, peer);
    listener.neighborUp(now, peer);
  }

  /** A churn request was accepted: its neighbour goes, if it is still here. Whether one went. */
  private boolean churnOut(long now, Pending accepted) {
    if (accepted.replaces() == null || !active.contains(accepted.replaces()) || listener.carriesTree(accepted.replaces())) {
      return false;
    }
    PeerInfo victim = active.remove(accepted.replaces());
    links.send(now, victim.id(), new Message.Disconnect(stream, self.incarnation(), true));
    links.release(now, victim.id());
    listener.neighborDown(now, victim.id(), accepted.why());
    addPassive(victim);
    stats.churnedOut++;
    return true;
  }

  /** Requests under way that would fill a slot: a churn request only takes its victim's. */
  private int fillRequests() {
    int n = 0;
    for (Pending p : pending.values()) {
      if (p.replaces() == null) n++;
    }
    return n;
  }

  private boolean pendingReplacementOf(PeerId neighbor) {
    for (Pending p : pending.values()) {
      if (neighbor.equals(p.replaces())) return true;
    }
    return false;
  }

  private static String millis(long nanos) {
    return nanos < 0 ? "unmeasured" : String.format(java.util.Locale.ROOT, "%.1f ms", nanos / 1e6);
  }

  private void evictRandomActive(long now, PeerId keep) {
    // A neighbour that brings us no tree first: evicting a tree edge costs its subtree a repair.
    PeerInfo victim = active.random(rng, p -> !p.id().equals(keep) && !listener.carriesTree(p.id()));
    if (victim == null) victim = active.random(rng, p -> !p.id().equals(keep));
    if (victim == null) return;
    active.remove(victim.id());
    links.send(now, victim.id(), new Message.Disconnect(stream, self.incarnation(), true));
    links.release(now, victim.id());
    listener.neighborDown(now, victim.id(), "evicted to make room");
    addPassive(victim);
    stats.evictions++;
  }

  private void addPassive(PeerInfo peer) {
    if (peer.id().equals(self.id()) || active.contains(peer.id())) return;
    if (passive.contains(peer.id())) {
      passive.put(peer);
      return;
    }
    if (passive.size() >= config.passiveViewCapacity()) {
      PeerInfo victim = passive.random(rng, p -> !pending.containsKey(p.id()));
      if (victim == null) return;
      passive.remove(victim.id());
    }
    passive.put(peer);
  }

  /** Merges shuffled peers into the passive view, evicting first the peers we just sent away. */
  private void integrate(List<PeerInfo> incoming, List<PeerInfo> sentAway) {
    int sentIndex = 0;
    for (PeerInfo p : incoming) {
      if (p.id().equals(self.id()) || active.contains(p.id())) continue;
      if (passive.contains(p.id())) {
        passive.put(p);
        continue;
      }
      if (passive.size() >= config.passiveViewCapacity()) {
        PeerInfo victim = null;
        while (victim == null && sentIndex < sentAway.size()) {
          PeerInfo candidate = sentAway.get(sentIndex++);
          if (passive.contains(candidate.id()) && !pending.containsKey(candidate.id())) victim = candidate;
        }
        if (victim == null) victim = passive.random(rng, q -> !pending.containsKey(q.id()));
        if (victim == null) continue;
        passive.remove(victim.id());
      }
      passive.put(p);
    }
  }

  private List<PeerInfo> capped(List<PeerInfo> peers) {
    int max = config.shuffleSize();
    return peers.size() <= max ? peers : peers.subList(0, max);
  }

  /**
   * How a partition looks from one node: half its active view gone within
   * {@link #SUSPECT_WINDOW_NANOS}, every link failing rather than saying goodbye (crashes of
   * unrelated neighbours are rarer: with 1 % of nodes crashing a second, three of five neighbours
   * within 10 s happen about once an hour per node). The node then asks its introducer soon and
   * often, so that the islands meet within seconds of the heal; the steady
   * {@code reintroductionInterval} is a backstop, and costs tree repairs, so it is long.
   */
  private void lostWithoutGoodbye(long now) {
    if (config.reintroductionIntervalNanos() == 0) return;
    if (lossCount == recentLosses.length) {
      System.arraycopy(recentLosses, 1, recentLosses, 0, lossCount - 1);
      lossCount--;
    }
    recentLosses[lossCount++] = now;
    if (lossCount < recentLosses.length || now - recentLosses[0] > SUSPECT_WINDOW_NANOS) return;
    lossCount = 0;
    out.emit(new OverlayEvent.IslandSuspected(stream, recentLosses.length));
    stats.islandsSuspected++;
    reintroductionGeneration++;
    reintroductionPeriod = Math.min(config.reintroductionIntervalNanos(), SUSPECT_PERIOD_NANOS);
    suspectedAt = now;
    out.schedule(new Timer.ReintroductionTick(stream, reintroductionGeneration), jittered(reintroductionPeriod));
  }

  private boolean joinInProgress(long now) {
    return joinDeadline > now;
  }

  private void requestIntroductions(long now) {
    if (now < nextIntroductionAt) return;
    out.requestIntroductions(stream);
    stats.introductionsRequested++;
    nextIntroductionAt = now + introductionBackoff;
    introductionBackoff = Math.min(config.introductionBackoffMaxNanos(), introductionBackoff * 2);
  }

  private void drop(PeerId peer, OverlayEvent.DropReason reason, String detail) {
    out.emit(new OverlayEvent.Dropped(stream, peer, reason, detail));
  }

  /** A period spread uniformly over ±50 %, so that nodes started together do not act in step. */
  private long jittered(long period) {
    return period / 2 + (long) (rng.nextDouble() * period);
  }
}
