package dev.overlay.broadcast;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Plumtree's repair of messages that were announced but did not come: one entry per message,
 * with the peers that announced it, each asked by GRAFT in turn after a
 * {@link Timer.GraftTimeout}, in rounds, until the message arrives or {@code missingTtl} passes.
 * The table holds at most {@code maxMissing} entries: the repair window.
 */
final class MissingRepair {

  /** Runs just before a repair GRAFT is sent to {@code peer}; {@code firstRound} until every announcer was asked once. */
  @FunctionalInterface
  interface GraftHook {
    void beforeGraft(long now, MessageRef ref, PeerId peer, boolean firstRound);
  }

  /** Where a number goes when the table is full: true if it was kept there, to be added again later. */
  @FunctionalInterface
  interface Overflow {
    boolean defer(long now, MessageRef ref, PeerId from);
  }

  /** A message we heard of by IHAVE but have not received. */
  static final class Missing {
    final long firstAnnounced;
    final PeerId[] announcers;
    int announcerCount;
    int nextAnnouncer;
    int attempts;
    /** How many times every announcer was asked: after the first, all of them were. */
    int rounds;
    boolean timerPending;
    /** A copy came once and the seen set held it back; the next copy is taken. */
    boolean held;

    Missing(long now, int maxAnnouncers) {
      firstAnnounced = now;
      announcers = new PeerId[maxAnnouncers];
    }

    void addAnnouncer(PeerId peer) {
      for (int i = 0; i < announcerCount; i++) {
        if (announcers[i].equals(peer)) return;
      }
      if (announcerCount < announcers.length) announcers[announcerCount++] = peer;
    }

    /** Whether we sent {@code peer} a GRAFT for this message. */
    boolean asked(PeerId peer) {
      int askedUpTo = rounds > 0 ? announcerCount : nextAnnouncer; // after a round, every announcer was
      for (int i = 0; i < askedUpTo; i++) {
        if (announcers[i].equals(peer)) return true;
      }
      return false;
    }

    /** The peer left: it is asked no more, and its slot is free for a new announcer. */
    void removeAnnouncer(PeerId peer) {
      for (int i = 0; i < announcerCount; i++) {
        if (announcers[i].equals(peer)) {
          System.arraycopy(announcers, i + 1, announcers, i, announcerCount - i - 1);
          announcers[--announcerCount] = null;
          if (i < nextAnnouncer) nextAnnouncer--;
          return;
        }
      }
    }
  }

  private final StreamId stream;
  private final PlumtreeConfig config;
  private final Outbox out;
  /** How late the tree brings messages that were announced first: sampled here, read by the waits. */
  private final Lateness lateness;
  private final GraftHook graftHook;
  private final Overflow overflow;
  /** Announced but not received; null while nothing is missing, which is nearly always. */
  private LinkedHashMap<MessageRef, Missing> missing;
  private final String missingFullDetail;
  private long graftsSent;
  private long evicted;
  private long given;
  private final java.util.function.Predicate<MessageRef> knownGap;

  MissingRepair(StreamId stream, PlumtreeConfig config, Outbox out, Lateness lateness, GraftHook graftHook, Overflow overflow) {
    this(stream, config, out, lateness, graftHook, overflow, ref -> true);
  }

  /**
   * @param knownGap whether a number given up was a hole between numbers received (reported as
   *     {@code GapUnrecoverable}), rather than only a claim in an unsigned announcement, or one the
   *     seen set already gave up itself ({@code GapAbandoned})
   */
  MissingRepair(StreamId stream, PlumtreeConfig config, Outbox out, Lateness lateness, GraftHook graftHook, Overflow overflow,
      java.util.function.Predicate<MessageRef> knownGap) {
    this.knownGap = knownGap;
    this.stream = stream;
    this.config = config;
    this.out = out;
    this.lateness = lateness;
    this.graftHook = graftHook;
    this.overflow = overflow;
    this.missingFullDetail = "missing-message table full (" + config.maxMissing() + "): stopped waiting for the oldest";
  }

