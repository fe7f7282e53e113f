package dev.overlay.core;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where a node's stream of messages starts when it joins a stream: with the next message
 * ({@link #live()}, the default), just after positions the application kept
 * ({@link #after}), or with the newest {@code n} messages of each publisher ({@link #latest}).
 * The two combine: {@code StartAt.after(kept).orLatest(100)} resumes the publishers in
 * {@code kept} and starts the others 100 messages back. {@link #since} asks storage nodes for
 * everything they stored from a time on.
 *
 * <p>History comes from what the stream's nodes still hold: their message caches (30 s by
 * default, {@code PlumtreeConfig messageCacheTtl}), and the storage nodes the node is given. What no neighbour holds any more is reported
 * as {@link OverlayEvent.GapUnrecoverable}, never skipped silently. docs/api.md, "Starting from a
 * position", has the semantics.
 */
public final class StartAt {

  /** The most positions one start may carry: the seen set's default limit on publishers. */
  public static final int MAX_POSITIONS = 1_024;
  /** The most messages {@link #latest} may ask for per publisher: one announcement range. */
  public static final int MAX_LATEST = 65_536;

  /** Sequence numbers stop below this (the protocol's bound, 2^62). */
  private static final long MAX_SEQ = 1L << 62;

  /** {@link #sinceMillis()} when the start names no time. */
  public static final long NO_TIME = Long.MIN_VALUE;

  private static final StartAt LIVE = new StartAt(List.of(), 0, NO_TIME);

  private final List<Position> after;
  private final int latest;
  private final long sinceMillis;

  private StartAt(List<Position> after, int latest, long sinceMillis) {
    this.after = after;
    this.latest = latest;
    this.sinceMillis = sinceMillis;
  }

  /**
   * Starts with every message stored from {@code time} on, of every publisher, by the storage
   * nodes the node is given ({@code OverlayNode.Builder.storageNode}); a storage node's time is
   * when it stored a message, to the second. Without storage nodes nothing can answer it, and the
   * node says so ({@code TransportEvent.HistoryUnavailable}).
   *
   * @param time the earliest storage time wanted
   * @return the start
   */
  public static StartAt since(java.time.Instant time) {
    return new StartAt(List.of(), 0, Objects.requireNonNull(time, "time").toEpochMilli());
  }

  /** {@return a start with the next message of each publisher: no history} */
  public static StartAt live() {
    return LIVE;
  }

  /**
   * Starts each publisher {@code n} messages back: the newest {@code n} of its current session
   * that a neighbour still holds, then the live messages.
   *
   * @param n messages per publisher, 1 to {@link #MAX_LATEST}
   * @return the start
   * @throws IllegalArgumentException if {@code n} is out of range
   */
  public static StartAt latest(int n) {
    return LIVE.orLatest(n);
  }

  /**
   * Resumes after the given positions: for each, every message of its session after
   * {@code seq} (a later session of the publisher is followed from the first message of it that
   * arrives, its earlier messages fetched as a gap). At most one position per publisher and
   * session; the last one given wins.
   *
   * @param positions the last message processed of each publisher session
   * @return the start
   * @throws IllegalArgumentException if there are more than {@link #MAX_POSITIONS}
   */
  public static StartAt after(Collection<Position> positions) {
    Map<List<Object>, Position> bySession = new LinkedHashMap<>();
    for (Position p : positions) {
      Objects.requireNonNull(p, "position");
      if (p.seq() >= MAX_SEQ) throw new IllegalArgumentException("a position's seq must be below " + MAX_SEQ + ", got " + p.seq());
      List<Object> key = List.of(p.publisher(), p.session());
      bySession.remove(key); // the last one given wins, in its place
      bySession.put(key, p);
    }
    if (bySession.size() > MAX_POSITIONS) {
      throw new IllegalArgumentException("at most " + MAX_POSITIONS + " positions, got " + bySession.size());
    }
    return new StartAt(List.copyOf(bySession.values()), 0, NO_TIME);
  }

  /**
   * As {@link #after(Collection)}.
   *
   * @param positions the last message processed of each publisher session
   * @return the start
   */
  public static StartAt after(Position... positions) {
    return after(List.of(positions));
  }

  /**
   * This start, with publishers it has no position for started {@code n} messages back.
   *
   * @param n messages per publisher, 1 to {@link #MAX_LATEST}
   * @return the start
   * @throws IllegalArgumentException if {@code n} is out of range
   */
  public StartAt orLatest(int n) {
    if (n < 1 || n > MAX_LATEST) throw new IllegalArgumentException("latest must be 1.." + MAX_LATEST + ", got " + n);
    return new StartAt(after, n, sinceMillis);
  }

  /** {@return the positions to resume after} */
  public List<Position> positions() {
    return after;
  }

  /** {@return how many messages back other publishers start, 0 for none} */
  public int latest() {
    return latest;
  }

  /** {@return the earliest storage time asked for, in milliseconds since the epoch, or {@link #NO_TIME}} */
  public long sinceMillis() {
    return sinceMillis;
  }

  /** {@return whether this asks for no history at all} */
  public boolean isLive() {
    return after.isEmpty() && latest == 0 && sinceMillis == NO_TIME;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StartAt s && s.latest == latest && s.sinceMillis == sinceMillis && s.after.equals(after);
  }

  @Override
  public int hashCode() {
    return (after.hashCode() * 31 + latest) * 31 + Long.hashCode(sinceMillis);
  }

  @Override
  public String toString() {
    return isLive() ? "StartAt[live]" : "StartAt[after " + after.size() + " positions, latest " + latest
        + (sinceMillis == NO_TIME ? "" : ", since " + java.time.Instant.ofEpochMilli(sinceMillis)) + "]";
  }
}
