package dev.overlay.broadcast;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Plumtree's announcements that run ahead of a tree still delivering, and stall detection: one
 * {@link Ahead} range per publisher rather than a missing entry and a timer per message, looked
 * at by a {@link Timer.StallCheck}. What the tree went past, or everything once it stalls, is
 * handed to {@link MissingRepair}, a bounded number at a time.
 */
final class AheadTracker {

  /**
   * Announcements of one publisher's messages beyond the highest its tree has delivered, made
   * while the tree was still delivering: one range per publisher, not an entry and a timer per
   * message. A {@link Timer.StallCheck} looks at it once per {@code stallTimeout}: numbers the
   * tree went past without delivering are fetched at once, and if the tree stopped delivering,
   * everything announced is.
   */
  static final class Ahead {
    final long session;
    long low; // lowest announced number not yet accounted for
    long high; // highest announced number
    final PeerId[] announcers;
    final long[] announcedUpTo;
    int announcerCount;
    boolean checkScheduled;
    /** When it was last announced to: a range nobody announces to for missingTtl is given up. */
    long notedAt;

    Ahead(long session, long low, int maxAnnouncers) {
      this.session = session;
      this.low = low;
      this.high = low - 1;
      this.announcers = new PeerId[maxAnnouncers];
      this.announcedUpTo = new long[maxAnnouncers];
    }

    void note(PeerId from, long first, long last) {
      low = Math.min(low, first);
      high = Math.max(high, last);
      for (int i = 0; i < announcerCount; i++) {
        if (announcers[i].equals(from)) {
          announcedUpTo[i] = Math.max(announcedUpTo[i], last);
          return;
        }
      }
      if (announcerCount < announcers.length) {
        announcers[announcerCount] = from;
        announcedUpTo[announcerCount++] = last;
      }
    }

    void removeAnnouncer(PeerId peer) {
      for (int i = 0; i < announcerCount; i++) {
        if (announcers[i].equals(peer)) {
          System.arraycopy(announcers, i + 1, announcers, i, announcerCount - i - 1);
          System.arraycopy(announcedUpTo, i + 1, announcedUpTo, i, announcerCount - i - 1);
          announcers[--announcerCount] = null;
          return;
        }
      }
    }
  }

  private final StreamId stream;
  private final PlumtreeConfig config;
  private final Outbox out;
  private final SeenMessages seen;
  private final Lateness lateness;
  private final MissingRepair repair;
  /** Announced ahead of a tree that is still delivering, by publisher; null while empty. */
  private LinkedHashMap<PeerId, Ahead> ahead;
  private long stalls;
  private long deferred;

  AheadTracker(StreamId stream, PlumtreeConfig config, Outbox out, SeenMessages seen, Lateness lateness, MissingRepair repair) {
    this.stream = stream;
    this.config = config;
    this.out = out;
    this.seen = seen;
    this.lateness = lateness;
    this.repair = repair;
  }

  /** Whether this publisher's tree brought us a new message of the session within {@code stallTimeout}. */
  boolean treeDelivering(long now, PeerId publisher, long session) {
    long last = seen.lastNewAt(publisher, session);
    return last != Long.MIN_VALUE && now - last < stallWait(now);
  }

  /** How long a tree may be silent before it is taken for stalled: never less than the repair wait. */
  private long stallWait(long now) {
    return Math.max(config.stallTimeoutNanos(), lateness.timeoutNanos(now));
  }

  /** {@code from} announced {@code first..last} of the publisher's session: kept on its range, checked after the stall wait. */
  void note(long now, PeerId publisher, long session, long first, long last, PeerId from) {
    note(now, publisher, session, first, last, from, -1);
  }

  /**
   * History the application asked for (a start position): kept like an announcement, and
   * checked at once rather than after the stall wait, so it is fetched (a bounded number at a
   * time) as soon as it is known.
   */
  void fetchHistory(long now, PeerId publisher, long session, long first, long last, PeerId from) {
    note(now, publisher, session, first, last, from, 0);
  }

  /** Whether a range for this publisher session fits without replacing or evicting another. */
  boolean hasRoom(PeerId publisher, long session) {
    Ahead existing = ahead == null ? null : ahead.get(publisher);
    return existing != null ? existing.session == session : ahead == null || ahead.size() < config.maxPublisherTrees();
  }

  /** As above; {@code checkDelay} below 0 means the stall wait. */
  private void note(long now, PeerId publisher, long session, long first, long last, PeerId from, long checkDelay) {
    if (ahead == null) ahead = new LinkedHashMap<>();
    Ahead a = ahead.get(publisher);
    if (a != null && a.session != session) {
      // The publisher restarted: what it announced of its old session is fetched now.
      ahead.remove(publisher);
      fetchAhead(now, publisher, a);
      a = null;
    }
    if (a == null) {
      if (ahead.size() >= config.maxPublisherTrees()) { // bounded: the oldest range is fetched, not forgotten
        Map.Entry<PeerId, Ahead> eldest = ahead.entrySet().iterator().next();
        ahead.remove(eldest.getKey());
        fetchAhead(now, eldest.getKey(), eldest.getValue());
      }
      a = new Ahead(session, first, config.maxAnnouncersPerMissing());
      ahead.put(publisher, a);
    }
    a.note(from, first, last);
    a.notedAt = now;
    if (!a.checkScheduled) {
      a.checkScheduled = true;
      out.schedule(new Timer.StallCheck(stream, publisher), checkDelay >= 0 ? checkDelay : stallWait(now));
    }
  }

