package dev.overlay.spi;

import dev.overlay.core.PeerInfo;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where a node learns some members of a stream, for nodes that meet neither through trackers nor
 * through seeds: a service registry, a configuration file, a discovery protocol of the
 * application's own. Set with {@code OverlayNode.Builder.introducer}.
 *
 * <p>The node asks when it joins a stream and whenever its view of the stream runs low. The
 * introducer answers with some members (a handful is enough: the overlay finds the rest), now or
 * later, from any thread, once per question. The peers named are dialled and must prove their
 * keys as any peer must; a wrong or hostile answer costs the node dials within its budgets and
 * nothing else. An empty answer is fine: the node asks again later.
 */
public interface Introducer {

  /**
   * Called on the node's loop, so it must not block: start the lookup, and answer when it is done.
   *
   * @param stream the stream's name, as the application gave it
   * @param answer takes some members of the stream; call it once, from any thread
   */
  void introduce(String stream, Consumer<List<PeerInfo>> answer);

  /** The node is closing: release what the introducer holds. Called once, on the node's loop. */
  default void close() {}
}
