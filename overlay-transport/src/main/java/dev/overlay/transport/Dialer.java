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
 * <p>A peer's addresses are tried in order (local candidates first, then reflexive ones; within
 * each kind IPv6 and IPv4 alternate, IPv6 first; each address once) and raced as Happy Eyeballs
 * does (RFC 8305): while an attempt is pending, the next address starts
 * {@link #CONNECTION_ATTEMPT_DELAY_NANOS} later, or at once when an attempt fails; the first TCP
 * connection up cancels the others. So a black-holed path (an IPv6 route that goes nowhere, a
 * LAN address from another LAN) costs a quarter of a second, not a connect timeout. A dial races
 * at most {@link #MAX_RACING} attempts, and adds one only while the gate has half its slots
 * free: a peer's list of addresses cannot take the node's dial slots. Each attempt passes the
 * {@link DialGate} (a rate, a number in progress, a backoff per address),
 * and a peer whose every address failed waits its {@link DialBackoff} before the next dial.
 * Nothing a peer sends can make the node dial faster than the gate allows.
 *
 * <p>Hole punching: when every address of a peer failed and the peer has a reflexive candidate
 * (it sits behind a NAT), the dial is not over yet. It asks a tracker ({@link Punches}) to tell
 * both nodes to connect at once, and waits {@link #PUNCH_SIGNAL_WAIT_NANOS} for the signal. On
 * the signal both sides connect to each other's reflexive candidates from their listening port
 * (TCP simultaneous open), through the same gate. A node told to punch by a tracker for a peer
 * it was not dialling does the same, at most {@link #MAX_PUNCHES_FOR_OTHERS} at a time.
 */
final class Dialer {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Dialer.class);

  /** What the dialer needs of the link table. */
  interface Links {
    /** Whether the node is closing: nothing is dialled any more. */
    boolean closed();

    /** A handler for an outbound connection that must prove {@code expected} (null: any key). */
    LinkHandler handler(PeerId expected, boolean pinned, String remote);

    /** Every address of the peer failed: its link, if not up by another way, goes. */
    void exhausted(PeerId peer);

    /**
     * A handler for a punched connection to {@code peer}: one side takes TLS's client role and
     * the other the server's, agreed without talking ({@link LinkHandler#dialer()} says which).
     */
    LinkHandler punchHandler(PeerId peer, String remote);

    /** The listening address punches connect from (bound with SO_REUSEPORT), or null: no punching. */
    InetSocketAddress punchFrom();

    /** Whether the peer's ready link runs through a relay. */
    boolean relayedTo(PeerId peer);
  }


  /** One dial: the addresses to try, in order, and the connection being tried. */
  private static final class Dial {
    List<InetSocketAddress> addresses;
    final PeerInfo info;
    /** Our core wants this link; false for a punch a tracker asked of us for another node. */
    final boolean ours;
    int next;
    /**
     * The connections being tried: several while a direct dial races its addresses, otherwise
     * at most one.
     */
    final List<LinkHandler> attempts = new ArrayList<>(2);
    /** The attempt whose TCP connection is up: no other address is started while it handshakes. */
    LinkHandler up;
    /** Addresses whose attempts lost the race to {@link #up}: released without backoff, unless it then fails without proving a key. */
    List<String> losers = List.of();
    String lastAddress; // of the attempt that failed last, or the address the gate refused last
    int raceStep; // names the latest race timer: an earlier one, made stale by a failure or a connection, is ignored
    String lastError = "no address to dial";
    Phase phase = Phase.DIRECT;
    boolean punchAsked; // at most one punch per dial
    long punchAskedAt = -1; // when a tracker was asked, while the direct attempt at the mapping was still under way
    String earlyRefusal; // the trackers' refusal of that early request, told when the dial fails
    boolean relayAsked; // and one relay
    boolean awaitingSignal; // a tracker was asked, and has not answered yet
    long punchStartedAt;
    byte[] token; // the relay's, in the RELAY phase
    String beforeRelay; // why the punch failed, kept for the relay's own failure
    int waitGen; // names the current wait for a signal: a late timer of an earlier wait is ignored

    Dial(List<InetSocketAddress> addresses, PeerInfo info, boolean ours) {
      this.addresses = addresses;
      this.info = info;
      this.ours = ours;
    }
  }

  /**
   * How a dial connects: to the peer's addresses; then, through NATs, by a punch from our
   * listening port to its reflexive ones; then, when that failed, through a tracker's relay.
   */
  private enum Phase { DIRECT, PUNCH, PUNCH_FAILED, RELAY }

  /** How long a dial waits for a tracker's signal to punch before it fails. */
  static final long PUNCH_SIGNAL_WAIT_NANOS = 5_000_000_000L;
  /** How often a relayed link tries to become direct with another punch. */
  static final long UPGRADE_NANOS = 60_000_000_000L;
  /** Punches a tracker asked of this node for peers it was not dialling, at once. */
  static final int MAX_PUNCHES_FOR_OTHERS = 8;
  /** The reflexive candidates of a peer a punch tries. */
  static final int MAX_PUNCH_ADDRESSES = 4;

  private java.util.function.Predicate<PeerId> punches;
  /** Punches per address in the current window: {window start, count}; an LRU of 1,024 addresses. */
  private final java.util.LinkedHashMap<String, long[]> punchedAt = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
      return size() > 1024;
    }
  };
  static final int MAX_PUNCHES_PER_ADDRESS = 4;
  static final long PUNCH_WINDOW_NANOS = 10_000_000_000L;
  /** Peers whose relayed link tries, now and then, to become direct: one timer each. */
  private final java.util.Set<PeerId> upgrading = new java.util.HashSet<>();
  /** Where punches in flight connect to, and for whom: a connection accepted from there is that peer's punch. */
  private final Map<String, PeerId> punchTargets = new HashMap<>();
  private long signalsIgnored;
  private java.util.function.Predicate<PeerId> relays;
  private long relaysRequested;
  private long relaysStarted;
  private long relaysSucceeded;
  private long relaysFailed;

  private long dialsFailed;
  private long failLoggedAt = Long.MIN_VALUE;
  private long failsUnlogged;

  /**
   * One INFO line per 10 s about dials that failed (the event carries each one): peers go away
   * all the time, so every failure in the log would drown it.
   */
  private void logFailed(PeerId peer, String address, String why) {
    long now = clock.getAsLong();
    if (failLoggedAt != Long.MIN_VALUE && now - failLoggedAt < 10_000_000_000L) {
      failsUnlogged++;
      return;
    }
    log.info("dial to {} failed at {}: {}{}", peer, address, why,
        failsUnlogged > 0 ? " (and " + failsUnlogged + " more dials failed since the last such line)" : "");
    failLoggedAt = now;
    failsUnlogged = 0;
  }

  /** A punch or relay signal not acted on: the peer is linked already, or the link table is full. */
  void signalIgnored() {
    signalsIgnored++;
  }
  private int punchesForOthers;
  private long punchesRequested;
  private long punchesStarted;
  private long punchesSucceeded;
  private long punchesFailed;
  private long punchesRefused;

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

  /**
   * How long a direct dial waits for a pending attempt before it starts the next address as
   * well: RFC 8305's recommended Connection Attempt Delay (section 8), 250 ms.
   */
  static final long CONNECTION_ATTEMPT_DELAY_NANOS = 250_000_000L;
  /** Attempts of one dial at once. */
  static final int MAX_RACING = 2;

  /** The connections the dial to the peer is trying now (empty when none). */
  List<LinkHandler> attempts(PeerId peer) {
    Dial d = dials.get(peer);
    return d == null ? List.of() : List.copyOf(d.attempts);
  }

  /** Whether {@code h} is one of the connections the dial to the peer is trying. */
  boolean isAttempt(PeerId peer, LinkHandler h) {
    Dial d = dials.get(peer);
    return d != null && d.attempts.contains(h);
  }

  /**
   * An attempt's TCP connection is up: in a direct dial, the other addresses raced against it
   * are cancelled (RFC 8305 section 5), and no more are started while its handshakes run. Should
   * they fail (something else answers at that address), the addresses not yet tried go on; the
   * cancelled ones are not tried again in this dial. A lost race is not the address's failure
   * (no backoff), unless the winner then fails without proving any key: an address that only
   * accepts TCP could otherwise keep another address out of its backoff for good.
   */
  void connected(PeerId peer, LinkHandler h) {
    Dial d = dials.get(peer);
    if (d == null || d.phase != Phase.DIRECT || d.up != null || !d.attempts.contains(h)) return;
    d.up = h;
    d.raceStep++;
    List<String> losers = new ArrayList<>();
    for (LinkHandler other : List.copyOf(d.attempts)) {
      if (other == h) continue;
      d.attempts.remove(other); // first, so that its close is not taken for the dial's failure
      losers.add(other.remote());
      other.close(CloseReason.RACE_LOST, "another address of the peer connected first");
    }
    d.losers = losers;
  }

  /** Dials the peer at its candidates, after its backoff if its last dial failed. Not while one is under way. */
  void dial(PeerId peer, PeerInfo info) {
    if (links.closed() || dials.containsKey(peer)) return;
    Dial dial = new Dial(addresses(info), info, true);
    dials.put(peer, dial);
    long wait = backoff.delay(peer);
    if (wait > 0) {
      scheduler.schedule(() -> {
        if (dials.get(peer) == dial && dial.phase == Phase.DIRECT) tryNext(peer); // not if a punch took over meanwhile
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
    if (h.closeKind() == CloseReason.RACE_LOST) {
      gate.released(); // another address connected first: not this one's failure (but see attemptFailed)
      return;
    }
    long now = clock.getAsLong();
    // A connection that got as far as proving a key reached a working node: whoever it was, the
    // address is remembered as that node's, and is not put in backoff.
    boolean answered = h.peer() != null;
    if (answered && !h.relayed) provenAt.put(h.remote(), new Proven(h.peer(), now));
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

  /** One of the dial's attempts closed (why: {@code reason}); the next address is not tried yet. */
  void attemptFailed(PeerId peer, LinkHandler h, String reason) {
    Dial d = dials.get(peer);
    if (h.punched) punchTargets.remove(h.remote());
    d.lastError = reason;
    d.lastAddress = h.remote();
    d.attempts.remove(h);
    if (d.up == h) {
      d.up = null;
      if (h.peer() == null) { // it only accepted TCP: the race it won says nothing for the others
        long now = clock.getAsLong();
        for (String loser : d.losers) gate.backoff(now, loser);
      }
      d.losers = List.of();
    }
  }

  /**
   * The peer a punch in flight is connecting to at {@code remote} (an {@link #addressKey}), or
   * null. Its SYN may reach the peer's listening socket instead of the peer's own punch socket;
   * that accepted connection is then the punch, and takes the TLS role by id as well.
   */
  PeerId punchingTo(String remote) {
    return punchTargets.get(remote);
  }

  /**
   * The peer is linked: its dial, if any, is over without closing its attempts (the caller
   * decides), which are returned.
   */
  List<LinkHandler> detach(PeerId peer) {
    Dial d = dials.remove(peer);
    if (d == null) return List.of();
    ended(d);
    return List.copyOf(d.attempts);
  }

  /** Where dials that failed at every address ask for a punch (null: they fail as before). */
  void punchVia(java.util.function.Predicate<PeerId> punches) {
    this.punches = punches;
  }

  /**
   * A tracker tells us to connect to {@code info}'s reflexive candidates in {@code delayNanos},
   * from our listening port, as the peer does to ours. Either the answer to our own request, or
   * a request of the peer's: then it is a dial of its own, within {@link #MAX_PUNCHES_FOR_OTHERS}
   * and the gate like any other.
   */
  void punch(PeerInfo info, long delayNanos) {
    PeerId peer = info.id();
    InetSocketAddress from = links.punchFrom();
    List<InetSocketAddress> targets = reflexive(info);
    if (links.closed() || from == null || targets.isEmpty()) {
      punchesRefused++;
      return;
    }
    Dial d = dials.get(peer);
    if (d == null) {
      if (punchesForOthers >= MAX_PUNCHES_FOR_OTHERS) {
        punchesRefused++;
        listener.event(new TransportEvent.DialFailed(peer, "-", "hole punch not started: "
            + MAX_PUNCHES_FOR_OTHERS + " punches for other nodes under way"));
        return;
      }
      d = new Dial(List.of(), info, false);
      d.punchAsked = true;
      punchesForOthers++;
      dials.put(peer, d);
    } else if (d.phase != Phase.DIRECT) {
      signalsIgnored++;
      return; // punching already (its SYN in flight will meet the peer's), or past it
    } else if (d.up != null) {
      signalsIgnored++;
      return; // a direct connection is up and handshaking: the link is a moment away, and a punch would drop it
    }
    if (!punchBudget(targets)) { // checked before anything of the dial changes
      punchesRefused++;
      String why = "hole punch not started: " + MAX_PUNCHES_PER_ADDRESS + " punches to that address in the last "
          + PUNCH_WINDOW_NANOS / 1_000_000_000 + " s";
      listener.event(new TransportEvent.DialFailed(peer, addressKey(targets.get(0)), why));
      if (!d.ours && d.attempts.isEmpty() && !d.awaitingSignal && d.next >= d.addresses.size()) { // made for this signal: gone again
        dials.remove(peer);
        ended(d);
      } else if (d.awaitingSignal) { // our dial waited for this punch: it fails now, with the reason
        d.awaitingSignal = false;
        d.waitGen++;
        d.lastError += "; " + why;
        tryNext(peer);
      }
      return; // a direct attempt in flight carries on
    }
    if (!d.attempts.isEmpty()) {
      // Still trying the peer's addresses directly, which behind its NAT will time out: the
      // peer connects to us now, so we must too. (Seen in the NAT lab: a node that ignored the
      // signal here left the peer punching alone, and the link waited for the next round.)
      dropAttempts(d, "superseded by a hole punch the tracker arranged");
    }
    d.punchAsked = true;
    d.awaitingSignal = false;
    d.waitGen++; // a wait for a signal, if any, is over
    d.phase = Phase.PUNCH;
    d.addresses = targets;
    d.next = 0;
    punchesStarted++;
    Dial dial = d;
    scheduler.schedule(() -> {
      if (dials.get(peer) == dial && dial.phase == Phase.PUNCH && dial.next == 0 && dial.attempts.isEmpty()) {
        dial.punchStartedAt = clock.getAsLong();
        tryNext(peer);
      }
    }, delayNanos);
  }

  /**
   * Whether a punch to these addresses fits the per-address budget. Punches skip the addresses'
   * dial backoff (the direct dial that just failed there put them in it), so they have a limit
   * of their own: a tracker, even a hostile one, cannot aim this node at one address faster.
   */
  private boolean punchBudget(List<InetSocketAddress> targets) {
    long now = clock.getAsLong();
    for (InetSocketAddress a : targets) {
      long[] w = punchedAt.get(addressKey(a));
      if (w != null && now - w[0] < PUNCH_WINDOW_NANOS && w[1] >= MAX_PUNCHES_PER_ADDRESS) return false;
    }
    for (InetSocketAddress a : targets) {
      long[] w = punchedAt.computeIfAbsent(addressKey(a), k -> new long[] {now, 0});
      if (now - w[0] >= PUNCH_WINDOW_NANOS) {
        w[0] = now;
        w[1] = 0;
      }
      w[1]++;
    }
    return true;
  }

  /** The tracker would not arrange the punch (or the relay) our dial asked for: the dial fails with its reason. */
  void punchRefused(PeerId peer, String detail) {
    Dial d = dials.get(peer);
    if (d == null) return;
    if (!d.awaitingSignal) {
      if (d.phase == Phase.DIRECT && d.punchAskedAt >= 0) { // asked early: no wait for a signal at the end
        d.punchAskedAt = -1;
        d.earlyRefusal = "; hole punch refused by the tracker: " + detail;
      }
      return;
    }
    d.awaitingSignal = false;
    d.waitGen++;
    d.lastError += "; " + (d.phase == Phase.DIRECT ? "hole punch" : "relay") + " refused by the tracker: " + detail;
    tryNext(peer);
  }

  /** Closes the dial's attempts in flight, whose closes are then no longer the dial's news. */
  private void dropAttempts(Dial d, String why) {
    List<LinkHandler> dropped = List.copyOf(d.attempts);
    d.attempts.clear();
    d.up = null;
    for (LinkHandler a : dropped) {
      if (a.punched) punchTargets.remove(a.remote());
      a.close(CloseReason.DIAL_CANCELLED, why);
    }
  }

  /**
   * A punch's SYN reached our listening socket rather than our punch socket, and that accepted
   * connection became the link: the punch succeeded, through the other door.
   */
  void punchAccepted(PeerId peer, LinkHandler h) {
    Dial d = dials.get(peer);
    punchesSucceeded++;
    log.info("hole punched to {} at {} in {} ms (its SYN reached our listening socket)", peer, h.remote(),
        d != null && d.punchStartedAt > 0 ? (clock.getAsLong() - d.punchStartedAt) / 1_000_000 : -1);
  }

  /** Where dials whose punch failed ask a tracker to relay (null: they fail). */
  void relayVia(java.util.function.Predicate<PeerId> relays) {
    this.relays = relays;
  }

  /**
   * A tracker tells us to reach {@code info} through its relay at {@code relay}, presenting
   * {@code token}: the answer to our request after a failed punch, or the peer's (then a dial for
   * another node, within {@link #MAX_PUNCHES_FOR_OTHERS}).
   */
  void relay(PeerInfo info, InetSocketAddress relay, byte[] token) {
    PeerId peer = info.id();
    if (links.closed()) return;
    Dial d = dials.get(peer);
    if (d == null) {
      if (punchesForOthers >= MAX_PUNCHES_FOR_OTHERS) {
        punchesRefused++;
        listener.event(new TransportEvent.DialFailed(peer, "-", "relay not started: "
            + MAX_PUNCHES_FOR_OTHERS + " punches and relays for other nodes under way"));
        return;
      }
      d = new Dial(List.of(), info, false);
      d.punchAsked = true;
      d.relayAsked = true;
      punchesForOthers++;
      dials.put(peer, d);
    } else if (d.phase == Phase.RELAY) {
      signalsIgnored++;
      return; // at a relay already
    } else if (!d.attempts.isEmpty()) {
      // Still dialling or punching, which the peer has given up on: it waits at the relay now.
      if (d.phase == Phase.PUNCH) {
        punchesFailed++; // abandoned: started, and not a success
        d.phase = Phase.PUNCH_FAILED;
        d.lastError = "hole punch abandoned for a relay";
      }
      dropAttempts(d, "superseded by a relay the tracker arranged");
    }
    d.punchAsked = true;
    d.relayAsked = true;
    d.awaitingSignal = false;
    d.waitGen++;
    d.beforeRelay = d.phase == Phase.PUNCH_FAILED ? d.lastError : null;
    d.phase = Phase.RELAY;
    d.addresses = List.of(relay);
    d.next = 0;
    d.token = token;
    relaysStarted++;
    tryNext(peer);
  }

  /** The peer is linked: its backoff starts afresh. */
  void linked(PeerId peer) {
    backoff.success(peer);
  }

  /** The dial is no longer wanted: its attempt, if any, is closed. */
  void cancel(PeerId peer) {
    Dial d = dials.remove(peer);
    if (d == null) return;
    ended(d);
    for (LinkHandler a : d.attempts) a.close(CloseReason.DIAL_CANCELLED, "dial cancelled");
  }

  /** A dial left the table: a punch for another node frees its slot; a punch that linked counts. */
  private void ended(Dial d) {
    if (!d.ours) punchesForOthers--;
    LinkHandler won = null;
    for (LinkHandler a : d.attempts) {
      if (a.punched) punchTargets.remove(a.remote());
      if (a.ready()) won = a;
    }
    if (won == null) return;
    if (d.phase == Phase.PUNCH) {
      punchesSucceeded++;
      log.info("hole punched to {} at {} in {} ms", d.info.id(), won.remote(), (clock.getAsLong() - d.punchStartedAt) / 1_000_000);
    } else if (d.phase == Phase.RELAY) {
      relaysSucceeded++;
      log.info("linked to {} through the relay at {}", d.info.id(), won.remote());
    }
  }

  /** The node has closed its links (and their attempts): nothing is dialled from here on. */
  void close() {
    dials.clear();
    punchTargets.clear();
    punchesForOthers = 0;
    connector.close();
  }

  /**
   * Tries the dial's next address the gate lets through; with none left and no attempt still
   * pending, the dial failed. Outside a direct dial's race, one attempt at a time.
   */
  void tryNext(PeerId peer) {
    Dial dial = dials.get(peer);
    if (dial == null || links.closed() || dial.awaitingSignal) return;
    if (!dial.attempts.isEmpty() && (dial.phase != Phase.DIRECT || dial.up != null || dial.attempts.size() >= MAX_RACING
        || !gate.roomToRace())) {
      return; // the attempts in flight go on; the next address starts when one fails
    }
    while (dial.next < dial.addresses.size()) {
      long now = clock.getAsLong();
      String key = addressKey(dial.addresses.get(dial.next));
      Proven p = provenAt.get(key);
      String refused;
      // A relay's address is every relayed peer's: what it proved to be says nothing.
      if (dial.phase != Phase.RELAY && p != null && now - p.at() < PROVEN_NANOS && !p.peer().equals(peer)) {
        refusedProven++;
        refused = "it proved to be " + p.peer() + " " + (now - p.at()) / 1_000_000 + " ms ago";
      } else {
        // A punch is arranged by a tracker and bounded by our punch slots: the address's backoff
        // (from the direct dial that just failed there) does not hold it back, the budget does.
        refused = gate.tryStart(now, key, dial.phase != Phase.DIRECT);
      }
      if (refused == null) break;
      dial.lastError = "not dialled " + key + ": " + refused;
      dial.lastAddress = key;
      dial.next++;
    }
    if (dial.next >= dial.addresses.size()) {
      if (!dial.attempts.isEmpty()) return; // the attempts still racing decide
      if (dial.phase == Phase.DIRECT && (askPunch(peer, dial) || awaitEarlyPunch(peer, dial))) return;
      if (dial.earlyRefusal != null) {
        dial.lastError += dial.earlyRefusal;
        dial.earlyRefusal = null;
      }
      if (dial.phase == Phase.PUNCH) {
        punchesFailed++;
        dial.lastError = "hole punch failed: " + dial.lastError;
        log.info("hole punch to {} failed: {}", peer, dial.lastError); // as often as trackers arrange punches
        dial.phase = Phase.PUNCH_FAILED;
        if (askRelay(peer, dial)) return;
      } else if (dial.phase == Phase.RELAY) {
        relaysFailed++;
        dial.lastError = "relay failed: " + dial.lastError + (dial.beforeRelay != null ? " (before it, " + dial.beforeRelay + ")" : "");
        log.info("relayed link to {} failed: {}", peer, dial.lastError);
      }
      dials.remove(peer);
      ended(dial);
      String address = dial.lastAddress != null ? dial.lastAddress
          : dial.addresses.isEmpty() ? "-" : addressKey(dial.addresses.get(dial.addresses.size() - 1));
      if (dial.ours) {
        backoff.failure(peer);
        links.exhausted(peer);
        dialsFailed++;
        logFailed(peer, address, dial.lastError);
      }
      listener.event(new TransportEvent.DialFailed(peer, address, dial.lastError));
      if (dial.ours) listener.dialFailed(peer, dial.lastError); // our core never asked for a punch for another node
      return;
    }
    InetSocketAddress address = dial.addresses.get(dial.next++);
    if (dial.phase != Phase.DIRECT) {
      LinkHandler h = links.punchHandler(peer, addressKey(address));
      h.gated = true;
      dial.attempts.add(h);
      if (dial.phase == Phase.RELAY) {
        h.relayed = true;
        connector.connectRelay(address, dial.token, h);
      } else {
        h.punched = true;
        punchTargets.put(addressKey(address), peer);
        connector.connectFrom(links.punchFrom(), address, h);
      }
      return;
    }
    if (!dial.punchAsked && reflexive(dial.info).contains(address)) askPunchEarly(peer, dial);
    LinkHandler h = links.handler(peer, false, addressKey(address));
    h.gated = true;
    dial.attempts.add(h);
    if (dial.next < dial.addresses.size()) raceLater(peer, dial);
    connector.connect(address, h);
  }

  /** Starts the dial's next address after the connection attempt delay, unless something made this step stale. */
  private void raceLater(PeerId peer, Dial dial) {
    int step = ++dial.raceStep;
    scheduler.schedule(() -> {
      if (dials.get(peer) == dial && dial.phase == Phase.DIRECT && dial.raceStep == step) tryNext(peer);
    }, CONNECTION_ATTEMPT_DELAY_NANOS);
  }

  /**
   * The dial tries the peer's mapping directly now, which behind most NATs only times out: the
   * trackers are asked for a punch at the same time, as ICE checks candidates in parallel, and
   * the tracker's signal supersedes the direct attempt ({@link #punch}). In the NAT lab this
   * saved a whole connect timeout per link (2 s there, 5 s by default).
   */
  private void askPunchEarly(PeerId peer, Dial dial) {
    if (punches == null || links.punchFrom() == null) return;
    dial.punchAsked = true;
    if (!punches.test(peer)) return;
    punchesRequested++;
    dial.punchAskedAt = clock.getAsLong();
  }

  /** Every address failed after a punch was asked early: the dial waits out what is left of the signal's wait. */
  private boolean awaitEarlyPunch(PeerId peer, Dial dial) {
    if (dial.punchAskedAt < 0) return false;
    long left = PUNCH_SIGNAL_WAIT_NANOS - (clock.getAsLong() - dial.punchAskedAt);
    if (left <= 0) {
      dial.lastError += "; no signal to punch from a tracker in " + PUNCH_SIGNAL_WAIT_NANOS / 1_000_000_000 + " s";
      return false;
    }
    dial.punchAskedAt = -1; // waited for once
    awaitSignal(peer, dial, left, "no signal to punch");
    return true;
  }

  /**
   * The dial waits {@code nanos} for a tracker's signal; without one by then it goes on (to its
   * next phase, or to failing) with {@code missing} in its reason. A later wait, or the signal,
   * makes this timer stale.
   */
  private void awaitSignal(PeerId peer, Dial dial, long nanos, String missing) {
    dial.awaitingSignal = true;
    int wait = ++dial.waitGen;
    scheduler.schedule(() -> {
      if (dials.get(peer) == dial && dial.awaitingSignal && dial.waitGen == wait) {
        dial.awaitingSignal = false;
        dial.lastError += "; " + missing + " from a tracker in " + PUNCH_SIGNAL_WAIT_NANOS / 1_000_000_000 + " s";
        tryNext(peer);
      }
    }, nanos);
  }

  /**
   * Whether the dial, having failed at every address, now waits for a tracker's signal to punch:
   * once per dial, for a peer behind a NAT (it has a reflexive candidate), when this node can
   * punch and a tracker was asked.
   */
  private boolean askPunch(PeerId peer, Dial dial) {
    if (dial.punchAsked || punches == null || links.punchFrom() == null || reflexive(dial.info).isEmpty()) return false;
    dial.punchAsked = true;
    if (!punches.test(peer)) return false;
    punchesRequested++;
    awaitSignal(peer, dial, PUNCH_SIGNAL_WAIT_NANOS, "no signal to punch");
    return true;
  }

  /**
   * A link through a relay came up: every {@link #UPGRADE_NANOS} while it stays relayed, a punch
   * is asked for again (NATs change, and a mapping may work later); if one succeeds, the direct
   * link replaces the relayed one. Failures end quietly: the relayed link carries on.
   */
  void upgradeLater(PeerId peer, PeerInfo info) {
    if (!upgrading.add(peer)) return; // one timer per peer, however often its relayed link comes back
    upgradeTick(peer, info);
  }

  private void upgradeTick(PeerId peer, PeerInfo info) {
    scheduler.schedule(() -> {
      if (links.closed() || !links.relayedTo(peer)) {
        upgrading.remove(peer);
        return;
      }
      if (!dials.containsKey(peer) && punchesForOthers < MAX_PUNCHES_FOR_OTHERS) {
        Dial d = new Dial(List.of(), info, false); // not the core's: it has its link
        d.relayAsked = true;
        punchesForOthers++;
        dials.put(peer, d);
        d.lastError = "relayed; trying to punch a direct link";
        tryNext(peer);
      }
      upgradeTick(peer, info);
    }, UPGRADE_NANOS);
  }

  /**
   * Whether the dial, whose signalled punch failed, now waits for a tracker's relay: once per
   * dial, for our own dials only (a punch for another node is that node's to relay).
   */
  private boolean askRelay(PeerId peer, Dial dial) {
    if (!dial.ours || dial.relayAsked || relays == null) return false;
    dial.relayAsked = true;
    if (!relays.test(peer)) return false;
    relaysRequested++;
    awaitSignal(peer, dial, PUNCH_SIGNAL_WAIT_NANOS, "no relay");
    return true;
  }

  private static List<InetSocketAddress> reflexive(PeerInfo info) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (Candidate c : info.candidates()) {
      if (c.kind() == Candidate.Kind.REFLEXIVE && out.size() < MAX_PUNCH_ADDRESSES) {
        out.add(InetSocketAddress.createUnresolved(c.host(), c.port()));
      }
    }
    return out;
  }

  /** What the dialer did, for the node's counters. */
  record Counters(int inProgress, long failed, long refusedBudget, long refusedInProgress, long refusedBackoff, long refusedProven,
      long punchesRequested, long punchesStarted, long punchesSucceeded, long punchesFailed, long punchesRefused,
      long relaysRequested, long relaysStarted, long relaysSucceeded, long relaysFailed, long signalsIgnored) {
    void addTo(Map<String, Long> out) {
      out.put("dials_in_progress", (long) inProgress);
      out.put("dials_failed", failed);
      out.put("dials_refused_budget", refusedBudget);
      out.put("dials_refused_in_progress", refusedInProgress);
      out.put("dials_refused_backoff", refusedBackoff);
      out.put("dials_refused_address_of_another_peer", refusedProven);
      out.put("punches_requested", punchesRequested);
      out.put("punches_started", punchesStarted);
      out.put("punches_succeeded", punchesSucceeded);
      out.put("punches_failed", punchesFailed);
      out.put("punches_refused", punchesRefused);
      out.put("relays_requested", relaysRequested);
      out.put("relays_started", relaysStarted);
      out.put("relays_succeeded", relaysSucceeded);
      out.put("relays_failed", relaysFailed);
      out.put("punch_signals_ignored", signalsIgnored);
    }
  }

  Counters counters() {
    return new Counters(gate.inProgress(), dialsFailed, gate.refusedBudget(), gate.refusedInProgress(), gate.refusedBackoff(), refusedProven,
        punchesRequested, punchesStarted, punchesSucceeded, punchesFailed, punchesRefused, relaysRequested, relaysStarted,
        relaysSucceeded, relaysFailed, signalsIgnored);
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

  /**
   * The peer's local candidates, then its reflexive ones; within each kind IPv6 and IPv4
   * alternate, IPv6 first (RFC 8305 section 4, with a First Address Family Count of 1), so that
   * a broken path of one family holds up the other by one connection attempt delay at most.
   */
  static List<InetSocketAddress> addresses(PeerInfo info) {
    List<InetSocketAddress> out = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>(); // each address once, however often the peer wrote it
    for (Candidate.Kind kind : new Candidate.Kind[] {Candidate.Kind.LOCAL, Candidate.Kind.REFLEXIVE}) {
      List<Candidate> v6 = new ArrayList<>();
      List<Candidate> v4 = new ArrayList<>(); // and names: the resolver picks their family
      for (Candidate c : info.candidates()) {
        if (c.kind() == kind && seen.add(addressKey(InetSocketAddress.createUnresolved(c.host(), c.port())))) {
          (ipv6(c.host()) ? v6 : v4).add(c);
        }
      }
      for (int i = 0; i < Math.max(v6.size(), v4.size()); i++) {
        if (i < v6.size()) out.add(InetSocketAddress.createUnresolved(v6.get(i).host(), v6.get(i).port()));
        if (i < v4.size()) out.add(InetSocketAddress.createUnresolved(v4.get(i).host(), v4.get(i).port()));
      }
    }
    return out; // unresolved: the connector's resolver looks names up without blocking
  }

  /** Whether a candidate's host is an IPv6 literal (only those hold a colon), not an IPv4-mapped one. */
  static boolean ipv6(String host) {
    return host.indexOf(':') >= 0 && !host.regionMatches(true, 0, "::ffff:", 0, 7) && !host.regionMatches(true, 0, "[::ffff:", 0, 8);
  }
}
