package dev.overlay.sim;

import dev.overlay.core.OverlayEvent;
import dev.overlay.protocol.Message;

/**
 * Watches a simulation message by message, for debugging: reproduce a problem with a seed,
 * then trace the nodes involved. Node arguments are simulator indices.
 */
public interface SimTracer {

  default void sent(long now, int from, int to, Message message) {}

  default void received(long now, int to, int from, Message message) {}

  default void event(long now, int node, OverlayEvent event) {}
}
