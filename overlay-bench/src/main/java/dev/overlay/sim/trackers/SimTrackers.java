package dev.overlay.sim.trackers;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.introduction.Rendezvous;
import dev.overlay.protocol.Message;
import dev.overlay.sim.SimIntroducer;
import dev.overlay.tracker.TrackerConfig;
import dev.overlay.tracker.TrackerState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The simulator's introductions through real {@link TrackerState}s: a joining node's request
 * goes to the first live tracker of the stream in rendezvous order, exactly as the node
 * runtime's {@code TrackerIntroducer} chooses, and is answered after one round trip. One
 * tracker may crash at a given virtual time, losing its state; requests for its streams then
 * go to the next tracker, and the live members of those streams re-register there at once, as
 * the runtime does when its tracker link drops (a crashed process's connections are reset).
 * Deterministic for a given seed.
 */
public final class SimTrackers implements SimIntroducer {

  private final List<String> names = new ArrayList<>();
  private final TrackerState[] trackers;
  private final boolean[] down;
  private final long roundTripNanos;
  private final int crashIndex;
  private final long crashAtNanos;
  private final Map<PeerId, Integer> indexById = new HashMap<>();
  private final Map<Long, Long> counters = new HashMap<>(); // (node, stream) -> last counter
  private final long[] answered;
  private final List<java.util.Set<StreamId>> streamsAt = new ArrayList<>();
  private long reRegistered;
  private long failovers;
  private long unanswered;
  private final List<Message.TrackerMessage> replies = new ArrayList<>(1);
  private final TrackerState.Replies outbox = (to, m) -> replies.add(m);

  /**
   * {@code count} trackers; tracker {@code crashIndex} crashes at {@code crashAtNanos} of
   * virtual time (-1: none does).
   */
  public SimTrackers(int count, TrackerConfig config, long seed, long roundTripNanos, int crashIndex, long crashAtNanos) {
    this.trackers = new TrackerState[count];
    this.down = new boolean[count];
    this.answered = new long[count];
    for (int i = 0; i < count; i++) {
      names.add("tracker-" + i + ":30300");
      trackers[i] = new TrackerState(config, new SplittableRandom(seed * 31 + i));
      streamsAt.add(new java.util.LinkedHashSet<>());
    }
    this.roundTripNanos = roundTripNanos;
    this.crashIndex = crashIndex;
    this.crashAtNanos = crashAtNanos;
  }

  @Override
  public void request(Context ctx, int node, StreamId stream) {
    long now = ctx.now();
    if (crashIndex >= 0 && !down[crashIndex] && now >= crashAtNanos) crash(ctx, crashIndex);
    PeerInfo info = ctx.info(node);
    indexById.put(info.id(), node);
    List<String> order = Rendezvous.order(names, stream);
    for (int rank = 0; rank < order.size(); rank++) {
      int t = names.indexOf(order.get(rank));
      if (down[t]) continue;
      replies.clear();
      register(now, t, node, info, stream, true);
      for (Message.TrackerMessage m : replies) {
        if (m instanceof Message.TrackerPeers p) {
          answered[t]++;
          if (rank > 0) failovers++;
          List<Integer> peers = new ArrayList<>(p.peers().size());
          for (PeerInfo pi : p.peers()) {
            Integer idx = indexById.get(pi.id());
            if (idx != null) peers.add(idx);
          }
          ctx.answer(node, stream, peers, roundTripNanos);
          return;
        }
      }
      // Refused: the node would try again later; the core's backoff does that.
      break;
    }
    unanswered++;
    ctx.answer(node, stream, List.of(), roundTripNanos);
  }

  private void register(long now, int t, int node, PeerInfo info, StreamId stream, boolean wantPeers) {
    long key = ((long) node << 32) ^ (stream.value() & 0xffffffffL) ^ (stream.value() >>> 32);
    long counter = counters.merge(key, 1L, Long::sum);
    streamsAt.get(t).add(stream);
    trackers[t].handle(now, info.id(), new Message.TrackerRegister(stream, info, counter, wantPeers, 0), outbox);
  }

  /** Tracker i's state is lost; its streams' live members register with their next tracker. */
  private void crash(Context ctx, int i) {
    down[i] = true;
    trackers[i] = null;
    for (StreamId stream : streamsAt.get(i)) {
      int next = -1;
      for (String name : Rendezvous.order(names, stream)) {
        int t = names.indexOf(name);
        if (!down[t]) {
          next = t;
          break;
        }
      }
      if (next < 0) return;
      for (int node : ctx.members(stream)) {
        replies.clear();
        register(ctx.now(), next, node, ctx.info(node), stream, false);
        reRegistered++;
      }
    }
    streamsAt.get(i).clear();
  }

  /** Registrations moved to the next tracker when one crashed. */
  public long reRegistered() {
    return reRegistered;
  }

  /** Tracker i's state, or null once it crashed. */
  public TrackerState tracker(int i) {
    return trackers[i];
  }

  public List<String> names() {
    return List.copyOf(names);
  }

  /** Introductions answered by tracker i. */
  public long answered(int i) {
    return answered[i];
  }

  /** Requests answered by a tracker other than the stream's first choice (it was down). */
  public long failovers() {
    return failovers;
  }

  public long unanswered() {
    return unanswered;
  }

  public boolean isDown(int i) {
    return down[i];
  }
}
