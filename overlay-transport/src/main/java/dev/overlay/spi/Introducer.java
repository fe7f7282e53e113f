package dev.overlay.spi;

import dev.overlay.core.PeerInfo;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where a node learns some members of a stream, for nodes that meet neither through trackers nor
 * through seeds: a service registry, a configuration file, a discovery protocol of the
 * application's own. Set with {@code OverlayNode.Builder.introducer}.
 *
 * <p>The node asks when it joins a stream, and again (with growing waits) while it has fewer
 * neighbours than {@code HyParViewConfig.activeViewMinimum} and no candidate left in the stream. The introducer answers with some members (a
 * handful is enough: the overlay finds the rest), now or later, from any thread, once per
 * question; later answers and null elements are ignored, and of more than 64 peers a random 64
 * are kept. The peers named are dialled and must prove their keys as any peer must, so a wrong
 * or hostile answer costs the node dials within its budgets. An empty answer is fine: the node
 * asks again later. A peer is named by its id as well as its addresses: an introducer that knows
 * only addresses is a list of seeds ({@code OverlayNode.Builder.seeds}).
 *
 * <p>What the introducer throws is logged and taken as no answer; it never reaches the node.
 */
public interface Introducer {

  /**
   * Called on the node's loop, so it must not block: start the lookup, and answer when it is done.
   *
   * @param stream the stream's name, as the application gave it
   * @param answer takes some members of the stream; call it once, from any thread
   */
  void introduce(String stream, Consumer<List<PeerInfo>> answer);

  /**
   * The node is closing: release what the introducer holds. Called at most once, on the node's
   * loop, by {@code OverlayNode.close}; not by {@code abort}, which stops the node as a crash
   * would.
   */
  default void close() {}
}
