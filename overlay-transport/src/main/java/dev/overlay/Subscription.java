package dev.overlay;

/** A handler's registration on a stream. Closing it stops deliveries; the node stays in the stream. */
public interface Subscription extends AutoCloseable {

  /** {@return the stream's name, as subscribed to} */
  String stream();

  /** {@return messages handed to the handler so far} */
  long delivered();

  /** {@return messages dropped for this subscription because its handler fell behind} */
  long missed();

  /** {@return messages waiting for the handler right now} */
  int backlog();

  /**
   * {@return whether it receives nothing more: closed by {@link #close}, by the node's close, or
   * because its executor refused to run the handler (reported as
   * {@code TransportEvent.SubscriptionFailed})}
   */
  boolean isClosed();

  /** Stops deliveries: messages still queued for the handler are not delivered. Idempotent. */
  @Override
  void close();
}
