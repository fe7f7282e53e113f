package dev.overlay.delivery;

import dev.overlay.config.SeenConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Outbox;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which messages a stream has delivered, by (publisher, session, sequence number), and where
 * the holes are.
 *
 * <p>Bounded on every axis: publishers (least recently active evicted first, and forgotten
 * after {@link SeenConfig#publisherTtlNanos()} of silence), sessions per publisher, and
 * intervals per session. Gap changes are emitted as {@link OverlayEvent}s.
 */
public final class SeenMessages implements SeqIntervalSet.GapListener {

  /** What one publisher has sent us: its newest session inline, older ones (newest first) aside. */
  static final class Publisher {
    final PeerId id;
    long lastActive;
    long currentSession;
    SeqIntervalSet current; // nearly every message belongs to the newest session
    /** Who first delivered the highest sequence number of the current session: the path that is ahead. */
    PeerId frontRunner;
    /** When a message of the current session was last new to us; Long.MIN_VALUE before the first. */
    long lastNewAt = Long.MIN_VALUE;
    /**
     * The application asked for this publisher's history (a start position): catch-ups and long
     * holes of its sessions are fetched in full, not only their newest numbers.
     */
    boolean history;
    /** The application named a position of it: not forgotten for silence ({@link #expire}). */
    boolean positioned;
    /**
     * Sessions of a history publisher that fell off its older ones, newest first (null until one
     * does): one that comes back (a replay, a late answer) is no later session to fetch again.
     */
    long[] retired;
    int retiredCount;
    final long[] olderSessions;
    final SeqIntervalSet[] older;
    int olderCount;

    Publisher(PeerId id, int maxSessions) {
      this.id = id;
      this.olderSessions = new long[maxSessions - 1];
      this.older = new SeqIntervalSet[maxSessions - 1];
    }

    int sessionCount() {
      return (current == null ? 0 : 1) + olderCount;
    }
  }

  private final StreamId stream;
  private final SeenConfig config;
  private final Outbox out;
  /** The publisher session being recorded, for gap events; set per call, so no helper object. */
  private PeerId gapPublisher;
  private long gapSession;
  private long recordingSeq;
  /** The hole the last {@link #record} opened above what had been received, or -1: for gap repair. */
  private long openedGapFrom = -1;
  private long openedGapTo = -1;
  /** Whether the last {@link #record} began a later session of a publisher followed already, past its first message. */
  private boolean beganLaterSession;
  private final LinkedHashMap<PeerId, Publisher> publishers = new LinkedHashMap<>();
  /** The publisher looked up last: most streams carry one or a few, so this saves the hash lookup. */
  private Publisher lastPublisher;
  private long evictions;

  public SeenMessages(StreamId stream, SeenConfig config, Outbox out) {
    this.stream = stream;
    this.config = config;
    this.out = out;
  }

  /** Records a message we published ourselves. */
  public int record(long now, PeerId publisher, long session, long seq) {
    return record(now, publisher, session, seq, null);
  }

  /**
   * Records a message that {@code from} delivered; returns {@link SeqIntervalSet#NEW},
   * {@code DUPLICATE} or {@code TOO_OLD}. A new highest sequence number of the current session
   * makes {@code from} its front-runner.
   */
  public int record(long now, PeerId publisher, long session, long seq, PeerId from) {
    return record(now, publisher, session, seq, from, true);
  }

  /** As {@link #record(long, PeerId, long, long, PeerId)}; with {@code mayHold} false the message is never held back. */
  public int record(long now, PeerId publisher, long session, long seq, PeerId from, boolean mayHold) {
    openedGapFrom = -1;
    openedGapTo = -1;
    beganLaterSession = false;
    Publisher p = lookup(publisher);
    boolean knownPublisher = p != null;
    if (p == null) {
      p = new Publisher(publisher, config.maxSessionsPerPublisher());
      if (publishers.size() >= config.maxPublishers()) evictLeastRecentlyActive();
      publishers.put(publisher, p);
      lastPublisher = p;
    }
    p.lastActive = now;
    SeqIntervalSet seqs = session(p, session, false);
    if (seqs == null) {
      if (p.history && p.retired != null && retired(p, session)) {
        // A session this node moved past twice, back (a replay, a late answer): old news. Taken,
        // it would become current, push the live session out, and have its hole fetched again.
        return SeqIntervalSet.TOO_OLD;
      }
      seqs = session(p, session, true);
      // A publisher we follow started a new session, and this is not its first message: the
      // ones before it are a gap like any other. (A publisher we never heard of starts here.)
      if (knownPublisher && seq > 1 && seqs == p.current) {
        openedGapFrom = 1;
        openedGapTo = seq - 1;
        beganLaterSession = true;
      }
    }
    gapPublisher = publisher;
    gapSession = session;
    recordingSeq = seq;
    boolean newest = seqs.isEmpty() || seq > seqs.highest();
    int outcome = seqs.add(seq, this, mayHold);
    if (outcome == SeqIntervalSet.NEW && seqs == p.current) {
      p.lastNewAt = now;
      if (newest) p.frontRunner = from;
    }
    return outcome;
  }

  /**
   * Starts the session after {@code seq} (see {@link SeqIntervalSet#startAfter}) and marks the
   * publisher as one whose history is wanted. A session already begun is left as it is.
   *
   * @param mayEvict whether a new publisher may push the least recently active one out when the
   *     set is full (the application's own positions may; what a peer names may not)
   * @return whether the session was started here
   */
  public boolean startAfter(long now, PeerId publisher, long session, long seq, boolean mayEvict) {
    Publisher p = lookup(publisher);
    if (p == null) {
      if (publishers.size() >= config.maxPublishers() && !mayEvict) return false;
      p = new Publisher(publisher, config.maxSessionsPerPublisher());
      if (publishers.size() >= config.maxPublishers()) evictLeastRecentlyActive();
      publishers.put(publisher, p);
      lastPublisher = p;
      p.lastActive = now;
    }
    p.history = true;
    p.positioned |= mayEvict; // the application's own positions (what a peer names comes with mayEvict false)
    if (session(p, session, false) != null) return false;
    return session(p, session, true).startAfter(seq);
  }

  /** Whether the application asked for this publisher's history (see {@link #startAfter}). */
  public boolean wantsHistory(PeerId publisher) {
    Publisher p = lookup(publisher);
    return p != null && p.history;
  }

  /** Whether a session of the publisher has been begun (received, or started by {@link #startAfter}). */
  public boolean hasSession(PeerId publisher, long session) {
    Publisher p = lookup(publisher);
    return p != null && session(p, session, false) != null;
  }

  /**
   * Forgets {@code peer} as front-runner wherever it was one (it left), returning those
   * publishers: their messages now need another path.
   */
  public java.util.List<PeerId> dropFrontRunner(PeerId peer) {
    java.util.List<PeerId> led = new java.util.ArrayList<>();
    for (Publisher p : publishers.values()) {
      if (p.frontRunner != null && p.frontRunner.equals(peer)) {
        p.frontRunner = null;
        led.add(p.id);
      }
    }
    return led;
  }

  /** Whether {@code peer} delivered the newest message of some publisher first: our parent in its tree. */
  public boolean isFrontRunner(PeerId peer) {
    for (Publisher p : publishers.values()) {
      if (p.frontRunner != null && p.frontRunner.equals(peer)) return true;
    }
    return false;
  }

  /** The newest message of the publisher's current session, or null when we have none. */
  public dev.overlay.protocol.MessageRef newest(PeerId publisher) {
    Publisher p = lookup(publisher);
    if (p == null || p.current == null || p.current.isEmpty()) return null;
    return new dev.overlay.protocol.MessageRef(p.id, p.currentSession, p.current.highest());
  }

  /** The peer that delivered the newest message of the publisher's current session first, or null. */
  public PeerId frontRunner(PeerId publisher, long session) {
    Publisher p = lookup(publisher);
    return p == null || p.currentSession != session ? null : p.frontRunner;
  }

  /**
   * Whether the last {@link #record} began a new session of a publisher followed already, with a
   * message past its first (the publisher restarted, and its first messages have not come):
   * the hole {@link #openedGapFrom} names starts at 1.
   */
  public boolean beganLaterSession() {
    return beganLaterSession;
  }

  /** The first number of the hole the last {@link #record} opened above the numbers received before, or -1. */
  public long openedGapFrom() {
    return openedGapFrom;
  }

  /** The last number of that hole, or -1. */
  public long openedGapTo() {
    return openedGapTo;
  }

  /** Whether we follow this publisher: we have received something of it, and not forgotten it. */
  public boolean knows(PeerId publisher) {
    return lookup(publisher) != null;
  }

  /**
   * The newest message received of each publisher heard from within {@code maxAgeNanos}, most
   * recent first, at most {@code max}: what a new neighbour is told on a catch-up IHAVE.
   */
  public java.util.List<dev.overlay.protocol.MessageRef> newestRecent(long now, long maxAgeNanos, int max) {
    java.util.List<Publisher> recent = new java.util.ArrayList<>();
    for (Publisher p : publishers.values()) {
      // A session only started by startAfter has nothing to tell: its numbers were never received here.
      if (p.current != null && !p.current.isEmpty() && p.lastNewAt != Long.MIN_VALUE && now - p.lastActive < maxAgeNanos) {
        recent.add(p);
      }
    }
    recent.sort((a, b) -> Long.compare(b.lastActive, a.lastActive));
    java.util.List<dev.overlay.protocol.MessageRef> out = new java.util.ArrayList<>(Math.min(max, recent.size()));
    for (int i = 0; i < recent.size() && i < max; i++) {
      Publisher p = recent.get(i);
      out.add(new dev.overlay.protocol.MessageRef(p.id, p.currentSession, p.current.highest()));
    }
    return out;
  }

  /** The highest sequence number seen of the session, or -1 when none. */
  public long highest(PeerId publisher, long session) {
    Publisher p = lookup(publisher);
    SeqIntervalSet seqs = p == null ? null : session(p, session, false);
    return seqs == null || seqs.isEmpty() ? -1 : seqs.highest();
  }

  /** The smallest sequence number at or above {@code seq} of the session not yet seen. */
  public long firstUnseen(PeerId publisher, long session, long seq) {
    Publisher p = lookup(publisher);
    SeqIntervalSet seqs = p == null ? null : session(p, session, false);
    return seqs == null ? seq : seqs.firstMissingFrom(seq);
  }

  /**
   * When a message of this session, the publisher's current one, was last new to us, or
   * Long.MIN_VALUE if never (or if the session is not the current one): how we tell a tree that
   * is still delivering, however late, from one that stopped.
   */
  public long lastNewAt(PeerId publisher, long session) {
    Publisher p = lookup(publisher);
    return p == null || p.current == null || p.currentSession != session ? Long.MIN_VALUE : p.lastNewAt;
  }

  /** Whether the message was delivered (or given up on). Unknown publishers have seen nothing. */
  public boolean contains(PeerId publisher, long session, long seq) {
    Publisher p = lookup(publisher);
    if (p == null) return false;
    SeqIntervalSet seqs = session(p, session, false);
    return seqs != null && seqs.contains(seq);
  }

  /**
   * Forgets publishers silent for longer than the TTL, except those the application named a
   * position of: forgetting one would make its next session look like a stranger's,
   * started at its first message heard, and the restart's first messages would go unfetched and
   * unreported. Those go only when the table is full ({@link #evictLeastRecentlyActive}).
   */
  public void expire(long now) {
    Iterator<Map.Entry<PeerId, Publisher>> it = publishers.entrySet().iterator();
    while (it.hasNext()) {
      Publisher p = it.next().getValue();
      if (!p.positioned && now - p.lastActive >= config.publisherTtlNanos()) {
        it.remove();
        if (p == lastPublisher) lastPublisher = null;
      }
    }
  }

  public int publisherCount() {
    return publishers.size();
  }

  public long evictions() {
    return evictions;
  }

  /** The largest number of intervals any session holds; for cap checks. */
  public int maxIntervalsInUse() {
    int max = 0;
    for (Publisher p : publishers.values()) {
      if (p.current != null) max = Math.max(max, p.current.intervals());
      for (int i = 0; i < p.olderCount; i++) max = Math.max(max, p.older[i].intervals());
    }
    return max;
  }

  private SeqIntervalSet session(Publisher p, long session, boolean create) {
    if (p.current != null && p.currentSession == session) return p.current;
    for (int i = 0; i < p.olderCount; i++) {
      if (p.olderSessions[i] == session) return p.older[i];
    }
    if (!create) return null;
    // A new session becomes current; the one it replaces moves to the front of the older
    // ones, and the oldest falls off the end.
    if (p.current != null && p.history) { // the session falling off, if one does, is remembered
      if (p.older.length == 0) {
        retire(p, p.currentSession);
      } else if (p.olderCount == p.older.length) {
        retire(p, p.olderSessions[p.olderCount - 1]);
      }
    }
    if (p.current != null && p.older.length > 0) {
      int keep = Math.min(p.olderCount, p.older.length - 1);
      System.arraycopy(p.older, 0, p.older, 1, keep);
      System.arraycopy(p.olderSessions, 0, p.olderSessions, 1, keep);
      p.older[0] = p.current;
      p.olderSessions[0] = p.currentSession;
      p.olderCount = keep + 1;
    }
    p.current = new SeqIntervalSet(config.maxIntervalsPerSession());
    p.currentSession = session;
    p.frontRunner = null;
    p.lastNewAt = Long.MIN_VALUE;
    return p.current;
  }

  /** Sessions of a history publisher remembered after they fall off: a publisher restarting more often than this in a replay's reach is not expected. */
  static final int RETIRED_SESSIONS = 8;

  private static void retire(Publisher p, long session) {
    if (p.retired == null) p.retired = new long[RETIRED_SESSIONS];
    int keep = Math.min(p.retiredCount, RETIRED_SESSIONS - 1);
    System.arraycopy(p.retired, 0, p.retired, 1, keep);
    p.retired[0] = session;
    p.retiredCount = keep + 1;
  }

  private static boolean retired(Publisher p, long session) {
    for (int i = 0; i < p.retiredCount; i++) if (p.retired[i] == session) return true;
    return false;
  }

  private Publisher lookup(PeerId publisher) {
    Publisher p = lastPublisher;
    if (p != null && (p.id == publisher || p.id.equals(publisher))) return p;
    p = publishers.get(publisher);
    if (p != null) lastPublisher = p;
    return p;
  }

  /** Makes room at the cap: the publisher silent the longest goes. */
  private void evictLeastRecentlyActive() {
    Publisher oldest = null;
    for (Publisher p : publishers.values()) {
      if (oldest == null || p.lastActive < oldest.lastActive) oldest = p;
    }
    PeerId evicted = oldest.id;
    publishers.remove(evicted);
    if (oldest == lastPublisher) lastPublisher = null;
    evictions++;
    out.emit(new OverlayEvent.Dropped(stream, evicted, OverlayEvent.DropReason.CAPACITY,
        "seen set full (" + config.maxPublishers() + " publishers): forgot the least recently active"));
  }

  @Override
  public void gapDetected(long fromSeq, long toSeq) {
    if (toSeq < recordingSeq) { // above what we had, not below the oldest we keep
      openedGapFrom = fromSeq;
      openedGapTo = toSeq;
    }
    out.emit(new OverlayEvent.GapDetected(stream, gapPublisher, gapSession, fromSeq, toSeq));
  }

  @Override
  public void gapResolved(long fromSeq, long toSeq) {
    out.emit(new OverlayEvent.GapResolved(stream, gapPublisher, gapSession, fromSeq, toSeq));
  }

  @Override
  public void gapAbandoned(long fromSeq, long toSeq) {
    out.emit(new OverlayEvent.GapAbandoned(stream, gapPublisher, gapSession, fromSeq, toSeq));
  }
}
