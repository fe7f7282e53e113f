package dev.overlay.transport;

import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The node's outbound dials: which of a peer's addresses to try and in what order, under which
 * budget, and when to give up; and dials to seeds and trackers known only by an address. Runs on
 * the node's loop.
 *
 * <p>A peer's addresses are tried one at a time (local candidates first, then reflexive ones);
 * each attempt passes the {@link DialGate} (a rate, a number in progress, a backoff per address),
 * and a peer whose every address failed waits its {@link DialBackoff} before the next dial.
 * Nothing a peer sends can make the node dial faster than the gate allows.
 */
final class Dialer {

  /** What the dialer needs of the link table. */
  interface Links {
    /** Whether the node is closing: nothing is dialled any more. */
    boolean closed();

    /** A handler for an outbound connection that must prove {@code expected} (null: any key). */
    LinkHandler handler(PeerId expected, boolean pinned, String remote);

    /** Every address of the peer failed: its link, if not up by another way, goes. */
    void exhausted(PeerId peer);
  }

  /** One dial: the addresses to try, in order, and the connection being tried. */
  private static final class Dial {
    final List<InetSocketAddress> addresses;
    int next;
    LinkHandler attempt;
    String lastError = "no address to dial";

    Dial(List<InetSocketAddress> addresses) {
      this.addresses = addresses;
    }
  }

  private final Links links;
  private final Connector connector;
  private final LinkManager.Listener listener;
  private final DialBackoff backoff;
  private final DialGate gate;
  private final LongSupplier clock;
  private final Executor loop;
  private final Scheduler scheduler;
  private final Map<PeerId, Dial> dials = new HashMap<>();
  /** Seed dials under way (a handful at most), by handler. */
  private final Map<LinkHandler, InetSocketAddress> seedDials = new HashMap<>();

  /** How long an address is taken to belong to the peer that proved its key there. */
  static final long PROVEN_NANOS = 60_000_000_000L;
  private static final int REMEMBERED_ADDRESSES = 4096;

  private record Proven(PeerId peer, long at) {}

