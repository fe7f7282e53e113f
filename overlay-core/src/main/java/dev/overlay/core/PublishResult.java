package dev.overlay.core;

/**
 * What became of one publish: which sequence number it got and how many peers it was pushed to
 * eagerly and announced to lazily.
 */
public record PublishResult(StreamId stream, long session, long seq, Status status, int eagerPeers, int lazyPeers) {

  /** What happened to the publish; see docs/api.md, "Publishing and backpressure". */
  public enum Status {
    /** Pushed to at least one eager peer. */
    SENT,
    /** Stored and numbered, but the node has no neighbours yet; GRAFTs can still fetch it. */
    NO_PEERS,
    /** The node has not joined this stream. Nothing was numbered. */
    NOT_JOINED,
    /** The payload is larger than {@code NodeConfig#maxPayloadBytes()}. Nothing was numbered. */
    TOO_LARGE,
    /**
     * Refused, and nothing was numbered: the node's command queue was full, or the node is
     * backpressured (a neighbour cannot take what it sends; the overlay is saturated). A
     * refusal may come back at once or once the node's loop takes the publish, so a publisher
     * that pipelines should stop at its first refusal and wait on
     * {@code OverlayNode.publishable()} before going on, or its later messages may be accepted
     * ahead of a refused one it then sends again.
     */
    QUEUE_FULL
  }

  /**
   * A publish refused before it was numbered.
   *
   * @param stream the stream it was for
   * @param status why it was refused
   * @return the result, with no sequence number and no peers
   */
  public static PublishResult refused(StreamId stream, Status status) {
    return new PublishResult(stream, 0, 0, status, 0, 0);
  }
}
