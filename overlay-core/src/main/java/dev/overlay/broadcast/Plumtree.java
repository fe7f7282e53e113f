package dev.overlay.broadcast;

import dev.overlay.broadcast.TreeTable.Tree;
import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.TreeStrategy;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.PlumtreeStats;
import dev.overlay.core.Position;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StartAt;
import dev.overlay.core.StreamId;
import dev.overlay.delivery.InOrderRelease;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.delivery.SeqIntervalSet;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Announcement;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Seal;
import dev.overlay.protocol.Timer;
import dev.overlay.util.PeerStamps;
import java.util.ArrayList;
import java.util.List;

/**
 * Plumtree (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007) for one stream.
 *
 * <p>Every active neighbour is pushed to eagerly until it sends a PRUNE: "your copies reach me
 * second, stop pushing". We then send it batched IHAVE announcements instead. A message that is
 * announced but does not arrive within {@code graftTimeout1} is fetched with a GRAFT, which also
 * asks the announcer to push again. An announcement whose path is much shorter than the eager
 * copy's grafts that link and prunes the old one.
 *
 * <p>One departure from the paper: a link's state is kept per direction. In the paper a PRUNE
 * makes the link lazy both ways, so a node that gains a faster neighbour can prune its old
 * parent while the new one prunes it back (over the copies still in flight the other way), and
 * is left with no eager parent until a GRAFT times out. Here each direction is decided by its
 * receiving end alone, so the two ends of a link can never disagree once messages stop, and a
 * new faster parent sticks. Tree edges end up eager both ways (a child never pushes a message
 * back to the parent it came from, so the parent never prunes it) and other links lazy.
 *
 * <p>With {@link TreeStrategy#PER_PUBLISHER} each publisher has its own tree.
 *
 * <p>This class decides who is eager and who is lazy, and answers GRAFTs; its parts do the rest.
 * {@link TreeTable} keeps each tree's link states. The announcements themselves (queueing,
 * folding into ranges, one IHAVE per lazy peer per flush) are {@link IHaveBatcher}'s job.
 * {@link MissingRepair} fetches what was announced but did not come, and {@link AheadTracker}
 * holds announcements that run ahead of a tree still delivering, and notices a stalled tree.
 */
public final class Plumtree {

  private final StreamId stream;
  private final PlumtreeConfig config;
  private final Outbox out;
  private final SeenMessages seen;
  private final MessageCache cache;
  /** Active neighbours, each with when it came up (its grace period runs from then). */
  private final PeerStamps neighbors = new PeerStamps(8);
  /**
   * How many messages each active neighbour delivered first since the membership last read the
   * counts: the peer-quality score (Cardano's governor scores peers the same way).
   */
  private final PeerStamps firstDeliveries = new PeerStamps(8);
  /** Neighbours taken off the eager path because they could not keep up, with when. */
  private final PeerStamps demoted = new PeerStamps(2);
  /** Demoted neighbours whose links are still not writable: their GRAFTs wait (see onGraft). */
  private final PeerStamps backedUp = new PeerStamps(2);
  /** Whether the node is backpressured: GRAFTs are not answered meanwhile. */
  private boolean saturated;
  /** GRAFT answers per peer in its current one-second window: when the window began, and how many. */
  private final PeerStamps answerWindow = new PeerStamps(8);
  private final PeerStamps answerCount = new PeerStamps(8);
  /** How late the tree brings messages that were announced first: sampled by the repair, read by both waits. */
  private final Lateness lateness = new Lateness();
  private final TreeTable trees;
  private int maxHopsDelivered; // no announcement can beat the optimisation threshold above this
  private final IHaveBatcher ihaves;
  private final MissingRepair repair;
  private final AheadTracker ahead;

  // Counters live here rather than in a separate object: one cache line fewer per message. (The
  // repair's and the ranges' rarer ones are kept by MissingRepair and AheadTracker.)
  private long delivered;
  private long dataReceived;
  private long duplicates;
  private long dataSent;
  private long ihavesSent; // catch-up IHAVEs; the batched ones are counted by the batcher
  private long ihavesReceived;
  private long graftsSent;
  private long prunesSent;
  private long graftMisses;
  private long optimizations;
  private long gapsRepaired;
  private long hopLimited;
  private long demotions;
  private long graftsRefused;
  private long graftsDeferred;
  private long heldBack;
  /** The first of our own messages published with no neighbour at all, still to announce to new ones; -1 when none. */
  private long firstUnsent = -1;
  private PeerId unsentPublisher;
  private long unsentSession;
  private boolean unsentAnnounced;
  private long workBudgetHits;
  private long historyDelivered;
  private long historyDuplicates;
  /** How many messages back a publisher first named by a catch-up starts ({@link StartAt#latest}); 0: with the next. */
  private int startLatest;
  /** In-order release of each publisher session, once the stream was joined from a position; null: as they come. */
  private InOrderRelease inOrder;
  /**
   * {@code since} starts whose storage nodes' answer has not ended yet ({@link #historyEnded}):
   * until then a session first heard live has a stored part older than that message, perhaps,
   * and only the answer says where it starts. The runtime ends each start once.
   */
  private int timeStartsOpen;
  /** When the last {@code since} start was given: the wait for its answers ends {@code orderWait} later at most. */
  private long timeStartedAt;