  /**
   * Which peer each address we dialled proved to be, lately (an LRU of {@link #REMEMBERED_ADDRESSES}).
   * A peer may name a made-up id at a real node's address (in a walk or a shuffle): the first
   * such dial costs one TLS handshake there, and the next ones for other ids cost nothing, so
   * the node cannot be used to hammer that address, and the address is not put in backoff for
   * the honest node behind it.
   */
  private final java.util.LinkedHashMap<String, Proven> provenAt = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Proven> eldest) {
      return size() > REMEMBERED_ADDRESSES;
    }
  };
  private long refusedProven;

  /** Runs a task on the loop after a delay. */
  interface Scheduler {
    void schedule(Runnable task, long delayNanos);
  }

  /**
   * @param random drawn from by the gate's and the backoff's jitter, in the order dials happen
   * @param loop where failures found inside a caller's own call are reported from, afterwards
   */
  Dialer(TransportConfig config, RandomGenerator random, LongSupplier clock, Executor loop, Scheduler scheduler,
      Connector connector, LinkManager.Listener listener, Links links) {
    this.gate = new DialGate(config.maxDialsPerSecond(), config.maxDialsInProgress(), config.dialBackoffMinNanos(),
        config.dialBackoffMaxNanos(), random);
    this.backoff = new DialBackoff(config.dialBackoffMinNanos(), config.dialBackoffMaxNanos(), 4096, random);
    this.clock = clock;
    this.loop = loop;
    this.scheduler = scheduler;
    this.connector = connector;
    this.listener = listener;
    this.links = links;
  }

  /** Whether a dial to the peer is under way (or waiting for its backoff). */
  boolean dialling(PeerId peer) {
    return dials.containsKey(peer);
  }

  /** The connection the dial to the peer is trying now, or null. */
  LinkHandler attempt(PeerId peer) {
    Dial d = dials.get(peer);
    return d == null ? null : d.attempt;
  }

  /** Dials the peer at its candidates, after its backoff if its last dial failed. Not while one is under way. */
  void dial(PeerId peer, PeerInfo info) {
    if (links.closed() || dials.containsKey(peer)) return;
    Dial dial = new Dial(addresses(info));
    dials.put(peer, dial);
    long wait = backoff.delay(peer);
    if (wait > 0) {
      scheduler.schedule(() -> {
        if (dials.get(peer) == dial) tryNext(peer);
      }, wait);
    } else {
      tryNext(peer);
    }
  }

  /**
   * Dials a seed or tracker by address. With {@code pinned}, the peer must prove that key, or
   * the connection is refused ({@link CloseReason#PINNED_KEY_MISMATCH}).
   */
  void dialSeed(InetSocketAddress address, PeerId pinned) {
    if (links.closed()) return;
    LinkHandler h = links.handler(pinned, pinned != null, addressKey(address));
    seedDials.put(h, address);
    String refused = gate.tryStart(clock.getAsLong(), addressKey(address), true);
    if (refused != null) {
      // Not even started: report it as the dial's failure, from the loop, not from inside the caller.
      h.closing(CloseReason.CONNECT_FAILED, "not dialled: " + refused);
      loop.execute(() -> {
        seedDials.remove(h);
        listener.seedFailed(address, h.closeReason());
      });
      return;
    }
    h.gated = true;
    connector.connect(address, h);
  }

  /** A dial's connection is ready ({@code linked}) or closed before that: it leaves the gate's count (the first call only). */
  void finished(LinkHandler h, boolean linked) {
    if (!h.gated) return; // only our own dials are gated, and each ends once (ready, or closed before)
    h.gated = false;
    long now = clock.getAsLong();
    // A connection that got as far as proving a key reached a working node: whoever it was, the
    // address is remembered as that node's, and is not put in backoff.
    boolean answered = h.peer() != null;
    if (answered) provenAt.put(h.remote(), new Proven(h.peer(), now));
    gate.finished(now, h.remote(), linked || answered);
  }

  /**
   * A link we dialled went down: its address is no longer known to be that peer's (it may come
   * back with a new key, as a node built afresh does), so it may be dialled for any id again.
   */
  void linkClosed(LinkHandler h) {
    if (h.dialer()) provenAt.remove(h.remote());
  }

  /** A connection is ready: if it was a seed dial, the seed is this peer. */
  void seedReady(LinkHandler h, PeerInfo info) {
    if (h.dialer() && seedDials.containsKey(h)) listener.seedFound(seedDials.remove(h), info);
  }

  /** A connection closed before it was ready: if it was a seed dial, the seed could not be reached. */
  void seedClosed(LinkHandler h) {
    if (h.dialer() && !h.ready() && seedDials.containsKey(h)) listener.seedFailed(seedDials.remove(h), h.closeReason());
  }

  /** The dial's current attempt closed (why: {@code reason}); the next address is not tried yet. */
  void attemptFailed(PeerId peer, String reason) {
    Dial d = dials.get(peer);
    d.lastError = reason;
    d.attempt = null;
  }

  /** The peer is linked: its dial, if any, is over without closing its attempt (the caller decides). */
  void detach(PeerId peer) {
    dials.remove(peer);
  }

  /** The peer is linked: its backoff starts afresh. */
  void linked(PeerId peer) {
    backoff.success(peer);
  }

  /** The dial is no longer wanted: its attempt, if any, is closed. */
  void cancel(PeerId peer) {
    Dial d = dials.remove(peer);
    if (d != null && d.attempt != null) d.attempt.close(CloseReason.DIAL_CANCELLED, "dial cancelled");
  }

  /** The node has closed its links (and their attempts): nothing is dialled from here on. */
  void close() {
    dials.clear();
    connector.close();
  }

  /** Tries the dial's next address the gate lets through; with none left, the dial failed. */
  void tryNext(PeerId peer) {
    Dial dial = dials.get(peer);
    if (dial == null || links.closed()) return;
    while (dial.next < dial.addresses.size()) {
      long now = clock.getAsLong();
      String key = addressKey(dial.addresses.get(dial.next));
      Proven p = provenAt.get(key);
      String refused;
      if (p != null && now - p.at() < PROVEN_NANOS && !p.peer().equals(peer)) {
        refusedProven++;
        refused = "it proved to be " + p.peer() + " " + (now - p.at()) / 1_000_000 + " ms ago";
      } else {
        refused = gate.tryStart(now, key);
      }
      if (refused == null) break;
      dial.lastError = "not dialled " + key + ": " + refused;
      dial.next++;
    }
    if (dial.next >= dial.addresses.size()) {
      dials.remove(peer);
      backoff.failure(peer);
      links.exhausted(peer);
      String address = dial.addresses.isEmpty() ? "-" : addressKey(dial.addresses.get(dial.addresses.size() - 1));
      listener.event(new TransportEvent.DialFailed(peer, address, dial.lastError));
      listener.dialFailed(peer, dial.lastError);
      return;
    }
    InetSocketAddress address = dial.addresses.get(dial.next++);
    LinkHandler h = links.handler(peer, false, addressKey(address));
    h.gated = true;
    dial.attempt = h;
    connector.connect(address, h);
  }

  /** What the dialer did, for the node's counters. */
  record Counters(int inProgress, long refusedBudget, long refusedInProgress, long refusedBackoff, long refusedProven) {
    void addTo(Map<String, Long> out) {
      out.put("dials_in_progress", (long) inProgress);
      out.put("dials_refused_budget", refusedBudget);
      out.put("dials_refused_in_progress", refusedInProgress);
      out.put("dials_refused_backoff", refusedBackoff);
      out.put("dials_refused_address_of_another_peer", refusedProven);
    }
  }

  Counters counters() {
    return new Counters(gate.inProgress(), gate.refusedBudget(), gate.refusedInProgress(), gate.refusedBackoff(), refusedProven);
  }

  /**
   * {@code host:port}, one spelling per address, so that the dial gate's backoff and the memory
   * of proven addresses cannot be sidestepped by writing an address another way: an IP literal
   * in its canonical form (an IPv4-mapped IPv6 address as IPv4, IPv6 written out the same way), a
   * name in lower case without a trailing dot. Not the address's toString, which adds
   * "/<unresolved>". Never a lookup.
   */
  static String addressKey(InetSocketAddress a) {
    String host = a.getHostString();
    // Only what the JDK takes for an IPv6 literal goes to its parser (a colon, and a first
    // character that is a hex digit, a colon or a bracket): it then parses it or refuses it,
    // never looking it up. Anything else (a dotted quad, a name) could become a lookup, which
    // must never run on the loop; a dotted quad is left as written.
    char first = host.isEmpty() ? ' ' : host.charAt(0);
    if (host.indexOf(':') >= 0 && (Character.digit(first, 16) >= 0 || first == ':' || first == '[')) {
      try {
        host = java.net.InetAddress.getByName(host).getHostAddress();
      } catch (java.net.UnknownHostException notALiteral) {
        // kept as written: it will not resolve when dialled either
      }
    } else if (host.indexOf(':') < 0) {
      host = host.toLowerCase(java.util.Locale.ROOT);
      if (host.endsWith(".")) host = host.substring(0, host.length() - 1);
    }
    return host + ":" + a.getPort();
  }

  private static List<InetSocketAddress> addresses(PeerInfo info) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (Candidate.Kind kind : new Candidate.Kind[] {Candidate.Kind.LOCAL, Candidate.Kind.REFLEXIVE}) {
      for (Candidate c : info.candidates()) {
        if (c.kind() == kind) out.add(InetSocketAddress.createUnresolved(c.host(), c.port()));
      }
    }
    return out; // unresolved: the connector's resolver looks names up without blocking
  }
}