  /**
   * How long an announced message may take to come by the tree before it is fetched: the
   * configured {@code graftTimeout1}, or, when the tree runs later than that, its measured
   * lateness plus four deviations (as TCP derives its retransmission timeout, RFC 6298), at most
   * {@link Lateness#MAX_NANOS}. Under load the tree is late, not broken; a fixed timer turned
   * that lateness into repair traffic, which made the overload worse.
   */
  long repairWait(long now) {
    return Math.max(config.graftTimeout1Nanos(), lateness.timeoutNanos(now));
  }

  /** The wait before the next announcer is asked: graftTimeout2, doubling with each attempt (at most 16 times). */
  private long retryWait(int attempts) {
    return config.graftTimeout2Nanos() << Math.min(Math.max(0, attempts - 1), 4);
  }

  /**
   * {@code from} has {@code ref}, which we lack: a new entry is asked for after
   * {@code firstGraftDelay}; an existing one gains an announcer, asked at once if every earlier
   * one was already tried.
   */
  void add(long now, MessageRef ref, PeerId from, long firstGraftDelay) {
    if (missing == null) missing = new LinkedHashMap<>();
    Missing m = missing.get(ref);
    if (m == null) {
      if (missing.size() >= config.maxMissing()) {
        // The table is the repair window: past it, a number waits in its publisher's range and
        // is fetched as entries leave. Giving the oldest wait up lost messages under overload.
        if (overflow.defer(now, ref, from)) return;
        Iterator<MessageRef> it = missing.keySet().iterator();
        it.next();
        it.remove(); // the oldest wait is given up
        evicted++;
        // Under overload this runs for every announced message: no string building per eviction.
        out.emit(new OverlayEvent.Dropped(stream, null, DropReason.CAPACITY, missingFullDetail));
      }
      m = new Missing(now, config.maxAnnouncersPerMissing());
      missing.put(ref, m);
      m.addAnnouncer(from);
      m.timerPending = true;
      out.schedule(new Timer.GraftTimeout(stream, ref, 0), firstGraftDelay);
      return;
    }
    m.addAnnouncer(from);
    if (!m.timerPending && m.nextAnnouncer < m.announcerCount) {
      // Every earlier announcer was tried; try the new one after the short timeout.
      m.timerPending = true;
      out.schedule(new Timer.GraftTimeout(stream, ref, m.attempts), retryWait(m.attempts));
    }
  }

  /** A new message arrived from {@code from}: its wait, if any, is over, and may be a sample of the tree's lateness. */
  void arrived(long now, Data message, PeerId from) {
    if (missing == null) return;
    Missing m = missing.remove(message.ref());
    if (m != null) {
      // A copy from a peer we did not ask came by the tree, this late. One from a peer we asked
      // says nothing about the tree (Karn's rule: no sample from a retransmission).
      if (!m.asked(from)) lateness.sample(now, now - m.firstAnnounced);
      if (missing.isEmpty()) missing = null;
    }
  }

  /**
   * A copy of {@code ref} came from {@code from} but the seen set held it back (it would split a
   * hole): returns true the first time, and it stays missing, to be fetched again once the hole's
   * edges have filled; false when it was held once already, or cannot be tracked here without
   * displacing another entry (the table is full): then it is taken now. A hold is bounded: a hole whose edges never come (not cached
   * anywhere, or a parent withholding them) must not cost the numbers in its middle.
   */
  boolean holdOnce(long now, MessageRef ref, PeerId from) {
    Missing m = missing == null ? null : missing.get(ref);
    // Never at the cost of another wait: a full table would defer or evict one to hold a
    // message we already have in hand.
    if (m == null && full()) return false;
    add(now, ref, from, repairWait(now));
    m = missing.get(ref);
    if (m == null || m.held) return false;
    m.held = true;
    return true;
  }