  public Plumtree(StreamId stream, PlumtreeConfig config, SeenMessages seen, Outbox out) {
    this(stream, config, seen, out, CacheLayout.ARENA);
  }

  public Plumtree(StreamId stream, PlumtreeConfig config, SeenMessages seen, Outbox out, CacheLayout layout) {
    this.stream = stream;
    this.config = config;
    this.seen = seen;
    this.out = out;
    this.cache = new MessageCache(stream, config.messageCacheCapacity(), config.messageCacheBytes(),
        config.messageCacheTtlNanos(), layout == CacheLayout.ARENA);
    this.trees = new TreeTable(config, demoted);
    this.ihaves = new IHaveBatcher(stream, config, out, trees::lazySet);
    this.repair = new MissingRepair(stream, config, out, lateness, this::beforeRepairGraft, this::deferToRange,
        ref -> !seen.contains(ref.publisher(), ref.session(), ref.seq()) && ref.seq() < seen.highest(ref.publisher(), ref.session()));
    this.ahead = new AheadTracker(stream, config, out, seen, lateness, repair);
  }

  /**
   * Where the stream's history starts (docs/api.md, "Starting from a position"). Each position
   * begins its session in the seen set, so that everything after it is missing; neighbours'
   * catch-ups then name how far each publisher has got, and the rest is fetched from their
   * caches. Publishers without a position start {@code latest} messages back, or live.
   */
  public void startAt(long now, StartAt start) {
    startLatest = Math.max(startLatest, start.latest());
    if (!start.isLive() && inOrder == null) {
      inOrder = new InOrderRelease(stream, config.orderHoldMessages(), config.orderHoldBytes(), config.orderWaitNanos(), out);
    }
    if (start.sinceMillis() != StartAt.NO_TIME) {
      timeStartsOpen++;
      timeStartedAt = now;
    }
    for (Position p : start.positions()) seen.startAfter(now, p.publisher(), p.session(), p.seq(), true);
  }

  // ---- Neighbours, from HyParView ---------------------------------------------------------

  /**
   * A new active neighbour starts eager, both ways, in every tree. It is also told the newest
   * message we have of each recent publisher (a catch-up IHAVE): a node that lost its
   * neighbours for a while learns from the ones it finds again what it missed meanwhile, which
   * no push or announcement would ever tell it.
   */
  public void neighborUp(long now, PeerId peer) {
    neighbors.put(peer, now);
    firstDeliveries.put(peer, 0);
    trees.forget(peer);
    List<MessageRef> newest = seen.newestRecent(now, config.messageCacheTtlNanos(), config.maxAnnouncementsPerIHave());
    if (!newest.isEmpty()) {
      List<Announcement> catchUp = new ArrayList<>(newest.size());
      for (MessageRef r : newest) catchUp.add(catchUpOf(r));
      out.send(peer, new Message.IHave(stream, catchUp, true));
      ihavesSent++;
    }
  }

  /**
   * What a new neighbour is told of one publisher: its newest message, or, for our own messages
   * published while we had no neighbour at all ({@code NO_PEERS}), everything from the first of
   * them that is still cached. Those reached no one, and a neighbour that never heard of us would
   * otherwise start after them: "neighbours fetch it when they come" (docs/api.md) held only for
   * neighbours that already followed us (InProcessChurnTest, a first burst published while the
   * publisher's view was empty for a moment).
   */
  private Announcement catchUpOf(MessageRef r) {
    if (firstUnsent > 0 && r.publisher().equals(unsentPublisher) && r.session() == unsentSession && r.seq() >= firstUnsent) {
      // Ending with the newest, as every catch-up does; at most the span, so a very long spell
      // loses its start rather than its end; and from the first still cached (bounded walk).
      long first = Math.max(firstUnsent, r.seq() - config.maxAnnouncementSpan() + 1);
      while (first < r.seq() && cache.find(r.publisher(), r.session(), first) < 0) first++;
      unsentAnnounced = true;
      return new Announcement(r.publisher(), r.session(), first, (int) (r.seq() - first + 1), 0);
    }
    return new Announcement(r.publisher(), r.session(), r.seq(), 1, 0);
  }

