package dev.overlay.runtime;

import dev.overlay.NodeSnapshot;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * The streams this node uses, as the runtime sees them (the core keeps its own protocol state):
 * each one's name, subscriptions, neighbour count, callers waiting for neighbours, and traffic
 * counters. Loop-confined.
 *
 * <p>A stream enters when the application names it and leaves once it is neither joined nor
 * subscribed to and nobody waits on it, so an application cycling through stream names does not
 * grow the table with uptime.
 */
final class StreamRegistry {

  /** Futures waiting for neighbours, per stream: abandoned ones must not pile up. */
  static final int MAX_WAITERS = 1024;

  private static final NodeSnapshot.Counters NONE = new NodeSnapshot.Counters(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  private record Waiter(int neighbors, CompletableFuture<Void> done) {}

  private static final class Entry {
    final String name;
    long dataIn;
    long dataInBytes;
    long dataOut;
    long dataOutBytes;
    long controlIn;
    long controlInBytes;
    long controlOut;
    long controlOutBytes;
    long delivered;
    long published;
    long missedBySubscribers;
    int neighbors;
    final List<Waiter> waiters = new ArrayList<>();
    final List<SubscriptionQueue> subscriptions = new ArrayList<>();

    Entry(String name) {
      this.name = name;
    }
  }

  private final Completions completions;
  private final Map<StreamId, Entry> streams = new HashMap<>();
  /** Subscriptions given messages this turn, woken once at its end. */
  private final List<SubscriptionQueue> toWake = new ArrayList<>();

  StreamRegistry(Completions completions) {
    this.completions = completions;
  }

  /** Makes sure the stream is in the table, under the application's name for it. */
  void add(StreamId stream, String name) {
    entry(stream, name);
  }

  void subscribe(StreamId stream, String name, SubscriptionQueue q) {
    entry(stream, name).subscriptions.add(q);
  }

  void unsubscribe(StreamId stream, SubscriptionQueue q) {
    Entry e = streams.get(stream);
    if (e != null) e.subscriptions.remove(q);
  }

  /**
   * Completes {@code done} once the stream has {@code n} neighbours (at the end of this turn if it
   * has them now); fails it if too many callers already wait.
   */
  void awaitNeighbors(StreamId stream, String name, int n, CompletableFuture<Void> done) {
    Entry e = entry(stream, name);
    e.waiters.removeIf(w -> w.done().isDone()); // given up (cancelled) or answered
    if (e.neighbors >= n) completions.complete(done, null);
    else if (e.waiters.size() >= MAX_WAITERS) done.completeExceptionally(new IllegalStateException(
        "more than " + MAX_WAITERS + " calls are waiting for neighbours of " + name + "; cancel the ones given up"));
    else e.waiters.add(new Waiter(n, done));
  }

  /** The core reported a neighbour up ({@code +1}) or down ({@code -1}). */
  void neighborsChanged(StreamId stream, int delta) {
    Entry e = streams.get(stream);
    if (e == null) return;
    e.neighbors = Math.max(0, e.neighbors + delta);
    if (delta > 0 && !e.waiters.isEmpty()) {
      e.waiters.removeIf(w -> {
        if (w.done().isDone()) return true;
        if (e.neighbors >= w.neighbors()) {
          completions.complete(w.done(), null);
          return true;
        }
        return false;
      });
    }
  }

  /** The node left the stream: it has no neighbours there any more. */
  void left(StreamId stream) {
    Entry e = streams.get(stream);
    if (e != null) e.neighbors = 0;
  }

  /** The active view size of a stream, 0 if it is not in the table. */
  int neighbors(StreamId stream) {
    Entry e = streams.get(stream);
    return e == null ? 0 : e.neighbors;
  }

  /** The name the application gave a stream (its id's text if the stream is not in the table). */
  String name(StreamId stream) {
    Entry e = streams.get(stream);
    return e == null ? stream.toString() : e.name;
  }

  /** Drops the stream from the table if nothing uses it any more ({@code joined}: whether the core is in it). */
  void forgetIfUnused(StreamId stream, Predicate<StreamId> joined) {
    Entry e = streams.get(stream);
    if (e == null || !e.subscriptions.isEmpty() || joined.test(stream)) return;
    e.waiters.removeIf(w -> w.done().isDone());
    if (e.waiters.isEmpty()) streams.remove(stream);
  }

  /**
   * Hands a delivered message to each subscription: run at once for one on the loop, queued for
   * the others (a full queue counts as missed), which are woken at the end of the turn.
   */
  void deliver(Message.Data message) {
    Entry e = streams.get(message.stream());
    if (e == null) return;
    e.delivered++;
    List<SubscriptionQueue> subs = e.subscriptions;
    for (int i = 0; i < subs.size(); i++) {
      SubscriptionQueue q = subs.get(i);
      if (q.direct()) {
        q.handleNow(message);
        continue;
      }
      if (!q.offer(message)) e.missedBySubscribers++;
      if (!q.pendingWake) {
        q.pendingWake = true;
        toWake.add(q);
      }
    }
  }

  /** At the end of a turn: wakes the subscriptions given messages in it, once each. */
  void wakeSubscribers() {
    for (int i = 0; i < toWake.size(); i++) {
      SubscriptionQueue q = toWake.get(i);
      q.pendingWake = false;
      q.wake();
    }
    toWake.clear();
  }

  void countIn(StreamId stream, boolean data, int bytes) {
    Entry e = streams.get(stream);
    if (e == null) return;
    if (data) {
      e.dataIn++;
      e.dataInBytes += bytes;
    } else {
      e.controlIn++;
      e.controlInBytes += bytes;
    }
  }

  void countOut(StreamId stream, boolean data, int bytes) {
    Entry e = streams.get(stream);
    if (e == null) return;
    if (data) {
      e.dataOut++;
      e.dataOutBytes += bytes;
    } else {
      e.controlOut++;
      e.controlOutBytes += bytes;
    }
  }

  /** A publish the core numbered (refusals are not counted). */
  void countPublished(StreamId stream) {
    Entry e = streams.get(stream);
    if (e != null) e.published++;
  }

  /** The node is closing: every subscription stops. */
  void closeSubscriptions() {
    for (Entry e : streams.values()) {
      for (SubscriptionQueue q : e.subscriptions) q.close();
    }
  }

  private Entry entry(StreamId stream, String name) {
    return streams.computeIfAbsent(stream, k -> new Entry(name));
  }

  /** A stream's counters as the snapshot shows them (all zero if the stream is not in the table). */
  NodeSnapshot.Counters counters(StreamId stream) {
    Entry e = streams.get(stream);
    if (e == null) return NONE;
    return new NodeSnapshot.Counters(e.dataIn, e.dataInBytes, e.dataOut, e.dataOutBytes, e.controlIn, e.controlInBytes,
        e.controlOut, e.controlOutBytes, e.delivered, e.published, e.missedBySubscribers, e.neighbors);
  }
}
