package dev.overlay.delivery;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Seal;
import java.util.Iterator;
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
 * all sessions of the stream, and a hole is waited for at most {@code maxWaitNanos} (checked at
 * housekeeping). Past any of these the lowest waiting messages are released over the hole, with
 * an {@link OverlayEvent.OrderSkipped} naming it. A hole's message that still comes afterwards
 * is delivered then, late, and counted: never dropped. The seen set decides what is new, so no
 * message reaches this class twice.
 */
public final class InOrderRelease {

  /** One publisher session: the next number owed to the application, and what waits behind it. */
  private static final class Session {
    long next;
    /** When the oldest hole now waited for began to hold messages back. */
    long waitingSince;
    final TreeMap<Long, Waiting> waiting = new TreeMap<>();

    Session(long next) {
      this.next = next;
    }
  }

  private record Key(PeerId publisher, long session) {}

  private record Waiting(Data message, Seal seal) {}

  /** Sessions remembered at most; past it the least recently used goes, its waiting messages released first. */
  static final int MAX_SESSIONS = 4096;

  private final StreamId stream;
  private final int maxHeld;
  private final long maxHeldBytes;
  private final long maxWaitNanos;
  private final Outbox out;
  private final LinkedHashMap<Key, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
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
   * at when this is the first message of it seen here (the first missing number the seen set
   * knows of, or this one).
   */
  public void offer(long now, Data message, Seal seal, long firstExpected) {
    Key key = new Key(message.publisher(), message.session());
    Session s = sessions.get(key);
    if (s == null) {
      if (sessions.size() >= MAX_SESSIONS) evictLeastRecentlyUsed(now);
      s = new Session(Math.min(firstExpected, message.seq()));
      sessions.put(key, s);
    }
    long seq = message.seq();
    if (seq < s.next) {
      late++; // its hole was skipped over already: late, but not lost
      out.deliver(message, seal);
      return;
    }
    if (seq > s.next) {
      if (s.waiting.isEmpty()) s.waitingSince = now;
      if (s.waiting.put(seq, new Waiting(message, seal)) == null) {
        held++;
        heldBytes += message.payload().length;
      }
      while (held > maxHeld || heldBytes > maxHeldBytes) skipFullest(now, "the order buffer is full (" + maxHeld + " messages, " + maxHeldBytes + " bytes)");
      return;
    }
    out.deliver(message, seal);
    s.next = seq + 1;
    drain(now, s);
  }

  /**
   * Releases the messages of holes that waited {@code maxWaitNanos}, and of holes the seen set
   * has given up ({@code given.contains}: an abandoned hole counts as received there).
   */
  public void expire(long now, SeenMessages given) {
    for (Map.Entry<Key, Session> e : sessions.entrySet()) {
      Session s = e.getValue();
      if (s.waiting.isEmpty()) continue;
      Key k = e.getKey();
      if (now - s.waitingSince >= maxWaitNanos) {
        skip(now, k, s, "waited " + maxWaitNanos / 1_000_000 + " ms for it");
      } else if (given.contains(k.publisher, k.session, s.next)) {
        skip(now, k, s, "the seen set gave it up");
      }
    }
  }

  /**
   * A storage node lacks {@code fromSeq..toSeq}: if the session's order waits inside that range,
   * it goes on after it (reported). A hole further on is left to its own time: something before
   * it may still come.
   */
  public void skipLacking(long now, PeerId publisher, long session, long fromSeq, long toSeq) {
    Key k = new Key(publisher, session);
    Session s = sessions.get(k);
    if (s == null || s.next < fromSeq || s.next > toSeq) return;
    skips++;
    out.emit(new OverlayEvent.OrderSkipped(stream, publisher, session, s.next, toSeq, "the storage node lacks them"));
    s.next = toSeq + 1;
    drain(now, s);
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

  private void drain(long now, Session s) {
    while (!s.waiting.isEmpty()) {
      Map.Entry<Long, Waiting> first = s.waiting.firstEntry();
      if (first.getKey() != s.next) break;
      s.waiting.pollFirstEntry();
      release(first.getValue());
      s.next++;
    }
    if (!s.waiting.isEmpty()) s.waitingSince = now; // a hole further on: its wait starts now
  }

  /** Releases over the session's lowest hole (reporting it), then whatever follows in order. */
  private void skip(long now, Key k, Session s, String reason) {
    long to = s.waiting.firstKey() - 1;
    skips++;
    out.emit(new OverlayEvent.OrderSkipped(stream, k.publisher, k.session, s.next, to, reason));
    s.next = to + 1;
    drain(now, s);
  }

  /** The buffer is full: the session holding the most gives up its lowest hole. */
  private void skipFullest(long now, String reason) {
    Map.Entry<Key, Session> fullest = null;
    for (Map.Entry<Key, Session> e : sessions.entrySet()) {
      if (fullest == null || e.getValue().waiting.size() > fullest.getValue().waiting.size()) fullest = e;
    }
    Session s = fullest.getValue();
    skip(now, fullest.getKey(), s, reason);
  }

  private void evictLeastRecentlyUsed(long now) {
    Iterator<Map.Entry<Key, Session>> it = sessions.entrySet().iterator();
    Map.Entry<Key, Session> oldest = it.next();
    Session s = oldest.getValue();
    while (!s.waiting.isEmpty()) skip(now, oldest.getKey(), s, "too many publisher sessions (" + MAX_SESSIONS + ")");
    sessions.remove(oldest.getKey());
  }

  private void release(Waiting w) {
    held--;
    heldBytes -= w.message.payload().length;
    out.deliver(w.message, w.seal);
  }
}