  /** A copy of a message that is not new: a wait for it is over either way (it came, or the seen set gave its hole up, too old). */
  void arrivedAgain(Data message) {
    if (missing != null && missing.remove(message.ref()) != null && missing.isEmpty()) missing = null;
  }

  /** Asks the entry's next announcer (or, after all of them, the first again: a new round) by GRAFT. */
  void onGraftTimeout(long now, Timer.GraftTimeout timer) {
    Missing m = missing == null ? null : missing.get(timer.ref());
    if (m == null || m.attempts != timer.attempt() || !m.timerPending) return; // stale
    m.timerPending = false;
    MessageRef ref = timer.ref();
    if (m.nextAnnouncer >= m.announcerCount) {
      if (m.announcerCount == 0) return; // wait for another announcement
      // Every announcer was asked and none answered: one that refused while backpressured, or
      // whose answer was lost with its link, still has it. Ask them again, each wait longer,
      // until missingTtl; waiting for a new announcement lost messages under overload.
      m.nextAnnouncer = 0;
      m.rounds++;
    }
    PeerId peer = m.announcers[m.nextAnnouncer++];
    m.attempts++;
    graftHook.beforeGraft(now, ref, peer, m.rounds == 0);
    out.send(peer, new Message.Graft(stream, ref, true));
    graftsSent++;
    out.emit(new OverlayEvent.Grafted(stream, peer, ref.publisher(), false));
    m.timerPending = true;
    out.schedule(new Timer.GraftTimeout(stream, ref, m.attempts), retryWait(m.attempts));
  }

  /** The peer left: no entry asks it again. */
  void peerDown(PeerId peer) {
    if (missing == null) return;
    for (Missing m : missing.values()) m.removeAnnouncer(peer);
  }

  /**
   * Gives up the entries announced {@code missingTtl} ago or earlier. Each is a message that never
   * came (an arrival removes its entry); each that was a known hole is reported, as a
   * {@code GapUnrecoverable}, one per run of consecutive numbers. Giving them up silently was how a partition lost messages
   * with nothing said (issue 13: the simulator's publishers' side, during a cut).
   */
  void expire(long now) {
    if (missing == null) return;
    Iterator<Map.Entry<MessageRef, Missing>> it = missing.entrySet().iterator();
    MessageRef runStart = null;
    long runEnd = 0;
    while (it.hasNext()) {
      Map.Entry<MessageRef, Missing> e = it.next();
      if (now - e.getValue().firstAnnounced < config.missingTtlNanos()) break; // insertion order: the rest are newer
      it.remove();
      MessageRef ref = e.getKey();
      if (!knownGap.test(ref)) continue; // announced only, or already abandoned by the seen set
      if (runStart != null && ref.seq() == runEnd + 1 && ref.session() == runStart.session() && ref.publisher().equals(runStart.publisher())) {
        runEnd = ref.seq();
        continue;
      }
      if (runStart != null) unrecoverable(runStart, runEnd);
      runStart = ref;
      runEnd = ref.seq();
    }
    if (runStart != null) unrecoverable(runStart, runEnd);
    if (missing.isEmpty()) missing = null;
  }

  private void unrecoverable(MessageRef first, long lastSeq) {
    given++;
    out.emit(new OverlayEvent.GapUnrecoverable(stream, first.publisher(), first.session(), first.seq(), lastSeq));
  }

  /** Runs of missing numbers given up after {@code missingTtl}. */
  long givenUp() {
    return given;
  }

  /** Whether the repair window is full: a number fetched now would evict or defer another. */
  boolean full() {
    return missing != null && missing.size() >= config.maxMissing();
  }

  int size() {
    return missing == null ? 0 : missing.size();
  }

  /** Repair GRAFTs sent so far. */
  long graftsSent() {
    return graftsSent;
  }

  /** Entries given up because the table was full. */
  long evicted() {
    return evicted;
  }
}
