package dev.overlay.runtime;

import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where a node learns some members of a stream when its core asks (internal: an application
 * plugs in a {@link dev.overlay.spi.Introducer}, which {@link ApplicationIntroducer} adapts): trackers
 * ({@link TrackerIntroducer}) or static seeds ({@link StaticSeeds}). Called on the node's loop;
 * the answer may come later, also on the loop.
 */
public interface IntroductionSource {

  void introduce(StreamId stream, Consumer<List<PeerInfo>> answer);

  /** A link came up, to a peer or to one of the introducer's own (trackers): it may now be used. */
  default void linkUp(PeerInfo peer) {}

  /** A seed dialled by address turned out to be this peer. */
  default void seedFound(java.net.InetSocketAddress address, PeerInfo peer) {}

  /** A seed dialled by address could not be reached. */
  default void seedFailed(java.net.InetSocketAddress address, String reason) {}

  /** Whether this source may name a stream's storage nodes (trackers do), so a start without any waits for it. */
  default boolean namesStorageNodes() {
    return false;
  }

  /** Whether a link to this peer is the introducer's own (a tracker): the core never hears of it. */
  default boolean isInfrastructure(dev.overlay.core.PeerId peer) {
    return false;
  }

  /** A link the introducer owns went down. */
  default void linkDown(dev.overlay.core.PeerId peer, String reason) {}

  /** A tracker message arrived on one of the introducer's links. */
  default void received(dev.overlay.core.PeerId from, dev.overlay.protocol.Message.TrackerMessage message) {}

  /**
   * A dial to {@code peer} failed at every direct address: ask a tracker to have both nodes
   * connect at once (a hole punch). False when no tracker could be asked.
   */
  default boolean requestPunch(dev.overlay.core.PeerId peer) {
    return false;
  }

  /** A punch to {@code peer} failed: ask a tracker to relay the two nodes. False when none could be asked. */
  default boolean requestRelay(dev.overlay.core.PeerId peer) {
    return false;
  }

  /** The node left the stream. */
  default void left(StreamId stream) {}

  /** The node is closing: say goodbye where that helps. */
  default void closing() {}

  /** The node stopped as a crash would ({@code abort}): no goodbyes, but release sockets and timers. */
  default void crashed() {}

  /** The introducer's own counters, for the node's snapshot. */
  default java.util.Map<String, Long> counters() {
    return java.util.Map.of();
  }
}
