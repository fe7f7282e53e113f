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

  @Override
  void close();
}
