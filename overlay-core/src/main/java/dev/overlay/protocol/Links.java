package dev.overlay.protocol;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;

/**
 * The node's links as a stream's protocols see them. Links are shared by every stream and
 * reference-counted: a peer is disconnected only when no stream uses it any more.
 */
public interface Links {

  /** A stream starts using the peer (active view, or a neighbour request): connect if needed. */
  void acquire(long now, PeerInfo peer);

  /** A stream stops using the peer. The link closes once nothing uses it and it has sat idle. */
  void release(long now, PeerId peer);

  /** Sends over an existing link; connects first (a short-lived link) when there is none. */
  void send(long now, PeerInfo to, Message message);

  /** Sends over an existing link. Without one the message is dropped, with an event. */
  void send(long now, PeerId to, Message message);

  /**
   * The measured round-trip time to the peer in nanoseconds (smoothed; kept after its link
   * closes, for a while), or -1 when it was never measured.
   */
  default long roundTripNanos(PeerId peer) {
    return -1;
  }
}
