package dev.overlay.runtime;

import dev.overlay.Subscription;
import dev.overlay.core.StreamId;

/** The application's handle on one subscription. */
final class SubscriptionHandle implements Subscription {

  private final String stream;
  private final StreamId id;
  private final SubscriptionQueue queue;
  private final NodeRuntime runtime;

  SubscriptionHandle(String stream, StreamId id, SubscriptionQueue queue, NodeRuntime runtime) {
    this.stream = stream;
    this.id = id;
    this.queue = queue;
    this.runtime = runtime;
  }

  @Override
  public String stream() {
    return stream;
  }

  @Override
  public long delivered() {
    return queue.delivered();
  }

  @Override
  public long missed() {
    return queue.missed();
  }

  @Override
  public int backlog() {
    return queue.backlog();
  }

  @Override
  public boolean isClosed() {
    return queue.isClosed();
  }

  @Override
  public void close() {
    runtime.unsubscribe(id, queue);
  }
}
