package dev.overlay.delivery;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.Outbox;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
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
public final class SeenMessages {

  /** What one publisher has sent us, newest session first. */
  public static final class Publisher {
    final PeerId id;
    final Session[] sessions;
    int sessionCount;
    long lastActive;

    Publisher(PeerId id, int maxSessions) {
      this.id = id;
      this.sessions = new Session[maxSessions];
    }
  }

  static final class Session {
    final long session;
    final SeqIntervalSet seqs;

    Session(long session, int maxIntervals) {
      this.session = session;
      this.seqs = new SeqIntervalSet(maxIntervals);
    }
  }

  private final StreamId stream;
  private final SeenConfig config;
  private final Outbox out;
  private final GapReporter gapReporter = new GapReporter();
  private final LinkedHashMap<PeerId, Publisher> publishers = new LinkedHashMap<>();
  /** The publisher looked up last: most streams carry one or a few, so this saves the hash lookup. */
  private Publisher lastPublisher;
  private long evictions;

  public SeenMessages(StreamId stream, SeenConfig config, Outbox out) {
    this.stream = stream;
    this.config = config;
    this.out = out;
  }

  /** Records a message; returns {@link SeqIntervalSet#NEW}, {@code DUPLICATE} or {@code TOO_OLD}. */
  public int record(long now, PeerId publisher, long session, long seq) {
    Publisher p = lookup(publisher);
    if (p == null) {
      p = new Publisher(publisher, config.maxSessionsPerPublisher());
      if (publishers.size() >= config.maxPublishers()) evictLeastRecentlyActive();
      publishers.put(publisher, p);
      lastPublisher = p;
    }
    p.lastActive = now;
    Session s = session(p, session, true);
    gapReporter.target(publisher, session);
    return s.seqs.add(seq, gapReporter);
  }

  /** Whether the message was delivered (or given up on). Unknown publishers have seen nothing. */
  public boolean contains(PeerId publisher, long session, long seq) {
    Publisher p = lookup(publisher);
    if (p == null) return false;
    Session s = session(p, session, false);
    return s != null && s.seqs.contains(seq);
  }

  /** Forgets publishers silent for longer than the TTL. */
  public void expire(long now) {
    Iterator<Map.Entry<PeerId, Publisher>> it = publishers.entrySet().iterator();
    while (it.hasNext()) {
      Publisher p = it.next().getValue();
      if (now - p.lastActive >= config.publisherTtlNanos()) {
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
      for (int i = 0; i < p.sessionCount; i++) max = Math.max(max, p.sessions[i].seqs.intervals());
    }
    return max;
  }

  private Session session(Publisher p, long session, boolean create) {
    for (int i = 0; i < p.sessionCount; i++) {
      if (p.sessions[i].session == session) return p.sessions[i];
    }
    if (!create) return null;
    // A new session goes first; the oldest falls off the end when full.
    Session s = new Session(session, config.maxIntervalsPerSession());
    int keep = Math.min(p.sessionCount, p.sessions.length - 1);
    System.arraycopy(p.sessions, 0, p.sessions, 1, keep);
    p.sessions[0] = s;
    p.sessionCount = keep + 1;
    return s;
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

  /** Turns interval-set callbacks into events; retargeted before each add, so it allocates nothing. */
  private final class GapReporter implements SeqIntervalSet.GapListener {
    private PeerId publisher;
    private long session;

    void target(PeerId p, long s) {
      publisher = p;
      session = s;
    }

    @Override
    public void gapDetected(long fromSeq, long toSeq) {
      out.emit(new OverlayEvent.GapDetected(stream, publisher, session, fromSeq, toSeq));
    }

    @Override
    public void gapResolved(long fromSeq, long toSeq) {
      out.emit(new OverlayEvent.GapResolved(stream, publisher, session, fromSeq, toSeq));
    }

    @Override
    public void gapAbandoned(long fromSeq, long toSeq) {
      out.emit(new OverlayEvent.GapAbandoned(stream, publisher, session, fromSeq, toSeq));
    }
  }
}