  /**
   * Announced numbers past the frame's work budget: kept on the publisher's range, fetched a
   * bounded number at a time. Only for a publisher whose messages we have had, in the session
   * its range already follows: announcements are not signed, and a made-up publisher or session
   * must cost nothing. Never evicts (and so fetches) another publisher's range.
   */
  void deferAnnounced(long now, PeerId publisher, long session, long seq, long last, PeerId from) {
    if (!seen.knows(publisher)) return;
    Ahead existing = ahead == null ? null : ahead.get(publisher);
    boolean room = existing != null ? existing.session == session : ahead == null || ahead.size() < config.maxPublisherTrees();
    if (room) note(now, publisher, session, seq, last, from);
  }

  /** Keeps {@code ref} in its publisher's announced range, if that needs no other range evicted (the repair table is full). */
  boolean deferToRange(long now, MessageRef ref, PeerId from) {
    Ahead a = ahead == null ? null : ahead.get(ref.publisher());
    if (a == null ? ahead != null && ahead.size() >= config.maxPublisherTrees() : a.session != ref.session()) return false;
    deferred++;
    note(now, ref.publisher(), ref.session(), ref.seq(), ref.seq(), from);
    return true;
  }

  /**
   * See {@link Ahead}. Fetching is bounded per check ({@code maxMissingPerFrame} numbers); what is
   * left stays on the range and the next check, soon, goes on with it.
   */
  void onStallCheck(long now, PeerId publisher) {
    Ahead a = ahead == null ? null : ahead.get(publisher);
    if (a == null) return;
    a.checkScheduled = false;
    if (a.announcerCount == 0 || now - a.notedAt > config.missingTtlNanos()) {
      // Everyone who announced it left, or nobody has for missingTtl (as a missing entry
      // expires): given up, so that a range no one serves costs no work for ever.
      remove(publisher);
      return;
    }
    // Numbers the tree has gone past without delivering will not come by it: fetch them now.
    long passed = Math.min(seen.highest(publisher, a.session), a.high);
    if (a.low <= passed) {
      long before = a.low;
      a.low = fetchRange(now, publisher, a, a.low, passed);
      if (a.low > before) a.notedAt = now; // being fetched: not abandoned for want of new announcements
      if (a.low <= passed) {
        checkAgain(publisher, a, config.graftTimeout2Nanos());
        return;
      }
    }
    if (a.low > a.high) {
      remove(publisher);
      return;
    }
    long last = seen.lastNewAt(publisher, a.session);
    if (last != Long.MIN_VALUE && now - last < stallWait(now)) {
      checkAgain(publisher, a, last + stallWait(now) - now);
      return;
    }
    // The tree has gone quiet while others have newer messages: it is broken somewhere above us.
    stalls++;
    long before = a.low;
    a.low = fetchRange(now, publisher, a, a.low, a.high);
    if (a.low > before) a.notedAt = now;
    if (a.low > a.high) remove(publisher);
    else checkAgain(publisher, a, config.graftTimeout2Nanos());
  }

  /** The peer left: no range fetches from it. */
  void peerDown(PeerId peer) {
    if (ahead == null) return;
    for (Ahead a : ahead.values()) a.removeAnnouncer(peer);
  }

  /** Publishers with a range. */
  int size() {
    return ahead == null ? 0 : ahead.size();
  }

  /** Checks that found a tree stalled. */
  long stalls() {
    return stalls;
  }

  /** Numbers kept on a range because the repair table was full. */
  long deferred() {
    return deferred;
  }

  private void checkAgain(PeerId publisher, Ahead a, long delay) {
    a.checkScheduled = true;
    out.schedule(new Timer.StallCheck(stream, publisher), delay);
  }

  /** Everything announced in the range and still unseen becomes missing, grafted at once, up to the budget. */
  private void fetchAhead(long now, PeerId publisher, Ahead a) {
    fetchRange(now, publisher, a, a.low, a.high);
  }

  /** Makes unseen numbers from..to missing, at most {@code maxMissingPerFrame}; returns the first one left. */
  private long fetchRange(long now, PeerId publisher, Ahead a, long from, long to) {
    int budget = config.maxMissingPerFrame(); // bounds one event's work, as for a frame
    long seq = seen.firstUnseen(publisher, a.session, from);
    for (; seq <= to; seq = seen.firstUnseen(publisher, a.session, seq + 1)) {
      if (budget-- <= 0) return seq;
      if (repair.full()) return seq; // the repair window is full: later
      MessageRef ref = null;
      for (int i = 0; i < a.announcerCount; i++) {
        if (a.announcedUpTo[i] < seq) continue;
        if (ref == null) ref = new MessageRef(publisher, a.session, seq);
        repair.add(now, ref, a.announcers[i], 0);
      }
    }
    return to + 1;
  }

  private void remove(PeerId publisher) {
    ahead.remove(publisher);
    if (ahead.isEmpty()) ahead = null;
  }
}
