package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.overlay.MessageHandler;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.protocol.Message;
import dev.overlay.testing.Await;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The public API used the wrong way, or the way a hurried application would (issue 9, section 5). */
class ApiMisuseTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final String STREAM = "misuse";
  private final TestNetwork net = new TestNetwork();

  @AfterEach
  void tearDown() {
    net.close();
  }

  /** Two nodes in one stream, both subscribed, linked. */
  private OverlayNode[] pair(TestNetwork.Events events) throws Exception {
    OverlayNode a = net.start(null, null, events);
    OverlayNode b = net.start(a);
    a.join(STREAM);
    b.join(STREAM);
    assertThat(a.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
    assertThat(b.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
    return new OverlayNode[] {a, b};
  }

  private static int activeCount(OverlayNode n) {
    try {
      return n.snapshot().stream(STREAM).active().size();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static EventLoopGroup namedGroup(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return new MultiThreadIoEventLoopGroup(1, r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    }, Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  @Test
  void aBuilderChangedAfterBuildDoesNotChangeTheNodeItBuilt() throws Exception {
    OverlayNode.Builder builder = OverlayNode.builder().listen("127.0.0.1", 0).advertise("127.0.0.1");
    try (OverlayNode node = builder.build()) {
      builder.listen("203.0.113.1", 1).advertise("203.0.113.1"); // an address this machine does not have
      node.start();
      assertThat(node.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
      assertThat(node.info().candidates()).allMatch(c -> c.host().equals("127.0.0.1"));
    }
  }

  @Test
  void startingTwiceOrAfterCloseAndAskingTheAddressBeforeStartFailAtOnceWithAReason() throws Exception {
    OverlayNode node = OverlayNode.builder().build();
    assertThatThrownBy(node::address).isInstanceOf(IllegalStateException.class).hasMessageContaining("start()");
    node.start();
    // Before the check, a second start bound another port and its failure closed the running node.
    assertThatThrownBy(node::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("started already");
    assertThat(node.address().getPort()).isPositive();
    node.close();
    assertThatThrownBy(node::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  @Test
  void publishAndJoinFuturesCompleteOffTheNodesLoop() throws Exception {
    EventLoopGroup group = namedGroup("node-loop-");
    try (OverlayNode a = OverlayNode.builder().eventLoopGroup(group).build().start();
        OverlayNode b = OverlayNode.builder().seed(a.info()).build().start()) {
      b.join(STREAM);
      CompletableFuture<String> joinedOn = a.joined(STREAM).thenApply(v -> Thread.currentThread().getName());
      a.join(STREAM);
      assertThat(joinedOn.get(30, TimeUnit.SECONDS)).doesNotStartWith("node-loop-");
      String publishedOn = a.publish(STREAM, new byte[] {1}).thenApply(r -> Thread.currentThread().getName()).get(30, TimeUnit.SECONDS);
      assertThat(publishedOn).doesNotStartWith("node-loop-");
    } finally {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void closeFromAHandlerOnTheNodesLoopDoesNotDeadlock() throws Exception {
    OverlayNode a = OverlayNode.builder().build().start();
    OverlayNode b = net.start(a);
    CompletableFuture<Void> closed = new CompletableFuture<>();
    a.subscribe(STREAM, m -> {
      try {
        a.close();
        closed.complete(null);
      } catch (Throwable e) {
        closed.completeExceptionally(e);
      }
    }, OverlayNode.ON_NODE_LOOP);
    b.join(STREAM);
    assertThat(a.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
    Await.until(DEADLINE, () -> {
      b.publish(STREAM, new byte[] {1});
      return closed.isDone();
    }, () -> "a.close() in a handler on a's loop returned");
    closed.get(); // rethrows what close() threw
    Await.until(DEADLINE, () -> activeCount(b) == 0, () -> "b saw a leave");
  }

  @Test
  void awaitNeighborsOnTheNodesLoopFailsAtOnceInsteadOfBlockingTheNode() throws Exception {
    OverlayNode[] ab = pair(null);
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    CountDownLatch called = new CountDownLatch(1);
    ab[0].subscribe(STREAM, m -> {
      try {
        ab[0].awaitNeighbors(STREAM, 10, Duration.ofSeconds(60));
      } catch (Throwable e) {
        thrown.set(e);
      }
      called.countDown();
    }, OverlayNode.ON_NODE_LOOP);
    Await.until(DEADLINE, () -> {
      ab[1].publish(STREAM, new byte[] {1});
      return called.getCount() == 0;
    }, () -> "the handler ran");
    assertThat(thrown.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("loop");
  }

  @Test
  void anExecutorThatRejectsClosesItsOwnSubscriptionVisiblyAndNothingElse() throws Exception {
    TestNetwork.Events events = new TestNetwork.Events();
    OverlayNode[] ab = pair(events);
    Executor rejecting = r -> {
      throw new RejectedExecutionException("shut down");
    };
    var doomed = ab[0].subscribe(STREAM, m -> {}, rejecting);
    AtomicInteger healthy = new AtomicInteger();
    ab[0].subscribe(STREAM, m -> healthy.incrementAndGet());
    Await.until(DEADLINE, () -> {
      ab[1].publish(STREAM, new byte[] {2});
      return healthy.get() >= 20;
    }, () -> "the healthy subscription keeps receiving");
    assertThat(events.of(TransportEvent.SubscriptionFailed.class)).hasSize(1)
        .allSatisfy(e -> assertThat(e.reason()).contains("shut down"));
    assertThat(doomed.isClosed()).isTrue();
    assertThat(ab[0].snapshot().counters()).containsEntry("subscriptions_failed", 1L);
    // The node is whole: it still publishes and its streams still deliver.
    assertThat(ab[0].publish(STREAM, new byte[] {3}).get(30, TimeUnit.SECONDS).status().name()).isEqualTo("SENT");
  }

  @Test
  void aSlowHandlerMakesOnlyItsOwnSubscriptionLag() throws Exception {
    // The node's own delivery executor, as a user who sets none gets it.
    OverlayNode a = OverlayNode.builder().build().start();
    OverlayNode b = net.start(a);
    CountDownLatch release = new CountDownLatch(1);
    try {
      a.subscribe(STREAM, m -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      AtomicInteger fast = new AtomicInteger();
      a.subscribe(STREAM, m -> fast.incrementAndGet());
      b.join(STREAM);
      assertThat(a.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      Await.until(DEADLINE, () -> {
        b.publish(STREAM, new byte[] {4});
        return fast.get() >= 50;
      }, () -> "the other subscription kept receiving while one handler was stuck (" + fast.get() + ")");
    } finally {
      release.countDown();
      a.close();
    }
  }

  @Test
  void aClosedNodeOnASharedGroupLeavesNothingBehindThatKeepsItReachable() throws Exception {
    EventLoopGroup shared = namedGroup("shared-");
    try {
      OverlayNode seed = OverlayNode.builder().eventLoopGroup(shared).build().start();
      WeakReference<Object> ref = startJoinAndClose(shared, seed);
      Await.until(DEADLINE, () -> {
        System.gc();
        return ref.get() == null;
      }, () -> "the closed node was collected");
      seed.close();
    } finally {
      shared.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** A weak reference to the closed node's runtime: what its scheduled tasks would keep alive. */
  private static WeakReference<Object> startJoinAndClose(EventLoopGroup shared, OverlayNode seed) throws Exception {
    OverlayNode n = OverlayNode.builder().eventLoopGroup(shared).seed(seed.info())
        .trackerHeartbeat(Duration.ofMillis(100)).build().start();
    n.subscribe(STREAM, (MessageHandler) m -> {});
    seed.join(STREAM);
    n.awaitNeighbors(STREAM, 1, DEADLINE);
    java.lang.reflect.Field f = OverlayNode.class.getDeclaredField("runtime");
    f.setAccessible(true);
    Object runtime = f.get(n);
    n.close();
    return new WeakReference<>(runtime);
  }
}
