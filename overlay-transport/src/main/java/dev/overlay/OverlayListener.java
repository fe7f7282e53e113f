package dev.overlay;

import dev.overlay.core.OverlayEvent;
import dev.overlay.transport.TransportEvent;

/**
 * The node's events, for monitoring: neighbours, grafts and prunes, gaps, drops and refusals
 * from the protocol; links, dials, slow peers, lagging subscribers from the transport. Called on
 * the node's delivery executor, in order; a listener that falls behind loses events (and is told
 * how many) rather than slowing the node.
 */
public interface OverlayListener {

  default void onEvent(OverlayEvent event) {}

  default void onTransportEvent(TransportEvent event) {}
}
