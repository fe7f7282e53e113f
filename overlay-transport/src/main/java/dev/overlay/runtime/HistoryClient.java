package dev.overlay.runtime;

import dev.overlay.TransportEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.Position;
import dev.overlay.core.StartAt;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.wire.WireCodec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Asks storage nodes for the history a subscription's {@link StartAt} names: for each position,
 * the rest of its session; for a time, every session stored since. Loop-confined.
 *
 * <p>The answers go into the core as {@link Event.History}, which authenticates and delivers each
 * message once (the neighbours' caches may supply the same messages; the core's seen set keeps
 * deliveries single). Flow control is credit, in bytes: {@link #WINDOW} at first, then what the
 * core took; what the core could not take yet (its signature budget) is offered again after
 * {@link #RETRY_MILLIS} and earns no credit meanwhile, so a storage node never sends faster than
 * this node checks. A storage node that fails, refuses or goes away is replaced by the next
 * one, from where the answer had got to; when none is left, a
 * {@link TransportEvent.HistoryUnavailable} says what is missing.
 *
 * <p>Whom to ask, per stream: the storage nodes the application named, then those the stream's
 * tracker named (at most {@code TrackerPeers.MAX_STORAGE_NODES}, the latest answer's). A start
 * that finds neither waits up to {@link #INTRODUCTION_WAIT_MILLIS} for a tracker to name one.
 */
final class HistoryClient {

  /**
   * Bytes ({@code ResendBatch.cost}) a storage node may send before more credit: eight batches,
   * well inside a link's 4 MiB data queue, so history is never shed on its way.
   */
  static final int WINDOW = 1 << 20;
  static final long RETRY_MILLIS = 100;
  /**
   * A storage node that sends nothing for this long, while it has credit and the request is open,
   * is taken for failed: the next one is asked. A storage node that accepts a request and then
   * stays silent must not hold a subscription's history for ever.
   */
  static final long STALL_MILLIS = 30_000;
  /** Requests open at once, over all streams: a start names at most {@link StartAt#MAX_POSITIONS}. */
  static final int MAX_ASKS = 4_096;
  /** Requests sent to one storage node at a time: what a storage node takes from one peer (ResendServer.MAX_PER_PEER). */
  static final int IN_FLIGHT_PER_NODE = 2;
  /** A storage node that answers REFUSED (busy) is asked again this much later, this many times, before the next one is. */
  static final long REFUSED_RETRY_MILLIS = 1_000;
  static final int REFUSED_RETRIES = 3;
  /**
   * How long a start with no storage node to ask waits for a tracker to name one: the tracker
   * answers the join's request within a round trip, or the introducer's 3 s request timeout
   * and a retry later.
   */
  static final long INTRODUCTION_WAIT_MILLIS = 10_000;
  /** Later sessions asked for at once per stream ({@link #follow}). */
  static final int MAX_FOLLOWS = 16;
  /** Later sessions asked for per stream and minute: a publisher restarts far less often. */
  static final int MAX_FOLLOWS_PER_MINUTE = 32;
  /** Streams whose tracker-named storage nodes are remembered at most: the rest are not. */
  static final int MAX_INTRODUCED_STREAMS = 4_096;

  interface Host {
    /** Gives the core an event, now. */
    void handle(Event event);

    void send(PeerId to, Message message);

    /** The protocol version the peer's link speaks, 0 when there is no link. */
    int protocolVersion(PeerId peer);

    void event(TransportEvent event);

    /** Runs {@code task} on the loop after {@code millis}. */
    void schedule(Runnable task, long millis);

    /** The application's name for a stream. */
    String name(StreamId stream);

    /** Whether the node is in the stream now. */
    default boolean joined(StreamId stream) {
      return true;
    }

    /** Whether trackers may name storage nodes (the node has trackers). */
    default boolean trackers() {
      return false;
    }
  }

  private static final class Ask {
    final long request;
    final StreamId stream;
    final PeerId publisher; // null: a time request
    final long session;
    long next; // the first number not yet taken (publisher requests)
    final long fromMillis;
    final List<PeerInfo> nodes; // whom this request may ask, in turn
    final int first; // the index asked first: the request has gone round when it comes back here
    int node; // index into nodes
    boolean sent;
    boolean complete; // the storage node said so; done once what is held is taken
    long taken;
    long outstanding = WINDOW; // credit given and not used yet
    long progress; // grows with every answer: a stall check that finds it unchanged fails the request over
    int refusals; // REFUSED answers from this storage node so far
    long expect; // a publisher request: the smallest number the next message received may have
    Map<List<Object>, Long> received; // a time request: the last number received of each session
    int holesReported;
    /** A time request: the next number due of each session seen, to notice what the storage node lacks. */
    Map<List<Object>, Long> sessionsNext;
    List<Message.Data> held; // offered, not yet taken (signature budget)
    boolean follow; // asked for by the core (a later session), not by a start
    long toSeq; // the last number wanted; 0: up to the newest stored
    boolean abandoned; // the node left the stream: ended quietly when the storage node ends it, or stalls

    Ask(long request, StreamId stream, PeerId publisher, long session, long next, long fromMillis, List<PeerInfo> nodes, int first,
        int node) {
      this.nodes = nodes;
      this.first = first;
      this.expect = next;
      this.request = request;
      this.stream = stream;
      this.publisher = publisher;
      this.session = session;
      this.next = next;
      this.fromMillis = fromMillis;
      this.node = node;
    }
  }

  private final List<PeerInfo> configured;
  /** Per stream, the storage nodes its tracker named last; the streams used least recently go past the cap. */
  private final Map<StreamId, List<PeerInfo>> introduced = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<StreamId, List<PeerInfo>> eldest) {
      return size() > MAX_INTRODUCED_STREAMS;
    }
  };
  /** Starts that found no storage node, waiting for a tracker to name one. */
  private final Map<StreamId, List<StartAt>> pending = new HashMap<>();
  private final Host host;
  private final Map<Long, Ask> asks = new HashMap<>();
  /** Per storage node: requests sent and not ended, and those waiting their turn. Entries go when both are empty. */
  private final Map<PeerId, Integer> inFlight = new HashMap<>();
  private final Map<PeerId, java.util.ArrayDeque<Ask>> waiting = new HashMap<>();
  private long nextRequest;
  /** Set by {@link #taken} while the core handles a History event. */
  private int lastTaken;
  private long received;
  private long violations;
  private long followsRefused;
  private boolean stopped;
  /** Per stream, the follows of the current minute and their refusals; each entry goes a minute after it came. */
  private final Map<StreamId, int[]> followsThisMinute = new HashMap<>();

  HistoryClient(List<PeerInfo> storageNodes, Host host, long seed) {
    this.configured = List.copyOf(storageNodes);
    this.host = host;
    this.nextRequest = new SplittableRandom(seed).nextLong() & Long.MAX_VALUE;
  }

  /**
   * Whom a request for the stream may ask, in turn: the configured storage nodes, then those its
   * tracker named, each list rotated by the stream's hash so that streams spread over them.
   */
  private List<PeerInfo> candidates(StreamId stream) {
    List<PeerInfo> all = new ArrayList<>(rotated(configured, stream));
    for (PeerInfo p : rotated(introduced.getOrDefault(stream, List.of()), stream)) {
      boolean known = false;
      for (PeerInfo c : configured) known |= c.id().equals(p.id());
      if (!known) all.add(p);
    }
    return List.copyOf(all);
  }

  private static List<PeerInfo> rotated(List<PeerInfo> nodes, StreamId stream) {
    if (nodes.size() < 2) return nodes;
    int first = Math.floorMod(Long.hashCode(stream.value()), nodes.size());
    List<PeerInfo> out = new ArrayList<>(nodes.subList(first, nodes.size()));
    out.addAll(nodes.subList(0, first));
    return out;
  }

  /**
   * A tracker named the stream's storage nodes: later requests may ask them, and a start that
   * waited for them is asked now.
   */
  void introduced(StreamId stream, List<PeerInfo> storageNodes) {
    if (storageNodes.isEmpty()) {
      introduced.remove(stream); // the tracker knows none now
      return;
    }
    introduced.put(stream, List.copyOf(storageNodes.subList(0, Math.min(storageNodes.size(), Message.TrackerPeers.MAX_STORAGE_NODES))));
    List<StartAt> waited = pending.remove(stream);
    if (waited != null) for (StartAt start : waited) start(stream, start);
  }

  /** A subscription started with {@code start}: its history is asked for. */
  void start(StreamId stream, StartAt start) {
    List<PeerInfo> nodes = candidates(stream);
    if (nodes.isEmpty()) {
      List<StartAt> queued = pending.get(stream);
      if (queued != null && queued.size() < 16) {
        queued.add(start);
      } else if (queued == null && host.trackers() && pending.size() < MAX_INTRODUCED_STREAMS) {
        pending.computeIfAbsent(stream, k -> new ArrayList<>()).add(start);
        host.schedule(() -> {
          List<StartAt> waited = pending.remove(stream);
          if (waited != null) for (StartAt s : waited) unasked(stream, s, "no storage node given (Builder.storageNodes), and no tracker named one within "
              + INTRODUCTION_WAIT_MILLIS / 1_000 + " s");
        }, INTRODUCTION_WAIT_MILLIS);
      } else {
        unasked(stream, start, "no storage node given (Builder.storageNodes)" + (host.trackers() ? " or named by a tracker" : ""));
      }
      return;
    }
    int first = 0; // the candidates are in the order to ask them
    for (Position p : start.positions()) {
      if (asks.size() >= MAX_ASKS) {
        host.event(new TransportEvent.HistoryUnavailable(host.name(stream), null, "more than " + MAX_ASKS + " history requests open"));
        unasked(stream, start, "more than " + MAX_ASKS + " history requests open");
        return;
      }
      open(new Ask(nextRequest++, stream, p.publisher(), p.session(), p.seq() + 1, 0, nodes, first, first));
    }
    if (start.sinceMillis() == StartAt.NO_TIME) return;
    if (asks.size() >= MAX_ASKS) {
      unasked(stream, start, "more than " + MAX_ASKS + " history requests open");
    } else {
      open(new Ask(nextRequest++, stream, null, 0, 0, start.sinceMillis(), nodes, first, first));
    }
  }

  /**
   * The core wants messages {@code fromSeq..toSeq} of a later session of a publisher whose
   * history it follows (the publisher restarted while this node was away): the storage nodes are
   * asked for them, like a position of the start. Asked on the loop's next turn, not inside the
   * core's handling of the message that revealed the session. With no storage node to ask, the
   * neighbours' caches are all there is, and nothing is said (the core reports a hole they cannot
   * fill). Bounded per stream: {@link #MAX_FOLLOWS} open at once and {@link #MAX_FOLLOWS_PER_MINUTE};
   * past either, the first refusal of each minute is reported and all are counted, so a publisher
   * restarting in a loop, or made-up sessions on a stream whose publishers do not sign, cost the
   * storage nodes a bounded amount.
   */
  void follow(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {
    host.schedule(() -> followNow(stream, publisher, session, fromSeq, toSeq), 0);
  }

  private void followNow(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {
    if (stopped || fromSeq > toSeq || !host.joined(stream)) return; // the node stopped, or left the stream, meanwhile
    List<PeerInfo> nodes = candidates(stream);
    if (nodes.isEmpty()) return;
    int open = 0;
    for (Ask a : asks.values()) {
      if (!a.stream.equals(stream) || !a.follow || a.abandoned) continue;
      if (publisher.equals(a.publisher) && a.session == session) return; // asked already
      open++;
    }
    int[] minute = followsThisMinute.get(stream);
    if (minute == null) {
      if (followsThisMinute.size() >= MAX_INTRODUCED_STREAMS) { // as many streams as that, each following: counted, not said
        followsRefused++;
        return;
      }
      int[] fresh = new int[2]; // [follows, refusals]
      minute = fresh;
      followsThisMinute.put(stream, fresh);
      host.schedule(() -> followsThisMinute.remove(stream, fresh), 60_000);
    }
    String refusal = open >= MAX_FOLLOWS ? MAX_FOLLOWS + " later sessions of this stream are being asked for already"
        : minute[0] >= MAX_FOLLOWS_PER_MINUTE ? MAX_FOLLOWS_PER_MINUTE + " later sessions of this stream were asked for this minute"
        : asks.size() >= MAX_ASKS ? "more than " + MAX_ASKS + " history requests open" : null;
    if (refusal != null) {
      followsRefused++;
      if (minute[1]++ == 0) { // the first refusal of the minute is said; the rest counted
        host.event(new TransportEvent.HistoryUnavailable(host.name(stream), publisher, "messages " + fromSeq + ".." + toSeq + " of "
            + publisher + "/" + Long.toHexString(session) + ": not asked of a storage node, " + refusal));
      }
      return;
    }
    minute[0]++;
    Ask a = new Ask(nextRequest++, stream, publisher, session, fromSeq, 0, nodes, 0, 0);
    a.follow = true;
    a.toSeq = toSeq;
    open(a);
  }

  /**
   * No storage node to ask: a time start is reported (the caches keep no time), and its wait in
   * the core ends; positions are left to the caches.
   */
  private void unasked(StreamId stream, StartAt start, String why) {
    if (start.sinceMillis() != StartAt.NO_TIME) {
      host.event(new TransportEvent.HistoryUnavailable(host.name(stream), null,
          "history since " + java.time.Instant.ofEpochMilli(start.sinceMillis()) + ": " + why));
      host.handle(new Event.HistoryEnded(stream));
    }
  }

  /** Whether the request is with a storage node the application named (pinned by key), not one a tracker named. */
  private boolean pinned(Ask a) {
    return a.node < configured.size();
  }

  private static PeerInfo nodeOf(Ask a) {
    return a.nodes.get(a.node);
  }

  private void open(Ask a) {
    asks.put(a.request, a);
    PeerId node = nodeOf(a).id();
    if (!usesNode(node, a)) host.handle(new Event.HoldLink(nodeOf(a), true)); // once per storage node
    waiting.computeIfAbsent(node, k -> new java.util.ArrayDeque<>()).add(a);
    sendWaiting(node);
    checkStall(a, a.progress);
  }

  /** Sends what waits for the storage node, as far as its link is up and its share of requests allows. */
  private void sendWaiting(PeerId node) {
    java.util.ArrayDeque<Ask> q = waiting.get(node);
    if (q == null || host.protocolVersion(node) <= 0) return; // when the link comes up
    while (inFlight.getOrDefault(node, 0) < IN_FLIGHT_PER_NODE && !q.isEmpty()) {
      Ask a = q.poll();
      if (asks.get(a.request) != a) continue; // given up meanwhile
      send(a);
    }
    if (q.isEmpty()) waiting.remove(node);
  }

  /** Whether another open request than {@code except} uses the storage node. */
  private boolean usesNode(PeerId node, Ask except) {
    for (Ask other : asks.values()) if (other != except && nodeOf(other).id().equals(node)) return true;
    return false;
  }

  /** Like HyParView's timers, the check names the progress it saw: a request that moved on meanwhile is checked again later. */
  private void checkStall(Ask a, long seen) {
    host.schedule(() -> {
      if (asks.get(a.request) != a) return; // ended, or failed over
      // Sent and unanswered, or still waiting for a link that never came (a dial refused for want of room reports nothing).
      boolean unlinked = host.protocolVersion(nodeOf(a).id()) <= 0;
      if ((a.sent || unlinked) && a.progress == seen && a.held == null) {
        failOver(a, "storage node " + nodeOf(a).id() + " sent nothing for " + STALL_MILLIS / 1_000 + " s");
      } else {
        checkStall(a, a.progress);
      }
    }, STALL_MILLIS);
  }

  private void send(Ask a) {
    PeerId node = nodeOf(a).id();
    if (host.protocolVersion(node) < WireCodec.RESEND_PROTOCOL_VERSION) {
      failOver(a, "storage node " + node + " speaks protocol version " + host.protocolVersion(node) + ", without resends");
      return;
    }
    a.sent = true;
    a.expect = a.next; // the storage node starts from here, also when asked again
    a.received = null;
    inFlight.merge(node, 1, Integer::sum);
    host.send(node, new Message.ResendRequest(a.stream, a.request, a.publisher, a.session, a.publisher == null ? 0 : a.next, a.toSeq,
        a.fromMillis, WINDOW));
  }

  /**
   * The node left the stream: its requests end. One not sent yet goes now; one sent is kept,
   * without credit, until its storage node ends it (or the stall check does), so that what that
   * node still sends is neither taken for the stream's next membership nor counted as a
   * violation. Nothing of it is reported.
   */
  void left(StreamId stream) {
    pending.remove(stream); // the minute's follows stay counted: leaving and joining again is no way round the bound
    for (Ask a : new ArrayList<>(asks.values())) {
      if (!a.stream.equals(stream)) continue;
      if (a.sent) {
        a.abandoned = true;
      } else {
        close(a);
      }
    }
  }

  /** A link came up: requests waiting for it go out. */
  void linkUp(PeerId peer) {
    sendWaiting(peer);
  }

  /** A link went down, or could not be made: its requests go to the next storage node. */
  void linkDown(PeerId peer, String reason) {
    for (Ask a : new ArrayList<>(asks.values())) {
      if (nodeOf(a).id().equals(peer)) failOver(a, "link to storage node " + peer + " down: " + reason);
    }
  }

  void onBatch(PeerId from, Message.ResendBatch b) {
    Ask a = asks.get(b.request());
    if (a == null || !nodeOf(a).id().equals(from) || !a.stream.equals(b.stream())) {
      violations++; // not ours, or from the wrong peer
      return;
    }
    if (a.abandoned) return; // no credit: the storage node stops, and ends it or stalls
    String wrong = check(a, b.messages());
    if (wrong != null) {
      violations++;
      failOver(a, "storage node " + from + " " + wrong);
      return;
    }
    a.progress++;
    for (Message.Data m : b.messages()) a.outstanding -= Message.ResendBatch.cost(m);
    if (a.outstanding < 0) { // more than the credit given: a storage node that ignores flow control
      violations++;
      failOver(a, "storage node " + from + " sent more than the credit it was given");
      return;
    }
    if (a.held != null) { // still waiting for the signature budget: in order, behind what is held
      List<Message.Data> all = new ArrayList<>(a.held);
      all.addAll(b.messages());
      a.held = all;
      return;
    }
    offer(a, b.messages());
  }

  /**
   * What a batch must be: not empty; for a publisher request, that session's messages from where
   * it was due, in increasing order; for a time request, each session's in increasing order. A
   * storage node that sends anything else (messages not asked for, old ones again to look busy)
   * is left for the next one. Returns what was wrong, or null.
   */
  private String check(Ask a, List<Message.Data> messages) {
    if (messages.isEmpty()) return "sent an empty batch";
    for (Message.Data m : messages) {
      if (a.publisher != null) {
        if (!m.publisher().equals(a.publisher) || m.session() != a.session) return "sent messages of a session not asked for";
        if (m.seq() < a.expect) return "sent message " + m.seq() + " where " + a.expect + " or later was due";
        a.expect = m.seq() + 1;
      } else {
        if (a.received == null) a.received = new HashMap<>();
        List<Object> key = List.of(m.publisher(), m.session());
        Long last = a.received.get(key);
        if (last == null && a.received.size() >= ResendServer.MAX_SESSIONS) return "sent more sessions than one answer holds";
        if (last != null && m.seq() <= last) return "sent message " + m.seq() + " of a session again, or out of order";
        a.received.put(key, m.seq());
      }
    }
    return null;
  }

  private void offer(Ask a, List<Message.Data> messages) {
    PeerId from = nodeOf(a).id();
    lastTaken = 0;
    host.handle(new Event.History(from, a.stream, messages));
    int taken = lastTaken;
    if (taken < 0) { // a forgery: the core dropped the link; the next node carries on
      failOver(a, "storage node " + from + " sent a forged message");
      return;
    }
    long bytes = 0;
    for (int i = 0; i < taken; i++) {
      Message.Data m = messages.get(i);
      noteHole(a, m);
      bytes += Message.ResendBatch.cost(m);
    }
    a.taken += taken;
    received += taken;
    if (bytes > 0) {
      a.outstanding += bytes;
      host.send(from, new Message.ResendCredit(a.stream, a.request, (int) bytes));
    }
    if (taken < messages.size()) {
      a.held = messages.subList(taken, messages.size());
      host.schedule(() -> {
        if (asks.get(a.request) != a || a.held == null || a.abandoned) return;
        List<Message.Data> again = a.held;
        a.held = null;
        offer(a, again);
      }, RETRY_MILLIS);
    } else {
      a.held = null;
      if (a.complete) completed(a);
    }
  }

  /**
   * A storage node sends each session in order, so a number beyond the next one due means it
   * lacks those (retention deleted them, or it was down when they went out): said, never skipped
   * silently. The neighbours' caches may still supply them; the core reports what none does.
   */
  private void noteHole(Ask a, Message.Data m) {
    long due;
    List<Object> key = null;
    if (a.publisher != null) {
      due = a.next;
    } else {
      if (a.sessionsNext == null) a.sessionsNext = new HashMap<>();
      key = List.of(m.publisher(), m.session());
      Long n = a.sessionsNext.get(key);
      due = n == null ? m.seq() : n; // a session's first message in a time request starts it
    }
    // What a pinned storage node lacks ends an in-order wait at once; one a tracker named is not
    // trusted that far (it could claim a whole history away): its holes wait out orderWait.
    if (m.seq() > due && pinned(a)) host.handle(new Event.HistoryGap(a.stream, m.publisher(), m.session(), due, m.seq() - 1));
    if (m.seq() > due && a.holesReported++ < 16) { // sixteen a request at most: the first say what is wrong
      host.event(new TransportEvent.HistoryUnavailable(host.name(a.stream), m.publisher(), "messages " + due + ".." + (m.seq() - 1)
          + " of " + m.publisher() + "/" + Long.toHexString(m.session()) + ": not stored at storage node " + nodeOf(a).id()));
    }
    if (a.publisher != null) a.next = Math.max(a.next, m.seq() + 1);
    else a.sessionsNext.merge(key, m.seq() + 1, Math::max); // at most MAX_SESSIONS keys: check() refuses more
  }

  private void completed(Ask a) {
    close(a);
    host.event(new TransportEvent.HistoryReceived(host.name(a.stream), nodeOf(a).id(), a.publisher, a.session, a.taken));
    if (a.publisher == null) host.handle(new Event.HistoryEnded(a.stream));
  }

  /** The core's answer to the History event being handled. */
  void taken(int taken) {
    lastTaken = taken;
  }

  void onEnd(PeerId from, Message.ResendEnd e) {
    Ask a = asks.get(e.request());
    if (a == null || !nodeOf(a).id().equals(from)) {
      violations++;
      return;
    }
    if (a.abandoned) {
      close(a);
      return;
    }
    if (e.outcome() == Message.ResendOutcome.COMPLETE && a.progress == 0 && !pinned(a) && (a.node + 1) % a.nodes.size() != a.first) {
      // A storage node a tracker named, with nothing at all: perhaps a squatter on the tracker's
      // list. The next one is asked too; a pinned node's "nothing" is believed.
      failOver(a, "storage node " + from + " named by a tracker had nothing");
      return;
    }
    if (e.outcome() == Message.ResendOutcome.COMPLETE || e.outcome() == Message.ResendOutcome.TRUNCATED) {
      if (e.outcome() == Message.ResendOutcome.TRUNCATED) {
        host.event(new TransportEvent.HistoryUnavailable(host.name(a.stream), a.publisher, "storage node " + from
            + " sent part of the history asked for: " + e.detail()));
      }
      a.complete = true;
      if (a.held == null) completed(a); // else once what is held is taken
      return;
    }
    if (e.outcome() == Message.ResendOutcome.REFUSED && a.refusals < REFUSED_RETRIES) { // busy: the same node, a little later
      a.refusals++;
      a.sent = false;
      PeerId node = nodeOf(a).id();
      sent(node);
      host.schedule(() -> {
        if (asks.get(a.request) != a) return;
        waiting.computeIfAbsent(node, k -> new java.util.ArrayDeque<>()).add(a);
        sendWaiting(node);
      }, REFUSED_RETRY_MILLIS * a.refusals);
      sendWaiting(node);
      return;
    }
    failOver(a, "storage node " + from + " answered " + e.outcome() + ": " + e.detail());
  }

  /** Asks the next storage node, from where this one got to; with none left, reports what is missing. */
  private void failOver(Ask a, String reason) {
    close(a);
    if (a.abandoned) return;
    int nextNode = (a.node + 1) % a.nodes.size();
    if (nextNode == a.first) {
      String what = a.publisher == null ? "history since " + java.time.Instant.ofEpochMilli(a.fromMillis)
          : "messages from " + a.next + " of " + a.publisher + "/" + Long.toHexString(a.session);
      host.event(new TransportEvent.HistoryUnavailable(host.name(a.stream), a.publisher, what + ": " + reason));
      if (a.publisher == null) host.handle(new Event.HistoryEnded(a.stream));
      return;
    }
    Ask next = new Ask(nextRequest++, a.stream, a.publisher, a.session, a.next, a.fromMillis, a.nodes, a.first, nextNode);
    next.taken = a.taken;
    next.follow = a.follow;
    next.toSeq = a.toSeq;
    open(next);
  }

  /** A request to the storage node ended, or is to be sent again later: one fewer in flight. */
  private void sent(PeerId node) {
    if (inFlight.merge(node, -1, Integer::sum) <= 0) inFlight.remove(node);
  }

  private void close(Ask a) {
    asks.remove(a.request);
    PeerId node = nodeOf(a).id();
    if (a.sent) {
      a.sent = false;
      sent(node);
    }
    if (!usesNode(node, a)) {
      waiting.remove(node);
      host.handle(new Event.HoldLink(nodeOf(a), false));
    } else {
      sendWaiting(node); // its turn is over: the next one waiting goes
    }
  }

  /** The node stops: nothing more is asked. */
  void stop() {
    stopped = true;
    asks.clear();
    waiting.clear();
    pending.clear();
  }

  int open() {
    return asks.size();
  }

  long received() {
    return received;
  }

  long violations() {
    return violations;
  }

  /** Later sessions the core wanted that were not asked of a storage node (the bounds of {@link #follow}). */
  long followsRefused() {
    return followsRefused;
  }
}
