package dev.overlay;

/**
 * Receives a subscription's messages, one at a time, on the subscription's executor: the node's
 * delivery executor unless another was given ({@link OverlayNode#ON_NODE_LOOP}, or an executor of
 * the application's; one that runs tasks on the calling thread runs the handler on the node's
 * loop too). A handler that falls behind on an executor loses messages rather than slowing the
 * node; it is told how many before its next message.
 */
@FunctionalInterface
public interface MessageHandler {

  /**
   * One message, once. Messages of one publisher usually come in {@code seq} order, but a
   * message fetched again after a loss comes after later ones (see docs/api.md, "Order").
   *
   * @param message the message
   */
  void onMessage(StreamMessage message);

  /**
   * Messages were dropped for this subscription because its handler fell behind; called before
   * the next message.
   *
   * @param missed how many since the last call
   */
  default void onLagged(long missed) {}
}