  /**
   * A neighbour left. If it was the path our newest messages of some publisher came by, ask the
   * neighbours that only announce those messages to push them again at once, rather than wait
   * for an announcement to time out: the fastest becomes the new front-runner, and the others
   * are pruned again once their grace period ends.
   */
  public void neighborDown(long now, PeerId peer) {
    neighbors.remove(peer);
    firstDeliveries.remove(peer);
    demoted.remove(peer);
    backedUp.remove(peer);
    answerWindow.remove(peer);
    answerCount.remove(peer);
    trees.forget(peer);
    repair.peerDown(peer);
    ahead.peerDown(peer);
    for (PeerId publisher : seen.dropFrontRunner(peer)) {
      Tree tree = trees.existing(publisher);
      MessageRef newest = seen.newest(publisher);
      if (tree == null || newest == null) continue;
      for (PeerId lazyToUs : tree.pruned.toList()) {
        tree.pruned.remove(lazyToUs);
        tree.grafted.put(lazyToUs, now);
        out.send(lazyToUs, new Message.Graft(stream, newest, false));
        graftsSent++;
        out.emit(new OverlayEvent.Grafted(stream, lazyToUs, publisher, false));
      }
    }
  }

  /**
   * The peer cannot keep up with what we push (its link stayed backlogged): make it lazy in every
   * tree, as if it had pruned us, and keep it lazy for {@code demotionHold} even if it grafts,
   * so that it fetches what it misses at its own pace instead of being pushed everything again.
   * Cheaper for everyone than the disconnect it replaces, which tore the trees up under load.
   */
  public void demote(long now, PeerId peer) {
    if (!neighbors.contains(peer)) return;
    demoted.put(peer, now);
    backedUp.put(peer, now);
    trees.makeLazy(peer);
    demotions++;
    out.emit(new OverlayEvent.Demoted(stream, peer));
  }

  /** The link of a demoted peer can be written to again: its GRAFTs are answered again. */
  public void drained(PeerId peer) {
    backedUp.remove(peer);
  }

  /** The node has stopped reading (backpressure), or started again. */
  public void saturated(boolean on) {
    saturated = on;
  }

  private boolean demoted(long now, PeerId peer) {
    long at = demoted.stamp(peer, Long.MIN_VALUE);
    if (at == Long.MIN_VALUE) return false;
    if (backedUp.contains(peer)) return true; // its link still does not drain: the hold lasts until it does
    if (now - at < config.demotionHoldNanos()) return true;
    demoted.remove(peer);
    return false;
  }

  /** The tree's current repair wait, for snapshots and tests. */
  public long repairWaitNanos(long now) {
    return repair.repairWait(now);
  }

  // ---- Publishing -------------------------------------------------------------------------

  public PublishResult publish(long now, PeerId self, long session, long seq, byte[] payload) {
    return publish(now, new Data(stream, self, session, seq, 0, payload));
  }

  /** Pushes our own message (sealed, when publishers sign) to every eager neighbour, and announces it to the others. */
  public PublishResult publish(long now, Data message) {
    PeerId self = message.publisher();
    long session = message.session();
    long seq = message.seq();
    seen.record(now, self, session, seq);
    cache.put(now, message, null, message.seal());
    out.ownMessage(message);
    Tree tree = trees.tree(self);
    int eager = 0;
    int lazy = 0;
    for (int i = 0; i < neighbors.size(); i++) {
      PeerId n = neighbors.get(i);
      if (tree.lazy.contains(n)) {
        lazy++;
      } else {
        out.send(n, message);
        eager++;
      }
    }
    dataSent += eager;
    if (lazy > 0) announce(now, self, session, seq, 1, null);
    if (eager == 0 && lazy == 0) {
      // A new spell with no neighbour, unless one is under way (a spell ends when a neighbour
      // is told of it).
      if (firstUnsent < 0 || session != unsentSession || !self.equals(unsentPublisher) || unsentAnnounced) {
        unsentPublisher = self;
        unsentSession = session;
        firstUnsent = seq;
        unsentAnnounced = false;
      }
    } else if (eager > 0 && unsentAnnounced) {
      // A neighbour was told the range, and the tree is pushing again: what it fetches reaches
      // the rest by the tree. Later newcomers start with the next message, as any newcomer does.
      firstUnsent = -1;
    }
    PublishResult.Status status = eager > 0 ? PublishResult.Status.SENT : PublishResult.Status.NO_PEERS;
    return new PublishResult(stream, session, seq, status, eager, lazy);
  }

  /**
   * What publishing message {@code seq} of ours would do now: how many neighbours it would be
   * pushed to and announced to. For a message that waits for its seal, this is its result.
   */
  public PublishResult preview(PeerId self, long session, long seq) {
    Tree tree = trees.existing(self);
    int lazy = tree == null ? 0 : tree.lazy.size();
    int eager = neighbors.size() - lazy;
    PublishResult.Status status = eager > 0 ? PublishResult.Status.SENT : PublishResult.Status.NO_PEERS;
    return new PublishResult(stream, session, seq, status, eager, lazy);
  }

  // ---- Messages ---------------------------------------------------------------------------

  public void onData(long now, PeerId from, Data message) {
    onData(now, from, message, message.seal());
  }

