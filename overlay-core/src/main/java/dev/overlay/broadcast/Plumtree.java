package dev.overlay.broadcast;

import dev.overlay.core.Message;
import dev.overlay.core.Message.Announcement;
import dev.overlay.core.Message.Data;
import dev.overlay.core.MessageRef;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.Outbox;
import dev.overlay.core.PeerId;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.core.Timer;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.delivery.SeqIntervalSet;
import dev.overlay.util.PeerSet;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plumtree (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007) for one stream.
 *
 * <p>Every active neighbour is eager for a tree until it sends a duplicate, which makes the link
 * lazy in both directions (PRUNE). Lazy links carry batched IHAVE announcements; a message that
 * is announced but does not arrive within {@code graftTimeout1} is fetched with a GRAFT, which
 * also makes the link eager again. An announcement whose path is much shorter than the eager
 * copy's grafts that link and prunes the old one.
 *
 * <p>A tree is the set of lazy links; eager is every neighbour not in it, so the two can never
 * disagree. With {@link TreeStrategy#PER_PUBLISHER} each publisher has its own tree.
 */
public final class Plumtree {

  /** The lazy links of one tree; every other neighbour is eager. */
  static final class Tree {
    final PeerSet lazy = new PeerSet(8);
  }

  /** A message we heard of by IHAVE but have not received. */
  static final class Missing {
    final long firstAnnounced;
    final PeerId[] announcers;
    int announcerCount;
    int nextAnnouncer;
    int attempts;
    boolean timerPending;

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

    void removeAnnouncer(PeerId peer) {
      for (int i = nextAnnouncer; i < announcerCount; i++) {
        if (announcers[i].equals(peer)) {
          System.arraycopy(announcers, i + 1, announcers, i, announcerCount - i - 1);
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
  private final MessageCache cache;
  private final PeerSet neighbors = new PeerSet(8);
  private final Tree sharedTree = new Tree();
  private final LinkedHashMap<PeerId, Tree> publisherTrees = new LinkedHashMap<>(16, 0.75f, true);
  private final LazyQueue lazyQueue;
  private final LinkedHashMap<MessageRef, Missing> missing = new LinkedHashMap<>();
  private final Timer.LazyFlush flushTimer;
  private boolean flushScheduled;

  private final PlumtreeStats stats = new PlumtreeStats();

  public Plumtree(StreamId stream, PlumtreeConfig config, SeenMessages seen, Outbox out) {
    this.stream = stream;
    this.config = config;
    this.seen = seen;
    this.out = out;
    this.cache = new MessageCache(config.messageCacheCapacity(), config.messageCacheBytes(), config.messageCacheTtlNanos());
    this.lazyQueue = new LazyQueue(config.maxPendingAnnouncements());
    this.flushTimer = new Timer.LazyFlush(stream);
  }

  // ---- Neighbours, from HyParView ---------------------------------------------------------

  /** A new active neighbour starts eager in every tree. */
  public void neighborUp(PeerId peer) {
    neighbors.add(peer);
    sharedTree.lazy.remove(peer);
    for (Tree t : publisherTrees.values()) t.lazy.remove(peer);
  }

  public void neighborDown(PeerId peer) {
    neighbors.remove(peer);
    sharedTree.lazy.remove(peer);
    for (Tree t : publisherTrees.values()) t.lazy.remove(peer);
    for (Missing m : missing.values()) m.removeAnnouncer(peer);
  }

  // ---- Publishing -------------------------------------------------------------------------

  public PublishResult publish(long now, PeerId self, long session, long seq, byte[] payload) {
    Data message = new Data(stream, self, session, seq, 0, payload);
    seen.record(now, self, session, seq);
    cache.put(now, message, null);
    Tree tree = tree(self);
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
    stats.dataSent += eager;
    if (lazy > 0) announce(now, self, session, seq, 1, null);
    PublishResult.Status status = eager > 0 ? PublishResult.Status.SENT : PublishResult.Status.NO_PEERS;
    return new PublishResult(stream, session, seq, status, eager, lazy);
  }

  // ---- Messages ---------------------------------------------------------------------------

  public void onData(long now, PeerId from, Data message) {
    stats.dataReceived++;
    int outcome = seen.record(now, message.publisher(), message.session(), message.seq());
    boolean fromNeighbor = neighbors.contains(from);
    Tree tree = tree(message.publisher());
    if (outcome != SeqIntervalSet.NEW) {
      stats.duplicates++;
      if (fromNeighbor) {
        tree.lazy.add(from);
        out.send(from, new Message.Prune(stream, message.publisher()));
        stats.prunesSent++;
        out.emit(new OverlayEvent.Pruned(stream, from, message.publisher()));
      }
      return;
    }
    stats.delivered++;
    out.deliver(message);
    cache.put(now, message, from);
    if (!missing.isEmpty()) missing.remove(message.ref());
    if (fromNeighbor) tree.lazy.remove(from); // it pushed to us, so the link is eager now

    int hops = message.hops() + 1;
    Data forward = null;
    boolean anyLazy = false;
    for (int i = 0; i < neighbors.size(); i++) {
      PeerId n = neighbors.get(i);
      if (n.equals(from)) continue;
      if (tree.lazy.contains(n)) {
        anyLazy = true;
      } else {
        if (forward == null) forward = message.withHops(hops);
        out.send(n, forward);
        stats.dataSent++;
      }
    }
    if (anyLazy) announce(now, message.publisher(), message.session(), message.seq(), hops, from);
  }

  public void onIHave(long now, PeerId from, Message.IHave ihave) {
    stats.ihavesReceived++;
    for (Announcement a : ihave.announcements()) {
      int span = Math.min(a.count(), config.maxAnnouncementSpan());
      if (span <= 0) continue;
      for (int k = 0; k < span; k++) {
        long seq = a.firstSeq() + k;
        if (!seen.contains(a.publisher(), a.session(), seq)) {
          addMissing(now, new MessageRef(a.publisher(), a.session(), seq), from);
        }
      }
      maybeOptimize(from, a, a.firstSeq() + span - 1);
    }
  }

  public void onGraft(long now, PeerId from, Message.Graft graft) {
    MessageRef ref = graft.ref();
    if (neighbors.contains(from) && tree(ref.publisher()).lazy.remove(from)) {
      out.emit(new OverlayEvent.Grafted(stream, from, ref.publisher(), !graft.wantMessage()));
    }
    if (!graft.wantMessage()) return;
    int slot = cache.find(ref.publisher(), ref.session(), ref.seq());
    if (slot < 0) {
      stats.graftMisses++;
      out.emit(new OverlayEvent.Dropped(stream, from, DropReason.NOT_CACHED, "GRAFT for " + ref));
      return;
    }
    Data cached = cache.message(slot);
    out.send(from, cached.withHops(cached.hops() + 1));
    stats.dataSent++;
  }

  public void onPrune(long now, PeerId from, Message.Prune prune) {
    if (neighbors.contains(from) && tree(prune.publisher()).lazy.add(from)) {
      out.emit(new OverlayEvent.Pruned(stream, from, prune.publisher()));
    }
  }

  // ---- Timers -----------------------------------------------------------------------------

  public void onLazyFlush(long now) {
    flushScheduled = false;
    flush();
  }

  public void onGraftTimeout(long now, Timer.GraftTimeout timer) {
    Missing m = missing.get(timer.ref());
    if (m == null || m.attempts != timer.attempt() || !m.timerPending) return; // stale
    m.timerPending = false;
    MessageRef ref = timer.ref();
    if (m.nextAnnouncer >= m.announcerCount) return; // wait for another announcement
    PeerId peer = m.announcers[m.nextAnnouncer++];
    m.attempts++;
    if (neighbors.contains(peer)) tree(ref.publisher()).lazy.remove(peer);
    out.send(peer, new Message.Graft(stream, ref, true));
    stats.graftsSent++;
    out.emit(new OverlayEvent.Grafted(stream, peer, ref.publisher(), false));
    m.timerPending = true;
    out.schedule(new Timer.GraftTimeout(stream, ref, m.attempts), config.graftTimeout2Nanos());
  }

  /** Periodic upkeep: cache and missing-table TTLs. */
  public void housekeeping(long now) {
    cache.expire(now);
    Iterator<Map.Entry<MessageRef, Missing>> it = missing.entrySet().iterator();
    while (it.hasNext()) {
      Missing m = it.next().getValue();
      if (now - m.firstAnnounced < config.missingTtlNanos()) break; // insertion order: the rest are newer
      it.remove();
    }
  }

  // ---- Introspection ----------------------------------------------------------------------

  public PlumtreeStats stats() {
    return stats;
  }

  public List<PeerId> neighbors() {
    return neighbors.toList();
  }

  /** The eager peers of the tree that {@code publisher}'s messages travel on. */
  public List<PeerId> eagerPeers(PeerId publisher) {
    Tree t = existingTree(publisher);
    List<PeerId> eager = new ArrayList<>();
    for (int i = 0; i < neighbors.size(); i++) {
      PeerId n = neighbors.get(i);
      if (t == null || !t.lazy.contains(n)) eager.add(n);
    }
    return eager;
  }

  public List<PeerId> lazyPeers(PeerId publisher) {
    Tree t = existingTree(publisher);
    return t == null ? List.of() : t.lazy.toList();
  }

  /** The publishers with their own tree (empty under {@link TreeStrategy#SHARED}). */
  public List<PeerId> treeKeys() {
    return new ArrayList<>(publisherTrees.keySet());
  }

  public int cacheSize() {
    return cache.size();
  }

  public long cacheBytes() {
    return cache.bytes();
  }

  public int missingSize() {
    return missing.size();
  }

  public int pendingAnnouncements() {
    return lazyQueue.size();
  }

  public int treeCount() {
    return config.treeStrategy() == TreeStrategy.SHARED ? 1 : publisherTrees.size();
  }

  /** Whether every tree's lazy set only holds current neighbours. */
  public boolean lazySetsWithinNeighbors() {
    if (!within(sharedTree)) return false;
    for (Tree t : publisherTrees.values()) {
      if (!within(t)) return false;
    }
    return true;
  }

  private boolean within(Tree t) {
    for (int i = 0; i < t.lazy.size(); i++) {
      if (!neighbors.contains(t.lazy.get(i))) return false;
    }
    return true;
  }

  // ---- Internals --------------------------------------------------------------------------

  private Tree tree(PeerId publisher) {
    if (config.treeStrategy() == TreeStrategy.SHARED) return sharedTree;
    Tree t = publisherTrees.get(publisher);
    if (t == null) {
      if (publisherTrees.size() >= config.maxPublisherTrees()) {
        // The least recently used tree goes; if its publisher returns, it starts all-eager
        // and prunes itself back into shape.
        Iterator<PeerId> it = publisherTrees.keySet().iterator();
        it.next();
        it.remove();
      }
      t = new Tree();
      publisherTrees.put(publisher, t);
    }
    return t;
  }

  private Tree existingTree(PeerId publisher) {
    return config.treeStrategy() == TreeStrategy.SHARED ? sharedTree : publisherTrees.get(publisher);
  }

  private void announce(long now, PeerId publisher, long session, long seq, int hops, PeerId from) {
    if (lazyQueue.add(publisher, session, seq, hops, from)) {
      flush(); // full: send now rather than drop
      return;
    }
    if (!flushScheduled) {
      flushScheduled = true;
      out.schedule(flushTimer, config.lazyFlushIntervalNanos());
    }
  }

  private void addMissing(long now, MessageRef ref, PeerId from) {
    Missing m = missing.get(ref);
    if (m == null) {
      if (missing.size() >= config.maxMissing()) {
        Iterator<MessageRef> it = missing.keySet().iterator();
        MessageRef evicted = it.next();
        it.remove();
        stats.missingEvicted++;
        out.emit(new OverlayEvent.Dropped(stream, null, DropReason.CAPACITY,
            "missing-message table full (" + config.maxMissing() + "): stopped waiting for " + evicted));
      }
      m = new Missing(now, config.maxAnnouncersPerMissing());
      missing.put(ref, m);
      m.addAnnouncer(from);
      m.timerPending = true;
      out.schedule(new Timer.GraftTimeout(stream, ref, 0), config.graftTimeout1Nanos());
      return;
    }
    m.addAnnouncer(from);
    if (!m.timerPending && m.nextAnnouncer < m.announcerCount) {
      // Every earlier announcer was tried; try the new one after the short timeout.
      m.timerPending = true;
      out.schedule(new Timer.GraftTimeout(stream, ref, m.attempts), config.graftTimeout2Nanos());
    }
  }

  /**
   * The paper's hop-count optimisation: when an announced path is {@code optimizationThreshold}
   * hops shorter than the one the message came by, graft the short link and prune the long one.
   */
  private void maybeOptimize(PeerId lazyPeer, Announcement a, long seq) {
    if (!neighbors.contains(lazyPeer)) return;
    int slot = cache.find(a.publisher(), a.session(), seq);
    if (slot < 0) return;
    PeerId parent = cache.from(slot);
    int eagerHops = cache.message(slot).hops();
    if (parent == null || parent.equals(lazyPeer) || !neighbors.contains(parent)) return;
    if (eagerHops - a.hops() < config.optimizationThreshold()) return;
    Tree tree = tree(a.publisher());
    if (tree.lazy.contains(parent) || !tree.lazy.contains(lazyPeer)) return;
    tree.lazy.remove(lazyPeer);
    tree.lazy.add(parent);
    cache.reroute(slot, lazyPeer, a.hops()); // so the same message does not trigger it again
    out.send(lazyPeer, new Message.Graft(stream, new MessageRef(a.publisher(), a.session(), seq), false));
    out.send(parent, new Message.Prune(stream, a.publisher()));
    stats.graftsSent++;
    stats.prunesSent++;
    stats.optimizations++;
    out.emit(new OverlayEvent.Grafted(stream, lazyPeer, a.publisher(), true));
    out.emit(new OverlayEvent.Pruned(stream, parent, a.publisher()));
  }

  /** Sends each lazy peer one IHAVE (or a few, if large) covering everything queued for it. */
  private void flush() {
    int n = lazyQueue.size();
    if (n == 0) return;
    Map<PeerId, List<Announcement>> perPeer = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      PeerId publisher = lazyQueue.publisher(i);
      Tree tree = existingTree(publisher);
      if (tree == null) continue; // evicted: its links are all eager again
      PeerId from = lazyQueue.from(i);
      for (int j = 0; j < tree.lazy.size(); j++) {
        PeerId peer = tree.lazy.get(j);
        if (peer.equals(from)) continue;
        appendAnnouncement(perPeer.computeIfAbsent(peer, p -> new ArrayList<>()),
            publisher, lazyQueue.session(i), lazyQueue.seq(i), lazyQueue.hops(i));
      }
    }
    lazyQueue.clear();
    int max = config.maxAnnouncementsPerIHave();
    for (Map.Entry<PeerId, List<Announcement>> e : perPeer.entrySet()) {
      List<Announcement> all = e.getValue();
      for (int from = 0; from < all.size(); from += max) {
        out.send(e.getKey(), new Message.IHave(stream, all.subList(from, Math.min(all.size(), from + max))));
        stats.ihavesSent++;
      }
    }
  }

  /** Extends an announcement range when the sequence number follows on; else starts a new one. */
  private static void appendAnnouncement(List<Announcement> list, PeerId publisher, long session, long seq, int hops) {
    for (int i = list.size() - 1; i >= 0; i--) {
      Announcement a = list.get(i);
      if (a.session() == session && a.publisher().equals(publisher)) {
        if (a.lastSeq() + 1 == seq) {
          list.set(i, new Announcement(publisher, session, a.firstSeq(), a.count() + 1, Math.max(a.hops(), hops)));
          return;
        }
        break;
      }
    }
    list.add(new Announcement(publisher, session, seq, 1, hops));
  }
}
