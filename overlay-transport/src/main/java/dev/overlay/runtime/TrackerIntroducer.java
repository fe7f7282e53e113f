package dev.overlay.runtime;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.introduction.Rendezvous;
import dev.overlay.protocol.Message;
import dev.overlay.transport.RemoteText;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Introductions from trackers. For each stream the node is in, rendezvous hashing over the
 * configured tracker addresses ranks the trackers; the node registers with the first one that
 * is up, heartbeats there every {@code heartbeat}, and moves to the next when it goes down
 * (and back when the first returns). One request per stream is in flight at a time; a newer
 * request for the same stream replaces the answer's recipient (latest wins). When no tracker
 * answers, the core gets an empty introduction and asks again with its own backoff.
 *
 * <p>What a tracker sends is checked like anything else from the network: answers and refusals
 * are taken only from the tracker the stream is registered with, a refusal's retry time is
 * capped, at most one retry per stream is pending, and log lines quote a tracker's words
 * sanitised. A tracker that stops answering has its link closed before it is dialled again, and
 * a dial that never completes is given up, so the client never sticks between states.
 *
 * <p>Runs on the node's loop. Tracker links are this class's own: the core never hears of them.
 */
public final class TrackerIntroducer implements IntroductionSource {

  private static final Logger log = LoggerFactory.getLogger(TrackerIntroducer.class);
  /** A request unanswered for this long is given up, and the next tracker tried. */
  private static final long REQUEST_TIMEOUT = Duration.ofSeconds(3).toNanos();
  /**
   * A tracker that failed is not dialled again for this long (or half a heartbeat, if shorter:
   * a tracker that comes back is found by the next heartbeat).
   */
  private static final long RETRY_DOWN = Duration.ofSeconds(2).toNanos();
  /** A dial that has not produced a link in this long has failed, whatever became of it. */
  private static final long DIAL_TIMEOUT = Duration.ofSeconds(15).toNanos();
  /** The longest a tracker's "retry after" is obeyed: a tracker cannot keep a node out of a stream for longer. */
  public static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(60);
  private final long retryDown;
  private final long maxRetryAfterMillis;

  private enum State { UNKNOWN, DIALLING, UP, DOWN }

  private static final class Tracker {
    final String name;
    final InetSocketAddress address;
    /** The key the application pinned for this tracker, or null: any key is taken (and learnt). */
    final PeerId pinned;
    State state = State.UNKNOWN;
    PeerId id;
    long since; // when the state last changed

    Tracker(String name, InetSocketAddress address, PeerId pinned) {
      this.name = name;
      this.address = address;
      this.pinned = pinned;
    }
  }

  private static final class Registration {
    final List<Tracker> order;
    Tracker at; // where we are registered (or registering); null until a tracker is up
    long counter;
    Consumer<List<PeerInfo>> waiting; // the latest request's recipient, until answered
    long askedAt = -1; // when the request in flight was sent; -1 when none is
    long askedCounter;
    boolean retryScheduled;

    Registration(List<Tracker> order) {
      this.order = order;
    }
  }

