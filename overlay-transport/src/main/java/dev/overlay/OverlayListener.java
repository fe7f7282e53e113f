package dev.overlay;

import dev.overlay.TransportEvent;
import dev.overlay.core.OverlayEvent;

/**
 * The node's events, for monitoring: neighbours, grafts and prunes, gaps, drops and refusals
 * from the protocol; links, dials, slow peers, lagging subscribers from the transport. Called on
 * the node's delivery executor, in order; a listener that falls behind loses events (and is told
 * how many) rather than slowing the node.
 */
public interface OverlayListener {

  /**
   * A protocol event: neighbours, grafts and prunes, gaps, drops and refusals.
   *
   * @param event what happened
   */
  default void onEvent(OverlayEvent event) {}

  /**
   * A transport event: links, dials, slow peers, lagging subscribers, refused publishes.
   *
   * @param event what happened
   */
  default void onTransportEvent(TransportEvent event) {}
}
