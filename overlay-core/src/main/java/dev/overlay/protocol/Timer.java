package dev.overlay.protocol;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;

/**
 * Timers are values. The core asks for one with {@link Outbox#schedule} and gets it back in an
 * {@link Event.TimerFired}. Timers are never cancelled: when one fires, its handler checks
 * whether it still matters (a request id, a pending entry) and ignores it otherwise.
 */
public sealed interface Timer {

  /** Node-wide upkeep: idle links, TTL sweeps. */
  record Housekeeping() implements Timer {
    public static final Housekeeping INSTANCE = new Housekeeping();
  }

  /**
   * HyParView: time to start a shuffle. {@code generation} names the membership of the stream
   * that armed it: a tick of an earlier one (left, then joined again) is ignored, or each rejoin
   * would add a chain of ticks.
   */
  record ShuffleTick(StreamId stream, long generation) implements Timer {}

  /** HyParView: keep the active view full; ask for introductions when isolated. */
  record RepairTick(StreamId stream) implements Timer {}

  /**
   * HyParView: ask the introducer for members again, and take one in (what merges islands after a
   * partition). A suspected partition starts a new {@code generation}; older ticks are ignored.
   */
  record ReintroductionTick(StreamId stream, long generation) implements Timer {}

  /**
   * HyParView: time to replace the worst-scored active neighbour (see {@code
   * HyParViewConfig.churnInterval}); {@code generation} as for {@link ShuffleTick}.
   */
  record ChurnTick(StreamId stream, long generation) implements Timer {}

  /** HyParView: the neighbour request {@code requestId} to {@code peer} got no answer. */
  record NeighborTimeout(StreamId stream, PeerId peer, long requestId) implements Timer {}

  /** Publisher authentication: seal the messages waiting for their seal (see {@code dev.overlay.auth.Sealer}). */
  record SealFlush(StreamId stream) implements Timer {}

  /** Plumtree: send the batched IHAVE announcements. */
  record LazyFlush(StreamId stream) implements Timer {}

  /**
   * Plumtree: peers announced messages of {@code publisher} beyond what the tree has delivered;
   * check that the tree is still delivering, and fetch them if it stopped.
   */
  record StallCheck(StreamId stream, PeerId publisher) implements Timer {}

  /** Plumtree: a message announced by IHAVE has not arrived; graft attempt number {@code attempt}. */
  record GraftTimeout(StreamId stream, MessageRef ref, int attempt) implements Timer {}
}