  private final IntroductionHost runtime;
  private final List<Tracker> trackers = new ArrayList<>();
  private final Map<PeerId, Tracker> byId = new HashMap<>();
  private final Map<StreamId, Registration> streams = new HashMap<>();
  private final Duration heartbeat;
  private boolean started;
  private long ignored;
  private long punchNonce;
  private long reachabilityNonce;
  private long reachabilityAskedAt = -1;
  private PeerId reachabilityAskedOf; // the tracker whose answer is awaited, or null
  private StreamId reachabilityStream;
  private final java.util.SplittableRandom nonces = new java.util.SplittableRandom(new java.security.SecureRandom().nextLong());
  private long punchSignals;
  private long relaySignals;
  /** Which tracker arranged the latest punch with each peer (the latest 64). */
  private final Map<PeerId, PeerId> punchedVia = new java.util.LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, PeerId> eldest) {
      return size() > 64;
    }
  };
  /** Punches asked for, by peer: how many trackers have yet to answer (the latest 64 asks). */
  private final Map<PeerId, Integer> punchAsks = new java.util.LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Integer> eldest) {
      return size() > 64;
    }
  };

  /**
   * {@code addresses} as {@code host:port} or {@code <peer-id>@host:port} (a tracker pinned to
   * that key: one presenting another is refused); every node must list the same trackers, and
   * the rendezvous order hashes {@code host:port}, so pinning does not change which tracker a
   * stream uses.
   */
  public TrackerIntroducer(IntroductionHost runtime, List<String> addresses, Duration heartbeat) {
    this(runtime, addresses, heartbeat, MAX_RETRY_AFTER);
  }

  /** With another cap on a tracker's "retry after" (the builder's {@code trackerMaxRetryAfter}). */
  public TrackerIntroducer(IntroductionHost runtime, List<String> addresses, Duration heartbeat, Duration maxRetryAfter) {
    if (addresses.isEmpty()) throw new IllegalArgumentException("at least one tracker is needed");
    this.runtime = runtime;
    this.maxRetryAfterMillis = maxRetryAfter.toMillis();
    this.heartbeat = heartbeat;
    this.retryDown = Math.min(RETRY_DOWN, heartbeat.toNanos() / 2);
    for (String a : addresses) {
      HostPort hp = HostPort.parse(a, "tracker");
      trackers.add(new Tracker(hp.hostPort(), hp.address(), hp.pinned()));
    }
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    startHeartbeats();
    Registration r = streams.computeIfAbsent(stream, s -> new Registration(Rendezvous.order(trackers, s, t -> t.name)));
    r.waiting = answer; // latest wins
    long now = runtime.nanoTime();
    if (r.askedAt >= 0 && now - r.askedAt < REQUEST_TIMEOUT) return; // one request in flight per stream
    send(stream, r, true, now);
  }

  /** Registers (or heartbeats) at the stream's best tracker that is up, dialling one if needed. */
  private void send(StreamId stream, Registration r, boolean wantPeers, long now) {
    Tracker t = best(r, now);
    if (t == null) { // every tracker down: the core will ask again
      r.askedAt = -1;
      answer(r, List.of());
      return;
    }
    if (r.at != t && r.at != null) log.info("stream {}: tracker {} instead of {}", stream, t.name, r.at.name);
    r.at = t;
    if (t.state != State.UP) {
      if (wantPeers || r.waiting != null) r.askedAt = now; // sent once the link is up
      return;
    }
    r.counter++;
    if (wantPeers) {
      r.askedAt = now;
      r.askedCounter = r.counter;
    }
    runtime.sendTracker(t.id, new Message.TrackerRegister(stream, runtime.self(), r.counter, wantPeers, runtime.neighborCount(stream),
        runtime.keepsHistory(stream)));
    checkReachability(stream, t, now);
  }

  /** How often a node behind a NAT asks a tracker to connect back to it: NATs and firewalls change. */
  static final Duration REACHABILITY_EVERY = Duration.ofMinutes(10);

  /**
   * When the node traverses NATs: right after its first registration, and every
   * {@link #REACHABILITY_EVERY}, asks that tracker whether it can reach the node (the tracker
   * connects back; docs/nat.md). The registration goes first on the same link, so the tracker
   * knows the candidates to try.
   */
  private void checkReachability(StreamId stream, Tracker t, long now) {
    if (!runtime.natTraversal() || (reachabilityAskedAt >= 0 && now - reachabilityAskedAt < REACHABILITY_EVERY.toNanos())) return;
    if (runtime.protocolVersion(t.id) < dev.overlay.wire.WireCodec.PUNCH_PROTOCOL_VERSION) return;
    reachabilityAskedAt = now;
    reachabilityNonce = nonces.nextLong(); // not guessable: only the tracker asked can answer
    reachabilityAskedOf = t.id;
    reachabilityStream = stream;
    runtime.sendTracker(t.id, new Message.ReachabilityRequest(stream, reachabilityNonce));
  }

  /** A tracker's answer to our reachability question: taken once, from the tracker and stream asked, for the nonce sent. */
  private void reachability(PeerId from, Message.Reachability m) {
    if (reachabilityAskedOf == null || !reachabilityAskedOf.equals(from) || !m.stream().equals(reachabilityStream)
        || m.nonce() != reachabilityNonce) {
      ignored++;
      return;
    }
    if (m.outcome() == Message.Reachability.Outcome.REACHED && !ours(m.reached())) {
      ignored++;
      log.warn("tracker {} says it reached this node at {}, which is none of its ports: ignored", from, RemoteText.quote(m.reached(), 60));
      return;
    }
    reachabilityAskedOf = null; // answered: a second answer is not taken
    String detail = RemoteText.quote(m.detail(), 200);
    if (m.outcome() == Message.Reachability.Outcome.REFUSED) {
      // Not a verdict: ask again in a minute rather than in ten.
      reachabilityAskedAt = runtime.nanoTime() - REACHABILITY_EVERY.toNanos() + REACHABILITY_RETRY.toNanos();
    }
    runtime.reachability(m.outcome(), m.outcome() == Message.Reachability.Outcome.REACHED ? m.reached() : null, detail);
  }

  /** How soon a node asks again when a tracker did not check (busy, rate...). */
  static final Duration REACHABILITY_RETRY = Duration.ofMinutes(1);

  /** Whether {@code hostPort} is an IP literal with the port of one of this node's candidates. */
  private boolean ours(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) return false;
    String host = hostPort.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      return false;
    }
    boolean literal = host.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':');
    return literal && runtime.self().candidates().stream().anyMatch(c -> c.port() == port);
  }

  /** The first tracker in the stream's order that is up, or can be tried: dials it if needed. */
  private Tracker best(Registration r, long now) {
    for (Tracker t : r.order) {
      if (t.state == State.DIALLING && now - t.since >= DIAL_TIMEOUT) {
        down(t, "no link within " + Duration.ofNanos(DIAL_TIMEOUT).toSeconds() + " s of dialling");
      }
      if (t.state == State.UP || t.state == State.DIALLING) return t;
      if (t.state == State.UNKNOWN || (t.state == State.DOWN && now - t.since >= retryDown)) {
        if (t.id != null && runtime.isLinked(t.id)) { // the link outlived what we thought of it
          up(t, now);
          return t;
        }
        t.state = State.DIALLING;
        t.since = now;
        runtime.dialSeed(t.address, t.pinned); // unresolved: the link layer looks the name up without blocking
        return t;
      }
    }
    return null;
  }

  private void answer(Registration r, List<PeerInfo> peers) {
    Consumer<List<PeerInfo>> w = r.waiting;
    r.waiting = null;
    if (w != null) w.accept(peers);
  }

  @Override
  public void seedFound(InetSocketAddress address, PeerInfo peer) {
    Tracker t = tracker(address);
    if (t == null) return;
    if (t.id != null && !t.id.equals(peer.id())) byId.remove(t.id); // the tracker has a new key now
    t.id = peer.id();
    byId.put(peer.id(), t);
    log.debug("tracker {} is {}", t.name, peer.id());
    // Normally linkUp follows. But if a link to this tracker was still up (we gave up on it, it
    // did not), the new connection is dropped as a duplicate and no linkUp comes: use the old one.
    if (t.state != State.UP && runtime.isLinked(peer.id())) up(t, runtime.nanoTime());
  }

  @Override
  public void linkUp(PeerInfo peer) {
    Tracker t = byId.get(peer.id());
    if (t == null) return;
    up(t, runtime.nanoTime());
  }

  /** The tracker is reachable: everyone waiting for it registers now; streams whose better tracker is back move to it. */
  private void up(Tracker t, long now) {
    t.state = State.UP;
    t.since = now;
    for (Map.Entry<StreamId, Registration> e : new ArrayList<>(streams.entrySet())) {
      Registration r = e.getValue();
      if (r.at == t || r.order.indexOf(t) < (r.at == null ? Integer.MAX_VALUE : r.order.indexOf(r.at))) {
        send(e.getKey(), r, r.waiting != null, now);
      }
    }
  }

  @Override
  public void seedFailed(InetSocketAddress address, String reason) {
    Tracker t = tracker(address);
    if (t == null) return;
    down(t, "unreachable: " + reason);
  }

  @Override
  public boolean isInfrastructure(PeerId peer) {
    return byId.containsKey(peer);
  }

  /** Trackers name a stream's storage nodes in their answers. */
  @Override
  public boolean namesStorageNodes() {
    return true;
  }

  @Override
  public void linkDown(PeerId peer, String reason) {
    Tracker t = byId.get(peer);
    if (t != null) down(t, reason);
  }

  private void down(Tracker t, String reason) {
    if (t.state != State.DOWN) log.info("tracker {} down: {}", t.name, reason);
    t.state = State.DOWN;
    t.since = runtime.nanoTime();
    long now = t.since;
    for (Map.Entry<StreamId, Registration> e : new ArrayList<>(streams.entrySet())) {
      Registration r = e.getValue();
      if (r.at == t) send(e.getKey(), r, r.waiting != null, now); // re-register at the next tracker at once
    }
  }

  @Override
  public void received(PeerId from, Message.TrackerMessage message) {
    Registration r = streams.get(message.stream());
    if (r == null || r.at == null || r.at.id == null || !r.at.id.equals(from)) {
      // Left meanwhile, or not the tracker this stream is registered with: not its say.
      ignored++;
      return;
    }
    if (message instanceof Message.TrackerPeers p) {
      if (p.counter() != r.askedCounter) return; // an answer to a request since replaced
      r.askedAt = -1;
      List<PeerInfo> peers = new ArrayList<>(p.peers());
      PeerInfo self = runtime.self();
      peers.removeIf(x -> x.id().equals(self.id()));
      List<PeerInfo> storageNodes = new ArrayList<>(p.storageNodes());
      storageNodes.removeIf(x -> x.id().equals(self.id()));
      runtime.storageNodesIntroduced(message.stream(), storageNodes); // none: the list held is stale
      answer(r, peers);
    } else if (message instanceof Message.TrackerRefused refused) {
      refused(message.stream(), r, refused);
    } else if (message instanceof Message.PunchGo go) {
      punchAsks.remove(go.peer().id());
      punchedVia.put(go.peer().id(), from); // a relay, if the punch fails, is asked of this tracker
      if (go.peer().id().equals(runtime.self().id())) return;
      punchSignals++;
      runtime.punch(go.peer(), Duration.ofMillis(go.delayMillis()));
    } else if (message instanceof Message.Reachability m) {
      reachability(from, m);
    } else if (message instanceof Message.RelayGo go) {
      punchAsks.remove(go.peer().id());
      if (go.peer().id().equals(runtime.self().id())) return;
      // Only the tracker's own relay: its configured host, or the address its link comes from. A
      // tracker may not send this node to connect to any host:port it likes.
      if (!go.relayHost().equalsIgnoreCase(r.at.address.getHostString()) && !go.relayHost().equals(runtime.remoteHost(from))) {
        ignored++;
        log.warn("tracker {} named a relay at {}:{}, which is not the tracker: ignored", r.at.name,
            RemoteText.quote(go.relayHost(), 60), go.relayPort());
        return;
      }
      relaySignals++;
      runtime.relay(go.peer(), InetSocketAddress.createUnresolved(go.relayHost(), go.relayPort()), go.token());
    } else if (message instanceof Message.PunchRefused no) {
      Integer asked = punchAsks.get(no.peer());
      if (asked == null) return; // not ours, or already answered by another tracker
      if (asked > 1) {
        punchAsks.put(no.peer(), asked - 1); // another tracker may still arrange it
        return;
      }
      punchAsks.remove(no.peer());
      log.info("tracker {} would not arrange a hole punch to {}: {}", r.at.name, no.peer(), RemoteText.quote(no.detail(), 120));
      runtime.punchRefused(no.peer(), RemoteText.quote(no.detail(), 120));
    }
  }

  /**
   * Asks every tracker this node is registered with (one request each, naming a stream held
   * there) to have {@code peer} and this node connect to each other at once: the tracker that
   * holds both in a common stream answers both with a signal; the others refuse.
   */
  @Override
  public boolean requestPunch(PeerId peer) {
    return askTrackers(peer, false);
  }

  /** As {@link #requestPunch}, for a relay: the tracker that holds both and relays answers both. */
  @Override
  public boolean requestRelay(PeerId peer) {
    return askTrackers(peer, true);
  }

  private boolean askTrackers(PeerId peer, boolean relay) {
    Map<PeerId, StreamId> ask = new java.util.LinkedHashMap<>();
    // A relay only where the punch was arranged: two trackers relaying one pair could send the
    // two nodes to two relays.
    PeerId arranged = relay ? punchedVia.get(peer) : null;
    for (Map.Entry<StreamId, Registration> e : streams.entrySet()) {
      Tracker t = e.getValue().at;
      if (t != null && t.state == State.UP && t.id != null && (arranged == null || arranged.equals(t.id))
          && runtime.protocolVersion(t.id) >= dev.overlay.wire.WireCodec.PUNCH_PROTOCOL_VERSION) {
        ask.putIfAbsent(t.id, e.getKey());
      }
    }
    if (ask.isEmpty()) return false;
    long nonce = ++punchNonce;
    punchAsks.put(peer, ask.size());
    for (Map.Entry<PeerId, StreamId> a : ask.entrySet()) {
      runtime.sendTracker(a.getKey(), relay ? new Message.RelayRequest(a.getValue(), peer, nonce)
          : new Message.PunchRequest(a.getValue(), peer, nonce));
    }
    return true;
  }

  private void refused(StreamId stream, Registration r, Message.TrackerRefused refused) {
    if (refused.reason() == Message.RefusalReason.STALE) {
      log.debug("tracker {} took a status of stream {} for stale: {}", r.at.name, stream, RemoteText.quote(refused.detail(), 120));
      return; // a late heartbeat; the next one is newer
    }
    log.warn("tracker {} refused stream {}: {} ({})", r.at.name, stream, refused.reason(), RemoteText.quote(refused.detail(), 120));
    r.askedAt = -1;
    if (refused.reason() == Message.RefusalReason.RATE_LIMITED) {
      if (r.retryScheduled) return; // one retry per stream, however many refusals arrive
      r.retryScheduled = true;
      long wait = Math.min(maxRetryAfterMillis, Math.max(10, refused.retryAfterMillis()));
      runtime.after(Duration.ofMillis(wait), () -> {
        r.retryScheduled = false;
        if (r.waiting != null && streams.get(stream) == r) send(stream, r, true, runtime.nanoTime());
      });
    } else {
      answer(r, List.of()); // the core asks again later, with backoff
    }
  }

  @Override
  public void left(StreamId stream) {
    Registration r = streams.remove(stream);
    if (r != null && r.at != null && r.at.state == State.UP) {
      runtime.sendTracker(r.at.id, new Message.TrackerLeave(stream, r.counter + 1));
    }
  }

  @Override
  public void closing() {
    for (StreamId s : new ArrayList<>(streams.keySet())) left(s);
  }

  @Override
  public Map<String, Long> counters() {
    return Map.of("tracker_messages_ignored", ignored, "tracker_punch_signals", punchSignals, "tracker_relay_signals", relaySignals);
  }

  private void startHeartbeats() {
    if (started) return;
    started = true;
    runtime.every(heartbeat, this::heartbeat);
  }

  /** Every heartbeat: a status for every stream; requests unanswered too long go to the next tracker. */
  private void heartbeat() {
    long now = runtime.nanoTime();
    for (Map.Entry<StreamId, Registration> e : new ArrayList<>(streams.entrySet())) {
      Registration r = e.getValue();
      if (r.askedAt >= 0 && now - r.askedAt >= REQUEST_TIMEOUT && r.at != null) {
        Tracker t = r.at;
        // Its link may still be up (a tracker stuck, or dropping us): close it, or the redial
        // would only find the old link and never come up.
        if (t.id != null && runtime.isLinked(t.id)) runtime.closeLink(t.id);
        down(t, "no answer in " + Duration.ofNanos(REQUEST_TIMEOUT).toSeconds() + " s");
        continue;
      }
      send(e.getKey(), r, r.waiting != null, now);
    }
  }

  /** The tracker a seed dial was for: the link layer hands back the very address we dialled. */
  private Tracker tracker(InetSocketAddress address) {
    for (Tracker t : trackers) {
      if (t.address.equals(address)) return t;
    }
    return null;
  }
}