  /**
   * A message of history from a storage node ({@code StartAt}; the runtime asked that peer for
   * it), authenticated by {@code seal}: delivered once like any message, and cached so that
   * neighbours can fetch it, but neither forwarded nor counted toward the trees. It is old news
   * to the tree, and the peer it came from is no neighbour.
   */
  public void onHistory(long now, Data message, Seal seal) {
    int outcome = seen.record(now, message.publisher(), message.session(), message.seq(), null, false);
    if (outcome != SeqIntervalSet.NEW) {
      historyDuplicates++;
      repair.arrivedAgain(message);
      // Delivered before the start was given (the node was in the stream already): an in-order
      // session whose stored part starts below it passes it, rather than wait orderWait for it.
      if (inOrder != null) inOrder.deliveredBefore(message);
      return;
    }
    historyDelivered++;
    delivered++;
    hand(now, message, seal, null);
    cache.put(now, message, null, seal);
    repair.arrived(now, message, null);
  }

  /**
   * A message, authenticated by {@code seal} (null where publishers do not sign), which is kept
   * with it in the cache and travels with the copies forwarded.
   */
  public void onData(long now, PeerId from, Data message, Seal seal) {
    dataReceived++;
    int outcome = seen.record(now, message.publisher(), message.session(), message.seq(), from);
    if (outcome == SeqIntervalSet.HELD_BACK) {
      // Taking it would split a hole while the seen set is near its hole limit. Not delivered
      // the first time: it stays missing (or becomes so) and is fetched again from this peer,
      // which has it, by which time the hole's edges have usually filled. The second copy is
      // taken whatever the seen set holds.
      if (repair.holdOnce(now, message.ref(), from)) {
        heldBack++;
        return;
      }
      outcome = seen.record(now, message.publisher(), message.session(), message.seq(), from, false);
    }
    Tree tree = trees.tree(message.publisher());
    if (outcome != SeqIntervalSet.NEW) {
      duplicates++;
      repair.arrivedAgain(message);
      if (shouldPrune(now, tree, from, message)) prune(now, tree, from, message.publisher());
      return;
    }
    delivered++;
    firstDeliveries.add(from, 1);
    if (message.hops() > maxHopsDelivered) maxHopsDelivered = message.hops();
    hand(now, message, seal, from);
    if (seen.beganLaterSession() && seen.wantsHistory(message.publisher())) {
      // The caches are asked for the hole below (repairGap); a storage node keeps what they no longer do.
      out.historyWanted(stream, message.publisher(), message.session(), 1, message.seq() - 1);
    }
    cache.put(now, message, from, seal);
    repair.arrived(now, message, from); // first: its lateness sample sets the wait repairGap uses
    if (seen.openedGapTo() >= 0) repairGap(now, message, from, seen.openedGapFrom(), seen.openedGapTo());
    if (message.hops() >= Message.MAX_HOPS) {
      // A peer would refuse one more hop (and close the link): delivered here, forwarded nowhere.
      hopLimited++;
      return;
    }

    int hops = message.hops() + 1;
    Data forward = null;
    boolean anyLazy = false;
    for (int i = 0; i < neighbors.size(); i++) {
      PeerId n = neighbors.get(i);
      if (n.equals(from)) continue;
      if (tree.lazy.contains(n)) {
        anyLazy = true;
      } else {
        if (forward == null) forward = message.withHops(hops, seal);
        out.send(n, forward);
        dataSent++;
      }
    }
    if (anyLazy) announce(now, message.publisher(), message.session(), message.seq(), hops, from);
  }

  /**
   * Announcements. A number we have not seen is either behind the highest we have (the tree went
   * past it: fetch it as the paper does, after {@code graftTimeout1}), or ahead of it. Ahead, and
   * with the tree still delivering, it is on its way: it only goes on the publisher's
   * {@link AheadTracker.Ahead} range. Ahead, with the tree silent, it is missing like any other.
   */
  public void onIHave(long now, PeerId from, Message.IHave ihave) {
    ihavesReceived++;
    int budget = config.maxMissingPerFrame(); // missing entries (and graft timers) this frame may create
    boolean deferred = false;
    for (Announcement a : ihave.announcements()) {
      int span = Math.min(a.count(), config.maxAnnouncementSpan());
      // The decoder refuses such ranges; checked again so no caller can make seq + 1 overflow.
      if (span <= 0 || a.firstSeq() < 1 || a.firstSeq() > Message.MAX_SEQ - span + 1) continue;
      PeerId publisher = a.publisher();
      if (ihave.catchUp() && history(now, from, a, span)) continue;
      // A new subscriber starts with the next message, unless the publisher itself tells it of
      // messages that reached no one (see catchUpOf).
      if (ihave.catchUp() && !seen.knows(publisher) && !publisher.equals(from)) continue;
      long session = a.session();
      long last = a.firstSeq() + span - 1;
      long seq = seen.firstUnseen(publisher, session, a.firstSeq());
      if (deferred) {
        if (seq <= last) ahead.deferAnnounced(now, publisher, session, seq, last, from);
        continue;
      }
      long highest = seen.highest(publisher, session);
      for (; seq <= last; seq = seen.firstUnseen(publisher, session, seq + 1)) {
        if (seq > highest && ahead.treeDelivering(now, publisher, session)) {
          ahead.note(now, publisher, session, seq, last, from);
          break;
        }
        if (budget-- <= 0) {
          overBudget(from, "IHAVE");
          deferred = true;
          ahead.deferAnnounced(now, publisher, session, seq, last, from);
          break;
        }
        repair.add(now, new MessageRef(publisher, session, seq), from, repair.repairWait(now));
      }
      if (!ihave.catchUp() && !deferred) maybeOptimize(now, from, a, last);
    }
  }

