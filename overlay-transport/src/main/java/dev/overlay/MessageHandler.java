package dev.overlay;

import dev.overlay.core.Message;

/**
 * Receives a subscription's messages, one at a time, on the subscription's executor: the node's
 * delivery executor unless another was given, and never the node's loop unless it was asked for
 * with {@link OverlayNode#ON_NODE_LOOP}. A handler that falls behind on its own executor loses
 * messages rather than slowing the node; it is told how many before its next message.
 */
@FunctionalInterface
public interface MessageHandler {

  /**
   * One message: {@code message.publisher()}, {@code session()} and {@code seq()} identify it;
   * {@code payload()} is shared, do not modify it.
   */
  void onMessage(Message.Data message);

  /** {@code missed} messages were dropped for this subscription because it fell behind. */
  default void onLagged(long missed) {}
}
