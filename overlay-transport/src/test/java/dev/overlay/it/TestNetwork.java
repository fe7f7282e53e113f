package dev.overlay.it;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.OverlayEvent;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** Nodes in this process on 127.0.0.1, sharing two event-loop threads; closes them all at the end. */
public final class TestNetwork implements AutoCloseable {

  /** Every event a node's listener heard, for assertions. */
  public static final class Events implements OverlayListener {
    public final List<Object> all = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onEvent(OverlayEvent event) {
      all.add(event);
    }

    @Override
    public void onTransportEvent(TransportEvent event) {
      all.add(event);
    }

    public <T> List<T> of(Class<T> type) {
      synchronized (all) {
        return all.stream().filter(type::isInstance).map(type::cast).toList();
      }
    }
  }

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2,
      Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  private final ExecutorService delivery = Executors.newFixedThreadPool(2, r -> {
    Thread t = new Thread(r, "test-delivery");
    t.setDaemon(true);
    return t;
  });
  private final List<OverlayNode> nodes = new ArrayList<>();

  /** A started node with this identity (a new one when null), seeded by {@code seed} (none when null). */
  public OverlayNode start(NodeIdentity identity, OverlayNode seed, Events events) throws Exception {
    return start(identity, seed, events, b -> {});
  }

  /** As above, with the builder also set up by {@code customize}. */
  public OverlayNode start(NodeIdentity identity, OverlayNode seed, Events events,
      java.util.function.Consumer<OverlayNode.Builder> customize) throws Exception {
    OverlayNode.Builder b = OverlayNode.builder().eventLoopGroup(group).deliveryExecutor(delivery)
        .identity(identity != null ? identity : NodeIdentity.generate());
    if (seed != null) b.seed(seed.info());
    if (events != null) b.listener(events);
    customize.accept(b);
    OverlayNode n = b.build().start();
    synchronized (nodes) {
      nodes.add(n);
    }
    return n;
  }

  public OverlayNode start(OverlayNode seed) throws Exception {
    return start(null, seed, null);
  }

  /**
   * Publishes messages {@code from..to-1}, numbered as {@link Tally} reads them (100 bytes), each
   * once it is accepted: a refusal under backpressure waits for {@code publishable()} and sends it
   * again, as a publisher that must not lose a message does.
   */
  public static void publishNumbered(OverlayNode publisher, String stream, long from, long to, java.time.Duration deadline)
      throws Exception {
    for (long n = from; n < to; n++) {
      dev.overlay.core.PublishResult r = publisher.publish(stream, Tally.payload(n, 100)).get(deadline.toMillis(), TimeUnit.MILLISECONDS);
      while (r.status() == dev.overlay.core.PublishResult.Status.QUEUE_FULL) {
        publisher.publishable().get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        r = publisher.publish(stream, Tally.payload(n, 100)).get(deadline.toMillis(), TimeUnit.MILLISECONDS);
      }
      if (r.status() != dev.overlay.core.PublishResult.Status.SENT && r.status() != dev.overlay.core.PublishResult.Status.NO_PEERS) {
        throw new AssertionError("publish of " + n + ": " + r.status());
      }
    }
  }

  @Override
  public void close() {
    synchronized (nodes) {
      for (OverlayNode n : nodes) {
        try {
          n.close();
        } catch (Exception e) {
          // the others still need closing
        }
      }
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    delivery.shutdownNow();
  }
}
