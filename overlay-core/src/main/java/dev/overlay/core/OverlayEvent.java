package dev.overlay.core;

/** Typed events for the application's listener. Every drop has one (and a counter). */
public sealed interface OverlayEvent {

  /** The peer is now an active neighbour in the stream. */
  record NeighborUp(StreamId stream, PeerId peer) implements OverlayEvent {}

  /** The peer left the stream's active view. */
  record NeighborDown(StreamId stream, PeerId peer, String reason) implements OverlayEvent {}

  /** We asked {@code peer} to push {@code publisher}'s messages to us again (GRAFT). */
  record Grafted(StreamId stream, PeerId peer, PeerId publisher, boolean optimisation) implements OverlayEvent {}

  /** We asked {@code peer} to stop pushing {@code publisher}'s messages to us: they arrive sooner another way (PRUNE). */
  record Pruned(StreamId stream, PeerId peer, PeerId publisher) implements OverlayEvent {}

  /**
   * We stopped pushing to {@code peer}: its link stayed backlogged. It gets announcements and
   * fetches what it wants at its own pace.
   */
  record Demoted(StreamId stream, PeerId peer) implements OverlayEvent {}

  /** Messages {@code fromSeq..toSeq} of a publisher session are missing between ones we have. */
  record GapDetected(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) implements OverlayEvent {}

  /** Messages {@code fromSeq..toSeq} that were missing have arrived. */
  record GapResolved(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) implements OverlayEvent {}

  /**
   * Missing messages {@code fromSeq..toSeq} are given up on: the per-publisher gap table was full.
   * Late copies of them are treated as duplicates.
   */
  record GapAbandoned(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) implements OverlayEvent {}

  /**
   * Messages {@code fromSeq..toSeq} of a publisher session were missing, and every repair of them
   * has been given up: no neighbour could supply them within {@code missingTtl}. They stay
   * missing; a copy that still arrives is delivered.
   */
  record GapUnrecoverable(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) implements OverlayEvent {}

  /**
   * A stream delivered in order (joined from a position) released the messages after
   * {@code fromSeq..toSeq} without them; {@code reason} says why: a message behind it waited
   * {@code orderWait}, the order buffer was full, the seen set gave the hole up, a pinned storage
   * node lacks them, or too many sessions were waiting. A message of it that still arrives is
   * delivered late, out of order (unless the seen set gave it up: then it counts as a duplicate).
   */
  record OrderSkipped(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq, String reason) implements OverlayEvent {}

  /** The stream has no neighbours and nobody to ask but the introducer. */
  record Isolated(StreamId stream) implements OverlayEvent {}

  /**
   * {@code neighborsLost} neighbours went silent or unreachable within a few seconds, without a
   * goodbye: the network around this node may have split, and this node may sit on an island.
   * It asks its introducer for members at short, growing intervals until the islands can meet again.
   */
  record IslandSuspected(StreamId stream, int neighborsLost) implements OverlayEvent {}

  /** Something was dropped rather than handled. {@code stream} is null for node-level drops. */
  record Dropped(StreamId stream, PeerId peer, DropReason reason, String detail) implements OverlayEvent {}

  /** A link was refused or closed by this node's limits. */
  record PeerRefused(PeerId peer, String reason) implements OverlayEvent {}

  /** Why a message was dropped (the event's {@code detail} says more). */
  enum DropReason {
    /** A JOIN, NEIGHBOR or DISCONNECT from an earlier incarnation of its sender. */
    STALE_INCARNATION,
    /** A message for a stream this node has not joined. */
    UNKNOWN_STREAM,
    /** A message claiming a sender other than the peer on the link. */
    SPOOFED_SENDER,
    /** A send to a peer with no link and no known address. */
    NO_LINK,
    /** A GRAFT asked for a message that has left the cache. */
    NOT_CACHED,
    /** A bounded table was full and evicted or refused an entry. */
    CAPACITY,
    /** A message this node does not take from a peer: a tracker's message outside a tracker link. */
    UNEXPECTED,
    /**
     * A stream message that only a neighbour in the stream may send (DATA, IHAVE, GRAFT, PRUNE,
     * FORWARD_JOIN, SHUFFLE), from a peer that is not one and has not been one within the grace period.
     */
    NOT_NEIGHBOR,
    /** A SHUFFLE_REPLY that answers no shuffle of ours, or a NEIGHBOR_REPLY to no request. */
    UNSOLICITED,
    /** A peer asked more of us than its budget allows (JOINs, forced evictions, dials). */
    RATE_LIMITED,
    /** One frame asked for more work than a frame may cause; the rest of it was ignored. */
    WORK_BUDGET,
    /** A payload over the node's limit. */
    TOO_LARGE,
    /** A message whose digest or seal does not verify: forged or altered. Its sender is disconnected. */
    FORGED,
    /** A message no seal covers: sent without its seal, or after the seal was forgotten. */
    UNSEALED,
    /** A message from a publisher the stream does not take messages from. */
    NOT_PERMITTED
  }
}