  /**
   * A catch-up about a publisher whose history the application wants ({@link #startAt}):
   * everything of the announced session not yet seen, up to the announced number, is fetched,
   * not only that number. Catch-ups are not signed, so one never begins or switches a session
   * of a publisher we follow (a made-up session would push the application's own out of the
   * seen set): only a session the application named, or one begun by authenticated messages,
   * is fetched this way. A publisher never heard of is started {@code startLatest} back, if that
   * is asked for, and only while the seen set and the announced ranges have room without
   * pushing anything out. Returns whether the announcement was taken here.
   */
  private boolean history(long now, PeerId from, Announcement a, int span) {
    PeerId publisher = a.publisher();
    long session = a.session();
    long last = a.firstSeq() + span - 1;
    if (!seen.knows(publisher)) {
      if (startLatest == 0 || !ahead.hasRoom(publisher, session)) return false;
      if (!seen.startAfter(now, publisher, session, Math.max(0, last - startLatest), false)) return false;
    } else if (!seen.wantsHistory(publisher) || !seen.hasSession(publisher, session)) {
      return false; // a later session of a resumed publisher is followed from the first message of it that arrives
    }
    long first = seen.firstUnseen(publisher, session, 1);
    if (first <= last) ahead.fetchHistory(now, publisher, session, first, last, from);
    return true;
  }

  /**
   * A frame named more missing messages than one frame may make work for. What is left is not
   * dropped (an overloaded tree legitimately falls that far behind, and nobody would announce
   * those messages again): it is kept as one range per publisher, which the stall check fetches
   * {@code maxMissingPerFrame} numbers at a time.
   */
  private void overBudget(PeerId from, String what) {
    workBudgetHits++;
    out.emit(new OverlayEvent.Dropped(stream, from, DropReason.WORK_BUDGET,
        what + " named more than " + config.maxMissingPerFrame() + " missing messages; the rest is fetched later, a bounded number at a time"));
  }

  /**
   * A message arrived past a hole: the numbers in between may still be on their way by another
   * path, so they become missing, fetched from the peer that brought this one (which has them,
   * or had them) if they do not arrive within {@code graftTimeout1}. Only the newest
   * {@code maxAnnouncementSpan} numbers of a longer hole are fetched; the rest stays a gap.
   */
  private void repairGap(long now, Data message, PeerId from, long gapFrom, long gapTo) {
    if (from == null) return;
    gapsRepaired++;
    long span = Math.min(config.maxAnnouncementSpan(), config.maxMissingPerFrame());
    if (gapTo - gapFrom + 1 > span && seen.wantsHistory(message.publisher())) {
      // Wanted history (a start position): the older part is fetched too, a bounded number at a time.
      ahead.fetchHistory(now, message.publisher(), message.session(), gapFrom, gapTo - span, from);
    }
    for (long seq = Math.max(gapFrom, gapTo - span + 1); seq <= gapTo; seq++) {
      repair.add(now, new MessageRef(message.publisher(), message.session(), seq), from, repair.repairWait(now));
    }
  }

  /**
   * The peer wants our pushes for this publisher again, and perhaps one message now. Messages
   * we received while it was lazy were queued for announcement, not pushed: those announcements
   * go out first, or the peer would get neither a copy nor an announcement of them.
   */
  public void onGraft(long now, PeerId from, Message.Graft graft) {
    MessageRef ref = graft.ref();
    if (neighbors.contains(from) && !demoted(now, from)) {
      Tree tree = trees.tree(ref.publisher());
      if (tree.lazy.contains(from)) {
        ihaves.flush();
        tree.lazy.remove(from);
      }
    }
    if (!graft.wantMessage()) return;
    if (saturated) {
      // We are backpressured: repair traffic would only lengthen the backlogs. The asker tries
      // its next announcer after its retry wait, or us again.
      graftsDeferred++;
      return;
    }
    if (!neighbors.contains(from)) {
      // A former neighbour's GRAFT, still in flight: answered to no one (and not budgeted, so
      // that churning identities cannot grow the budget tables).
      graftsRefused++;
      return;
    }
    if (backedUp.contains(from)) {
      // It does not read what we already sent it: an answer would wait in our buffer, or be
      // shed there. It asks again (rounds with growing waits) once its link drains.
      graftsDeferred++;
      return;
    }
    int slot = cache.find(ref.publisher(), ref.session(), ref.seq());
    if (slot < 0) {
      graftMisses++;
      out.emit(new OverlayEvent.Dropped(stream, from, DropReason.NOT_CACHED, "GRAFT for " + ref));
      return;
    }
    Data cached = cache.message(slot);
    if (!answerBudget(now, from, answerBytes(cached))) {
      // A peer pulling faster than we answer (a demoted one catching up, or a storm).
      graftsRefused++;
      return;
    }
    Data answer = cached.withHops(Math.min(Message.MAX_HOPS, cached.hops() + 1));
    // The asker may no longer hold the seal we sent it with this batch: send it again.
    out.send(from, answer.seal() == null ? answer : answer.withSeal(answer.seal(), true));
    dataSent++;
  }

