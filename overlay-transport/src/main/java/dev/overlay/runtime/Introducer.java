package dev.overlay.runtime;

import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where a node learns some members of a stream when its core asks. Static seeds for now; the
 * tracker client next. Called on the node's loop; the answer may come later, also on the loop.
 */
public interface Introducer {

  void introduce(StreamId stream, Consumer<List<PeerInfo>> answer);

  /** A link came up: the introducer may learn from the peer's HELLO. */
  default void linkUp(PeerInfo peer) {}

  /** A seed dialled by address turned out to be this peer. */
  default void seedFound(java.net.InetSocketAddress address, PeerInfo peer) {}

  /** A seed dialled by address could not be reached. */
  default void seedFailed(java.net.InetSocketAddress address, String reason) {}
}
