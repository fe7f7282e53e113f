package dev.overlay.delivery;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Seal;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Hands a stream's new messages to the application in sequence order per (publisher, session):
 * a message that arrives past a hole waits until the hole fills, is given up on, or has waited
 * too long. What a subscription that starts from a position is promised (issue 14; docs/api.md,
 * "Starting from a position"): history, then live, in order, without duplicates.
 *
 * <p>Only streams joined from a position use it. A live subscription takes messages as they
 * come, as before: waiting for a hole adds its repair time (a GRAFT round trip, or seconds for a
 * storage node's answer) to every message behind it, and a telemetry dashboard prefers the
 * newest reading now.
 *
 * <p>Bounded: at most {@code maxHeld} messages and {@code maxHeldBytes} payload bytes wait, over
 * all sessions of the stream; no message waits longer than {@code maxWaitNanos} (checked at
 * housekeeping: a hole filled one message at a time cannot stretch the wait); at most
 * {@link #MAX_SESSIONS} sessions, {@link #MAX_SESSIONS_PER_PUBLISHER} of one publisher. Past any
 * of these the lowest waiting messages are released over their hole, with an
 * {@link OverlayEvent.OrderSkipped} naming it. A hole's message that still comes afterwards is
 * delivered then, late, and counted. The seen set decides what is new, so no message reaches this
 * class twice.
 */
public final class InOrderRelease {

  /** One publisher session: the next number owed to the application, and what waits behind it. */
  private static final class Session {
    final Key key;
    long next;
    final TreeMap<Long, Waiting> waiting = new TreeMap<>();

    Session(Key key, long next) {
      this.key = key;
      this.next = next;
    }
  }

  private record Key(PeerId publisher, long session) {}

  /**
   * {@code firstExpected} of a session whose start is not known yet: first heard live while a
   * {@code since} start's storage nodes have not answered. It starts at its first stored message
   * that comes, or, when the answer ends without one ({@link #historyEnded}) or a bound is
   * reached, at the lowest message it holds.
   */
  public static final long AFTER_HISTORY = Long.MIN_VALUE;

  private record Waiting(Data message, Seal seal, long heldAt) {}

  /**
   * Sessions remembered at most; past it the least recently used one holding nothing goes (or,
   * if all hold messages, the least recently used, its messages released first). Each costs a
   * few hundred bytes; a full buffer looks through them for the fullest, so not many more.
   */
  static final int MAX_SESSIONS = 1024;
  /**
   * Sessions of one publisher remembered at most: twice the seen set's default. A publisher
   * signing a flood of session numbers pushes out only its own.
   */
  static final int MAX_SESSIONS_PER_PUBLISHER = 4;

  private final StreamId stream;
  private final int maxHeld;
  private final long maxHeldBytes;
  private final long maxWaitNanos;
  private final Outbox out;
  private final LinkedHashMap<Key, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
  private final HashMap<PeerId, Integer> sessionsOf = new HashMap<>();
  private int held;
  private long heldBytes;
  private long skips;
  private long late;

  public InOrderRelease(StreamId stream, int maxHeld, long maxHeldBytes, long maxWaitNanos, Outbox out) {
    if (maxHeld <= 0 || maxHeldBytes <= 0 || maxWaitNanos <= 0) throw new IllegalArgumentException("limits must be positive");
    this.stream = Objects.requireNonNull(stream);
    this.maxHeld = maxHeld;
    this.maxHeldBytes = maxHeldBytes;
    this.maxWaitNanos = maxWaitNanos;
    this.out = out;
  }

  /**
   * A message new to the seen set. {@code firstExpected} is the number the session's order starts
   * at when this is the first message of it seen here: the start of the hole this message opened
   * that will be fetched, or this message, or (for a session forgotten here whose old hole this
   * message fills) the first number after what the seen set holds, this one then going out at once;
   * or {@link #AFTER_HISTORY}. {@code fromHistory}: a storage node's answer brought it.
   */
  public void offer(long now, Data message, Seal seal, long firstExpected, boolean fromHistory) {
    Key key = new Key(message.publisher(), message.session());
    Session s = sessions.get(key);
    if (s == null) s = open(now, key, firstExpected); // above this message when the session was forgotten and this fills an old hole
    long seq = message.seq();
    if (s.next == AFTER_HISTORY && fromHistory) {
      // A storage node sends each session in order: its first message of one is where it starts
      // (or the lowest held, if that is lower: what the node heard live before it).
      s.next = s.waiting.isEmpty() ? seq : Math.min(seq, s.waiting.firstKey());
      drain(s);
    }
    if (seq < s.next) {
      late++; // its hole was skipped over already: late, but not lost
      out.deliver(message, seal);
      return;
    }
    if (seq > s.next) {
      if (s.waiting.put(seq, new Waiting(message, seal, now)) == null) {
        held++;
        heldBytes += message.payload().length;
      }
      while (held > maxHeld || heldBytes > maxHeldBytes) skipFullest("the order buffer is full (" + maxHeld + " messages, " + maxHeldBytes + " bytes)");
      return;
    }
    out.deliver(message, seal);
    s.next = seq + 1;
    drain(s);
  }

  /**
   * Releases what waited {@code maxWaitNanos} (with every hole below it), and what waits behind a
   * hole the seen set has given up ({@code given.contains}: an abandoned hole counts as received
   * there).
   */
  public void expire(long now, SeenMessages given) {
    for (Session s : sessions.values()) {
      if (s.waiting.isEmpty()) continue;
      long stale = -1; // the highest number that waited too long
      for (Map.Entry<Long, Waiting> e : s.waiting.entrySet()) {
        if (now - e.getValue().heldAt >= maxWaitNanos) stale = e.getKey();
      }
      while (!s.waiting.isEmpty() && s.waiting.firstKey() <= stale) skip(s, "waited " + maxWaitNanos / 1_000_000 + " ms for it");
      if (!s.waiting.isEmpty() && s.next != AFTER_HISTORY && given.contains(s.key.publisher, s.key.session, s.next)) {
        skip(s, "the seen set gave it up");
      }
    }
  }

  /**
   * A storage node lacks {@code fromSeq..toSeq}: if the session's order waits inside that range
   * and a message it holds comes right after it, that message and what follows it are released
   * (reported). The hole must end at a message held here, one the core authenticated: a claim
   * alone moves nothing.
   */
  public void skipLacking(PeerId publisher, long session, long fromSeq, long toSeq) {
    Session s = sessions.get(new Key(publisher, session));
    if (s == null) return;
    // Possibly several holes: messages inside the range may have come from the caches meanwhile.
    while (!s.waiting.isEmpty() && s.next >= fromSeq && s.next <= toSeq && s.waiting.firstKey() <= toSeq + 1) {
      skip(s, "the storage node lacks them");
    }
  }

  /**
   * The storage nodes' answer to a {@code since} start ended: sessions still without a start
   * begin at the lowest message they hold (nothing stored comes before it now).
   */
  public void historyEnded() {
    for (Session s : sessions.values()) {
      if (s.next == AFTER_HISTORY && !s.waiting.isEmpty()) skip(s, null);
    }
  }

  /**
   * A stored message the seen set had already (delivered before this release knew its session,
   * or held here from the live stream): a session whose order waits at it goes past it, and a
   * session without a start starts after it. Not at any other number: one that is due later
   * still waits for its own copy, or its hole is reported.
   */
  public void deliveredBefore(Data message) {
    Session s = sessions.get(new Key(message.publisher(), message.session()));
    if (s == null) return;
    long seq = message.seq();
    if (s.next == AFTER_HISTORY) {
      // The storage node's first message of the session starts it, this copy or not: what it
      // sends next follows in order. A copy of a held message starts it there.
      s.next = s.waiting.isEmpty() ? seq + 1 : Math.min(seq + 1, s.waiting.firstKey());
    } else if (s.next == seq) {
      s.next++;
    } else {
      return;
    }
    drain(s);
  }

  /**
   * The node leaves the stream: what waits is released now, over its holes (each reported), not
   * dropped. Subscriptions stay open after a leave, and these messages arrived before it.
   */
  public void releaseAll() {
    for (Session s : sessions.values()) {
      while (!s.waiting.isEmpty()) skip(s, "the node left the stream");
    }
  }

  /** Messages waiting for a hole to fill. */
  public int held() {
    return held;
  }

  /** Holes released over without their messages (each an {@link OverlayEvent.OrderSkipped}). */
  public long skips() {
    return skips;
  }

  /** Messages of a skipped hole that came afterwards, delivered out of order. */
  public long late() {
    return late;
  }

  private Session open(long now, Key key, long next) {
    int ofPublisher = sessionsOf.getOrDefault(key.publisher, 0);
    if (ofPublisher >= MAX_SESSIONS_PER_PUBLISHER) {
      evict(oldest(key.publisher, false), "too many sessions of this publisher (" + MAX_SESSIONS_PER_PUBLISHER + ")");
    } else if (sessions.size() >= MAX_SESSIONS) {
      Session idle = oldest(null, true);
      evict(idle != null ? idle : oldest(null, false), "too many publisher sessions (" + MAX_SESSIONS + ")");
    }
    Session s = new Session(key, next);
    sessions.put(key, s);
    sessionsOf.merge(key.publisher, 1, Integer::sum);
    return s;
  }

  /** The least recently used session (of {@code publisher}, if given; holding nothing, if asked). */
  private Session oldest(PeerId publisher, boolean idleOnly) {
    for (Session s : sessions.values()) {
      if (publisher != null && !s.key.publisher.equals(publisher)) continue;
      if (idleOnly && !s.waiting.isEmpty()) continue;
      return s;
    }
    return null;
  }

  private void evict(Session s, String reason) {
    while (!s.waiting.isEmpty()) skip(s, reason);
    sessions.remove(s.key);
    if (sessionsOf.merge(s.key.publisher, -1, Integer::sum) <= 0) sessionsOf.remove(s.key.publisher);
  }

  private void drain(Session s) {
    while (!s.waiting.isEmpty()) {
      Map.Entry<Long, Waiting> first = s.waiting.firstEntry();
      if (first.getKey() != s.next) break;
      s.waiting.pollFirstEntry();
      release(first.getValue());
      s.next++;
    }
  }

  /**
   * Releases over the session's lowest hole (reporting it), then whatever follows in order. A
   * session without a start yet starts at its lowest message instead: no hole is known to report.
   */
  private void skip(Session s, String reason) {
    if (s.next == AFTER_HISTORY) {
      s.next = s.waiting.firstKey(); // opened with a held message; drain releases it at least
      drain(s);
      return;
    }
    long to = s.waiting.firstKey() - 1; // held numbers are always above next: at least one is missing
    skips++;
    out.emit(new OverlayEvent.OrderSkipped(stream, s.key.publisher, s.key.session, s.next, to, reason));
    s.next = to + 1;
    drain(s);
  }

  /** The buffer is full: the session holding the most gives up its lowest hole. */
  private void skipFullest(String reason) {
    Session fullest = null;
    for (Session s : sessions.values()) {
      if (fullest == null || s.waiting.size() > fullest.waiting.size()) fullest = s;
    }
    skip(fullest, reason);
  }

  private void release(Waiting w) {
    held--;
    heldBytes -= w.message.payload().length;
    out.deliver(w.message, w.seal);
  }
}