  /**
   * Whether a GRAFT answer of {@code bytes} to {@code peer} fits its budget now
   * ({@code graftAnswerBytesPerSecond} in each one-second window). In bytes, not answers: an
   * answer carries its seal again, up to 4 KiB, so that a count would not bound the bandwidth.
   */
  private boolean answerBudget(long now, PeerId peer, long bytes) {
    long windowStart = answerWindow.stamp(peer, Long.MIN_VALUE);
    if (windowStart == Long.MIN_VALUE || now - windowStart >= 1_000_000_000L) {
      answerWindow.put(peer, now);
      answerCount.put(peer, bytes);
      return true;
    }
    long spent = answerCount.stamp(peer, 0);
    if (spent + bytes > config.graftAnswerBytesPerSecond()) return false;
    answerCount.put(peer, spent + bytes);
    return true;
  }

  /** About what answering with {@code d} puts on the wire: it carries its seal again. */
  private static long answerBytes(Data d) {
    Seal seal = d.seal();
    return 48 + d.payload().length + (seal == null ? 0 : seal.digests().length + seal.publicKey().length + seal.signature().length + 24);
  }

  /** The peer gets this publisher's messages sooner from someone else: announce, do not push. */
  public void onPrune(long now, PeerId from, Message.Prune prune) {
    if (neighbors.contains(from)) trees.tree(prune.publisher()).lazy.add(from);
  }

  // ---- Timers -----------------------------------------------------------------------------

  public void onLazyFlush(long now) {
    ihaves.onTimer();
  }

  public void onGraftTimeout(long now, Timer.GraftTimeout timer) {
    repair.onGraftTimeout(now, timer);
  }

  /** See {@link AheadTracker}. */
  public void onStallCheck(long now, PeerId publisher) {
    ahead.onStallCheck(now, publisher);
  }

  /**
   * Gives a new message to the application: at once, or, once the stream was joined from a
   * position, in its session's order, which starts where {@link #orderStart} says (or, while a
   * {@code since} start waits for its storage nodes, where their answer says). Not at an older
   * hole: one given up long ago would be waited for again.
   */
  private void hand(long now, Data message, Seal seal, PeerId from) {
    if (inOrder == null) {
      out.deliver(message, seal);
      return;
    }
    long first = orderStart(message, from);
    if (timeStartsOpen > 0 && from != null && first == message.seq() && !seen.wantsHistory(message.publisher())) {
      first = InOrderRelease.AFTER_HISTORY; // a live message that opened no hole: its session's stored part may come yet
    }
    inOrder.offer(now, message, seal, first, from == null);
  }

  /**
   * Where a session's order starts, when this is the first message of it the in-order release
   * sees: the first number of the hole this message opened that something will fetch (the whole
   * hole for a publisher whose history is wanted, else only its newest part, as
   * {@link #repairGap} asks for; nothing for history, which comes from a storage node in order);
   * after what the seen set holds, for a session it holds already (the release forgot it:
   * those were delivered); or this message.
   */
  private long orderStart(Data message, PeerId from) {
    long seq = message.seq();
    long gapFrom = seen.openedGapFrom();
    if (gapFrom >= 0) {
      boolean history = seen.wantsHistory(message.publisher());
      if (from == null) return history ? gapFrom : seq;
      long gapTo = seen.openedGapTo();
      long span = Math.min(config.maxAnnouncementSpan(), config.maxMissingPerFrame());
      return history || gapTo - gapFrom + 1 <= span ? gapFrom : gapTo - span + 1;
    }
    if (seq < seen.highest(message.publisher(), message.session())) return seen.firstUnseen(message.publisher(), message.session(), seq + 1);
    return seq;
  }

  /**
   * A storage node lacks these messages ({@link dev.overlay.protocol.Event.HistoryGap}): an
   * in-order stream waiting at them stops waiting. The storage node is where history beyond the
   * caches is kept; what it lacks is most likely gone, and waiting {@code orderWait} for it would
   * hold every message behind the hole that long.
   */
  public void historyGap(long now, PeerId publisher, long session, long fromSeq, long toSeq) {
    if (inOrder != null) inOrder.skipLacking(publisher, session, fromSeq, toSeq);
  }

