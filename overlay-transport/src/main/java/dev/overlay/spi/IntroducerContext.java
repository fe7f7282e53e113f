package dev.overlay.spi;

import dev.overlay.core.PeerInfo;

/** What an {@link Introducer} may know of its node: handed to the factory given to the builder. */
public interface IntroducerContext {

  /**
   * The node itself: its id and the addresses it advertises, once it has started (the factory
   * runs in {@code start()}, after the node's socket is bound).
   *
   * @return the node's own info
   */
  PeerInfo self();
}
