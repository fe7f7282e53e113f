package dev.overlay.runtime;

import dev.overlay.core.Message;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.introduction.Rendezvous;
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
 * <p>Runs on the node's loop. Tracker links are this class's own: the core never hears of them.
 */
public final class TrackerIntroducer implements Introducer {

  private static final Logger log = LoggerFactory.getLogger(TrackerIntroducer.class);
  /** A request unanswered for this long is given up, and the next tracker tried. */
  private static final long REQUEST_TIMEOUT = Duration.ofSeconds(3).toNanos();
  /**
   * A tracker that failed is not dialled again for this long (or half a heartbeat, if shorter:
   * a tracker that comes back is found by the next heartbeat).
   */
  private static final long RETRY_DOWN = Duration.ofSeconds(2).toNanos();
  private final long retryDown;

  private enum State { UNKNOWN, DIALLING, UP, DOWN }

  private static final class Tracker {
    final String name;
    final InetSocketAddress address;
    State state = State.UNKNOWN;
    PeerId id;
    long downSince;

    Tracker(String name, InetSocketAddress address) {
      this.name = name;
      this.address = address;
    }
  }

  private static final class Registration {
    final List<Tracker> order;
    Tracker at; // where we are registered (or registering); null until a tracker is up
    long counter;
    Consumer<List<PeerInfo>> waiting; // the latest request's recipient, until answered
    long askedAt = -1; // when the request in flight was sent; -1 when none is
    long askedCounter;

    Registration(List<Tracker> order) {
      this.order = order;
    }
  }

  private final NodeRuntime runtime;
  private final List<Tracker> trackers = new ArrayList<>();
  private final Map<PeerId, Tracker> byId = new HashMap<>();
  private final Map<StreamId, Registration> streams = new HashMap<>();
  private final Duration heartbeat;
  private boolean started;

  /** {@code addresses} as {@code host:port}; every node must list the same trackers the same way. */
  public TrackerIntroducer(NodeRuntime runtime, List<String> addresses, Duration heartbeat) {
    if (addresses.isEmpty()) throw new IllegalArgumentException("at least one tracker is needed");
    this.runtime = runtime;
    this.heartbeat = heartbeat;
    this.retryDown = Math.min(RETRY_DOWN, heartbeat.toNanos() / 2);
    for (String a : addresses) {
      int colon = a.lastIndexOf(':');
      if (colon <= 0) throw new IllegalArgumentException("a tracker is host:port, got '" + a + "'");
      trackers.add(new Tracker(a, InetSocketAddress.createUnresolved(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)))));
    }
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    startHeartbeats();
    Registration r = streams.computeIfAbsent(stream, s -> new Registration(Rendezvous.order(trackers, s, t -> t.name)));
    r.waiting = answer; // latest wins
    long now = System.nanoTime();
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
    runtime.sendTracker(t.id, new Message.TrackerRegister(stream, runtime.self(), r.counter, wantPeers, runtime.neighborCount(stream)));
  }

  /** The first tracker in the stream's order that is up, or can be tried: dials it if needed. */
  private Tracker best(Registration r, long now) {
    for (Tracker t : r.order) {
      if (t.state == State.UP || t.state == State.DIALLING) return t;
      if (t.state == State.UNKNOWN || (t.state == State.DOWN && now - t.downSince >= retryDown)) {
        t.state = State.DIALLING;
        runtime.dialSeed(t.address); // unresolved: the link layer looks the name up without blocking
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
    t.id = peer.id(); // the link is not ready yet: registrations go out in linkUp
    byId.put(peer.id(), t);
    log.debug("tracker {} is {}", t.name, peer.id());
  }

  @Override
  public void linkUp(PeerInfo peer) {
    Tracker t = byId.get(peer.id());
    if (t == null) return;
    t.state = State.UP;
    long now = System.nanoTime();
    // Everyone waiting for this tracker registers now; streams whose better tracker is back move to it.
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

  @Override
  public void linkDown(PeerId peer, String reason) {
    Tracker t = byId.get(peer);
    if (t != null) down(t, reason);
  }

  private void down(Tracker t, String reason) {
    if (t.state != State.DOWN) log.info("tracker {} down: {}", t.name, reason);
    t.state = State.DOWN;
    t.downSince = System.nanoTime();
    long now = t.downSince;
    for (Map.Entry<StreamId, Registration> e : new ArrayList<>(streams.entrySet())) {
      Registration r = e.getValue();
      if (r.at == t) send(e.getKey(), r, r.waiting != null, now); // re-register at the next tracker at once
    }
  }

  @Override
  public void received(PeerId from, Message.TrackerMessage message) {
    Registration r = streams.get(message.stream());
    if (r == null) return; // left meanwhile
    if (message instanceof Message.TrackerPeers p) {
      if (p.counter() != r.askedCounter) return; // an answer to a request since replaced
      r.askedAt = -1;
      List<PeerInfo> peers = new ArrayList<>(p.peers());
      PeerInfo self = runtime.self();
      peers.removeIf(x -> x.id().equals(self.id()));
      answer(r, peers);
    } else if (message instanceof Message.TrackerRefused refused) {
      log.warn("tracker {} refused stream {}: {} ({})", byId.get(from) == null ? from : byId.get(from).name,
          message.stream(), refused.reason(), refused.detail());
      r.askedAt = -1;
      if (refused.reason() == Message.RefusalReason.RATE_LIMITED) {
        runtime.after(Duration.ofMillis(Math.max(10, refused.retryAfterMillis())), () -> {
          if (r.waiting != null) send(message.stream(), r, true, System.nanoTime());
        });
      } else {
        answer(r, List.of()); // the core asks again later, with backoff
      }
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

  private void startHeartbeats() {
    if (started) return;
    started = true;
    runtime.every(heartbeat, this::heartbeat);
  }

  /** Every heartbeat: a status for every stream; requests unanswered too long go to the next tracker. */
  private void heartbeat() {
    long now = System.nanoTime();
    for (Map.Entry<StreamId, Registration> e : new ArrayList<>(streams.entrySet())) {
      Registration r = e.getValue();
      if (r.askedAt >= 0 && now - r.askedAt >= REQUEST_TIMEOUT && r.at != null) {
        down(r.at, "no answer in " + Duration.ofNanos(REQUEST_TIMEOUT).toSeconds() + " s");
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