  /**
   * The storage nodes' answer to a {@code since} start ended (everything sent, or none could
   * answer): once every such start has ended, sessions first heard live meanwhile start at the
   * lowest message they hold, since no stored part of them is coming before it.
   */
  public void historyEnded(long now) {
    if (timeStartsOpen == 0) return; // a start of an earlier membership of the stream, or late
    if (--timeStartsOpen == 0 && inOrder != null) inOrder.historyEnded();
  }

  /** The node leaves the stream: messages held for their order go to the application now. */
  public void leave(long now) {
    if (inOrder != null) inOrder.releaseAll();
  }

  /** Periodic upkeep: cache and missing-table TTLs, and holes waited for too long. */
  public void housekeeping(long now) {
    cache.expire(now);
    repair.expire(now);
    if (timeStartsOpen > 0 && now - timeStartedAt >= config.orderWaitNanos()) {
      // Answers still open after orderWait (a storage node trickling, a request queued behind
      // others): sessions first heard from now on start at once, as those held have by now.
      timeStartsOpen = 1;
      historyEnded(now);
    }
    if (inOrder != null) inOrder.expire(now, seen);
  }

  // ---- Introspection ----------------------------------------------------------------------

  /** Messages {@code peer} delivered to us first since {@link #resetFirstDeliveries}; 0 for a non-neighbour. */
  public long firstDeliveries(PeerId peer) {
    return firstDeliveries.stamp(peer, 0);
  }

  /** Starts a new scoring interval. */
  public void resetFirstDeliveries() {
    firstDeliveries.fill(0);
  }

  /** When {@code peer} became an active neighbour, or {@code absent}. */
  public long neighborSince(PeerId peer, long absent) {
    return neighbors.stamp(peer, absent);
  }

  public PlumtreeStats stats() {
    return new PlumtreeStats(delivered, dataReceived, duplicates, dataSent, ihavesSent + ihaves.sent(), ihavesReceived, graftsSent + repair.graftsSent(),
        prunesSent, graftMisses, optimizations, repair.evicted(), ahead.stalls(), gapsRepaired, hopLimited, workBudgetHits, demotions, graftsRefused, missingSize(), ahead.size(), saturated, graftsDeferred, ahead.deferred(), heldBack, repair.givenUp(),
        inOrder == null ? 0 : inOrder.held(), inOrder == null ? 0 : inOrder.skips(), inOrder == null ? 0 : inOrder.late());
  }

  public List<PeerId> neighbors() {
    return neighbors.toList();
  }

  /** The neighbours we push {@code publisher}'s messages to (null: the shared tree). */
  public List<PeerId> eagerPeers(PeerId publisher) {
    Tree t = trees.existing(publisher);
    List<PeerId> eager = new ArrayList<>();
    for (int i = 0; i < neighbors.size(); i++) {
      PeerId n = neighbors.get(i);
      if (t == null || !t.lazy.contains(n)) eager.add(n);
    }
    return eager;
  }

  /** The neighbours that pruned us: we only announce {@code publisher}'s messages to them. */
  public List<PeerId> lazyPeers(PeerId publisher) {
    Tree t = trees.existing(publisher);
    return t == null ? List.of() : t.lazy.toList();
  }

  /** The neighbours we pruned: they only announce {@code publisher}'s messages to us. */
  public List<PeerId> prunedPeers(PeerId publisher) {
    Tree t = trees.existing(publisher);
    return t == null ? List.of() : t.pruned.toList();
  }

  /** The publishers with their own tree (empty under {@link TreeStrategy#SHARED}). */
  public List<PeerId> treeKeys() {
    return trees.publishers();
  }

  public int cacheSize() {
    return cache.size();
  }

  public long cacheBytes() {
    return cache.bytes();
  }

  public int missingSize() {
    return repair.size();
  }

  /** Pending announcement runs. */
  public int pendingAnnouncements() {
    return ihaves.pending();
  }

  public int treeCount() {
    return trees.count();
  }

  /** Whether every tree's lazy set only holds current neighbours. */
  public boolean lazySetsWithinNeighbors() {
    return trees.within(neighbors);
  }

  // ---- Internals --------------------------------------------------------------------------

  private void announce(long now, PeerId publisher, long session, long seq, int hops, PeerId from) {
    ihaves.announce(publisher, session, seq, hops, from);
  }

  /**
   * Before a repair GRAFT: it makes us eager at the peer's end, whichever round it is, so at ours
   * too, or the two disagree on the link (the simulator's invariant check found it,
   * SimulationPropertiesTest). Only for a peer that is still a neighbour.
   */
  private void beforeRepairGraft(long now, MessageRef ref, PeerId peer, boolean firstRound) {
    if (!neighbors.contains(peer)) return;
    Tree tree = trees.tree(ref.publisher());
    tree.pruned.remove(peer);
    if (firstRound) tree.grafted.put(peer, now); // a retry is no sample of who was faster
  }

