package dev.overlay;

/** A handler's registration on a stream. Closing it stops deliveries; the node stays in the stream. */
public interface Subscription extends AutoCloseable {

  String stream();

  /** Messages handed to the handler so far. */
  long delivered();

  /** Messages dropped for this subscription because its handler fell behind. */
  long missed();

  /** Messages waiting for the handler right now. */
  int backlog();

  /**
   * Whether it receives nothing more: closed by {@link #close}, by the node's close, or because
   * its executor refused to run the handler (reported as {@code TransportEvent.SubscriptionFailed}).
   */
  boolean isClosed();

  @Override
  void close();
}
