package dev.overlay.broadcast;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Announcement;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import dev.overlay.util.PeerSet;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Plumtree's lazy push: announcements of the messages a node received, queued as they come and
 * sent to each lazy peer as one IHAVE every {@code lazyFlushInterval}, consecutive numbers of a
 * publisher folded into ranges. Who is lazy is asked at the flush, not at the queueing: a peer
 * grafted meanwhile gets the copy by the tree instead.
 */
final class IHaveBatcher {

  private final StreamId stream;
  private final PlumtreeConfig config;
  private final Outbox out;
  /** A publisher's lazy peers (its tree's), or null when its tree was evicted (its links all eager again). */
  private final Function<PeerId, PeerSet> lazyPeers;
  private final LazyQueue queue;
  private final Timer.LazyFlush timer;
  private boolean scheduled;
  private long sent;

  IHaveBatcher(StreamId stream, PlumtreeConfig config, Outbox out, Function<PeerId, PeerSet> lazyPeers) {
    this.stream = stream;
    this.config = config;
    this.out = out;
    this.lazyPeers = lazyPeers;
    this.queue = new LazyQueue(config.maxPendingAnnouncements(), config.maxAnnouncementSpan());
    this.timer = new Timer.LazyFlush(stream);
  }

  /** Queues the announcement of a message received from {@code from} (null: our own), for every lazy peer but {@code from}. */
  void announce(PeerId publisher, long session, long seq, int hops, PeerId from) {
    if (queue.add(publisher, session, seq, hops, from)) {
      flush(); // full: send now rather than drop
      return;
    }
    if (!scheduled) {
      scheduled = true;
      out.schedule(timer, config.lazyFlushIntervalNanos());
    }
  }

  /** The flush timer fired. */
  void onTimer() {
    scheduled = false;
    flush();
  }

  /**
   * Sends each lazy peer one IHAVE (or a few, if large) covering everything queued for it. Also
   * called before a peer leaves a lazy set (it grafts): what was queued for it while it was lazy
   * is announced first, or it would get neither a copy nor an announcement of those messages.
   */
  void flush() {
    queue.seal();
    int n = queue.runs();
    if (n == 0) return;
    // Lazy sets are small: a list of (peer, announcements) pairs beats a map.
    List<PeerId> peers = new ArrayList<>();
    List<List<Announcement>> lists = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      PeerId publisher = queue.publisher(i);
      PeerSet lazy = lazyPeers.apply(publisher);
      if (lazy == null) continue;
      PeerId from = queue.from(i);
      for (int j = 0; j < lazy.size(); j++) {
        PeerId peer = lazy.get(j);
        if (peer.equals(from)) continue;
        int slot = indexOfIdentity(peers, peer);
        if (slot < 0) {
          slot = peers.size();
          peers.add(peer);
          lists.add(new ArrayList<>());
        }
        append(lists.get(slot), publisher, queue.session(i), queue.firstSeq(i), queue.count(i), queue.hops(i));
      }
    }
    queue.clear();
    int max = config.maxAnnouncementsPerIHave();
    for (int p = 0; p < peers.size(); p++) {
      List<Announcement> all = lists.get(p);
      for (int from = 0; from < all.size(); from += max) {
        out.send(peers.get(p), new Message.IHave(stream, all.subList(from, Math.min(all.size(), from + max))));
        sent++;
      }
    }
  }

  /** Announcement runs waiting for the next flush. */
  int pending() {
    return queue.runs();
  }

  /** IHAVE frames sent so far. */
  long sent() {
    return sent;
  }

  private static int indexOfIdentity(List<PeerId> peers, PeerId peer) {
    for (int i = 0; i < peers.size(); i++) {
      if (peers.get(i) == peer) return i;
    }
    return -1;
  }

  /** Extends the peer's last range of this publisher session when the run follows on; else starts a new one. */
  private void append(List<Announcement> list, PeerId publisher, long session, long firstSeq, int count, int hops) {
    for (int i = list.size() - 1; i >= 0; i--) {
      Announcement a = list.get(i);
      if (a.session() == session && a.publisher().equals(publisher)) {
        if (a.lastSeq() + 1 == firstSeq && a.count() + count <= config.maxAnnouncementSpan()) {
          list.set(i, new Announcement(publisher, session, a.firstSeq(), a.count() + count, Math.max(a.hops(), hops)));
          return;
        }
        break;
      }
    }
    list.add(new Announcement(publisher, session, firstSeq, count, hops));
  }
}