  /** The repair table is full: {@code ref} waits in its publisher's range if it can (the repair/range cycle closes here). */
  private boolean deferToRange(long now, MessageRef ref, PeerId from) {
    return ahead.deferToRange(now, ref, from);
  }

  /**
   * The paper's hop-count optimisation: when an announced path is {@code optimizationThreshold}
   * hops shorter than the one the message came by, graft the short link.
   *
   * <p>Make before break: the paper also prunes the old parent at once, but then the messages
   * the new parent received before our GRAFT reached it, and the old parent after our PRUNE,
   * reach us by neither; they would need GRAFT repair. Left eager, the old parent is pruned by
   * the first duplicate: whichever path is slower loses, so a path that is shorter in hops but
   * slower in time does not survive.
   */
  private void maybeOptimize(long now, PeerId lazyPeer, Announcement a, long seq) {
    if (maxHopsDelivered - a.hops() < config.optimizationThreshold()) return; // cheap filter first
    if (!neighbors.contains(lazyPeer)) return;
    int slot = cache.find(a.publisher(), a.session(), seq);
    if (slot < 0) return;
    PeerId parent = cache.from(slot);
    int eagerHops = cache.hops(slot);
    if (parent == null || parent.equals(lazyPeer)) return;
    if (eagerHops - a.hops() < config.optimizationThreshold()) return;
    Tree tree = trees.tree(a.publisher());
    if (!tree.pruned.contains(lazyPeer)) return;
    long tried = tree.grafted.stamp(lazyPeer, Long.MIN_VALUE);
    if (tried != Long.MIN_VALUE && now - tried < config.optimizationBackoffNanos()) return; // it lost the race before
    tree.grafted.put(lazyPeer, now);
    cache.reroute(slot, lazyPeer, a.hops()); // so the same message does not trigger it again
    tree.pruned.remove(lazyPeer);
    out.send(lazyPeer, new Message.Graft(stream, new MessageRef(a.publisher(), a.session(), seq), false));
    graftsSent++;
    optimizations++;
    out.emit(new OverlayEvent.Grafted(stream, lazyPeer, a.publisher(), true));
  }

  /**
   * A duplicate says the sender's copy of this message was late, not that its path is slower.
   * Prune it only when none of these holds:
   * <ul>
   *   <li>it is the front-runner: it delivered our newest message first, so its duplicates are
   *       older messages its previous path is still bringing in;</li>
   *   <li>its link is in its grace period (see {@link #inGracePeriod});</li>
   *   <li>the first copy came from a peer we already pruned (see
   *       {@link #firstCopyCameFromPrunedPeer}).</li>
   * </ul>
   */
  private boolean shouldPrune(long now, Tree tree, PeerId from, Data message) {
    if (!neighbors.contains(from)) return false;
    PeerId front = seen.frontRunner(message.publisher(), message.session());
    if (front != null && (front == from || front.equals(from))) return false;
    return !inGracePeriod(now, tree, from) && !firstCopyCameFromPrunedPeer(tree, message);
  }

  /**
   * Whether the link to {@code peer} is too new to judge. Its first copies are often older
   * messages still arriving over its own previous, slower path, while its newer copies are the
   * fastest we could get; pruning it on those first duplicates can cut the best path and leave
   * two nodes feeding each other. A link is new for {@code pruneGracePeriod} after it came up
   * and after we grafted it.
   */
  private boolean inGracePeriod(long now, Tree tree, PeerId peer) {
    long grace = config.pruneGracePeriodNanos();
    if (now - neighbors.stamp(peer, Long.MIN_VALUE) < grace) return true;
    long grafted = tree.grafted.stamp(peer, Long.MIN_VALUE);
    return grafted != Long.MIN_VALUE && now - grafted < grace;
  }

  /**
   * Whether the first copy of this message came from a peer we have already pruned. Its copies
   * still in flight win races against the peer we grafted in its place; pruning that peer for
   * those duplicates would leave us with no parent at all.
   */
  private boolean firstCopyCameFromPrunedPeer(Tree tree, Data message) {
    if (tree.pruned.size() == 0) return false;
    int slot = cache.find(message.publisher(), message.session(), message.seq());
    PeerId first = slot < 0 ? null : cache.from(slot);
    return first != null && tree.pruned.contains(first);
  }

  /**
   * Asks a neighbour to stop pushing this publisher's messages to us. Once per link: the
   * duplicates still in flight do not each send another PRUNE, unless the last one is older than
   * {@code pruneRetryInterval} (it may have been lost with a broken link).
   */
  private void prune(long now, Tree tree, PeerId peer, PeerId publisher) {
    long last = tree.pruned.stamp(peer, Long.MIN_VALUE);
    if (last != Long.MIN_VALUE && now - last < config.pruneRetryIntervalNanos()) return;
    tree.pruned.put(peer, now);
    out.send(peer, new Message.Prune(stream, publisher));
    prunesSent++;
    out.emit(new OverlayEvent.Pruned(stream, peer, publisher));
  }
}
