package dev.overlay.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.overlay.NodeIdentity;
import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import dev.overlay.it.TestNetwork;
import dev.overlay.testing.Await;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class OverlayMetricsTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);

  @Test
  void theMetersShowTheSnapshotsFiguresAndFollowTheStreams() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode seed = net.start(null);
      seed.join("a");
      OverlayNode subscriber = net.start(seed);
      AtomicInteger got = new AtomicInteger();
      subscriber.subscribe("a", m -> got.incrementAndGet());
      assertThat(subscriber.awaitNeighbors("a", 1, DEADLINE)).isTrue();

      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new OverlayMetrics(subscriber).bindTo(registry);
      assertThat(registry.find("overlay.stream.view.size").tags("stream", "a", "view", "active").gauge().value()).isEqualTo(1.0);
      assertThat(registry.find("overlay.node.links").gauge().value()).isEqualTo(1.0);

      for (int i = 0; i < 20; i++) seed.publish("a", new byte[] {(byte) i});
      Await.until(DEADLINE, () -> got.get() == 20, () -> "delivered " + got.get());
      Await.until(DEADLINE, () -> delivered(registry, "a") == 20, () -> "the meter says " + delivered(registry, "a"));
      NodeSnapshot snap = subscriber.snapshot();
      assertThat(registry.find("overlay.stream.frames.received").tags("stream", "a", "kind", "data").functionCounter().count())
          .isEqualTo(snap.stream("a").counters().dataIn()).isGreaterThanOrEqualTo(20);
      assertThat(registry.find("overlay.stream.broadcast.duplicates").tags("stream", "a").functionCounter().count())
          .isEqualTo(snap.stream("a").broadcast().duplicates());
      assertThat(registry.find("overlay.stream.membership.joins.sent").tags("stream", "a").functionCounter().count())
          .isEqualTo(snap.stream("a").membership().joinsSent()).isGreaterThanOrEqualTo(1);
      assertThat(registry.find("overlay.node.messages.dropped").tags("reason", "forged").functionCounter().count())
          .as("every reason has its series, 0 before the first drop").isEqualTo(0.0);
      assertThat(registry.find("overlay.node.links.closed").tags("reason", "slow_peer").functionCounter()).isNotNull();
      assertThat(registry.find("overlay.link.queued").meters()).as("per-link meters were not asked for").isEmpty();

      // A stream joined after binding gets its meters; a stream left loses them.
      seed.join("b");
      subscriber.join("b");
      Await.until(DEADLINE, () -> registry.find("overlay.node.links").gauge().value() >= 0
          && registry.find("overlay.stream.view.size").tags("stream", "b").meters().size() == 2, () -> "no meters for b");
      subscriber.leave("a");
      Await.until(DEADLINE, () -> registry.find("overlay.node.links").gauge().value() >= 0
          && registry.find("overlay.stream.messages.delivered").tags("stream", "a").meters().isEmpty(), () -> "a's meters stay");
      assertThat(registry.getMeters()).allSatisfy(m -> assertThat(m.getId().getTag("stream")).isNotEqualTo("a"));
    }
  }

  @Test
  void perLinkMetersOnlyWhenAskedAndTheyGoWithTheLink() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode seed = net.start(null);
      seed.join("a");
      OverlayNode other = net.start(seed);
      other.join("a");
      assertThat(other.awaitNeighbors("a", 1, DEADLINE)).isTrue();
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new OverlayMetrics(seed).withLinks().bindTo(registry);
      String peer = other.info().id().toHex();
      assertThat(registry.find("overlay.link.writable").tags("peer", peer).gauge().value()).isEqualTo(1.0);
      assertThat(registry.find("overlay.link.frames.received").tags("peer", peer).functionCounter().count()).isGreaterThan(0);

      other.close();
      Await.until(DEADLINE, () -> registry.find("overlay.node.links").gauge().value() == 0
          && registry.find("overlay.link.writable").meters().isEmpty(), () -> "the closed link's meters stay");
    }
  }

  @Test
  void aNodeStartedAfterBindingGetsItsMetersAndAClosedOneKeepsItsLastFigures() throws Exception {
    OverlayNode node = OverlayNode.builder().identity(NodeIdentity.generate()).build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    OverlayMetrics metrics = new OverlayMetrics(node);
    metrics.bindTo(registry);
    assertThat(registry.getMeters()).as("nothing to show before start but that").hasSize(1);
    assertThat(registry.find("overlay.node.running").gauge().value()).isEqualTo(0.0);
    assertThatThrownBy(() -> metrics.bindTo(new SimpleMeterRegistry())).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("bound");
    try {
      node.start();
      node.join("a");
      Await.until(DEADLINE, () -> registry.find("overlay.node.running").gauge().value() == 1
          && registry.find("overlay.stream.view.size").tags("stream", "a").meters().size() == 2, () -> "no meters after start");
      node.publish("a", new byte[] {1});
      Await.until(DEADLINE, () -> registry.find("overlay.stream.messages.published").tags("stream", "a").functionCounter().count() == 1,
          () -> "published not counted");
      node.close();
      // Past the snapshot's age, the next reading asks the closed node, and keeps the last figures.
      Await.until(DEADLINE, () -> registry.find("overlay.node.running").gauge().value() == 0, () -> "still running");
      assertThat(registry.find("overlay.stream.messages.published").tags("stream", "a").functionCounter().count()).isEqualTo(1);
    } finally {
      node.close();
    }
  }

  /** Micrometer holds a meter's state weakly: the meters must work with no reference to the binder kept. */
  @Test
  void theMetersWorkAfterGarbageCollectionWithNoReferenceKept() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode node = net.start(null);
      node.join("a");
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new OverlayMetrics(node).bindTo(registry); // as docs/operations.md shows it: nothing kept
      for (int i = 0; i < 5; i++) System.gc();
      node.join("b");
      Await.until(DEADLINE, () -> registry.find("overlay.node.running").gauge().value() == 1
          && registry.find("overlay.stream.view.size").tags("stream", "b").meters().size() == 2, () -> "the meters died with the binder");
      for (int i = 0; i < 5; i++) System.gc();
      node.publish("b", new byte[] {1});
      Await.until(DEADLINE, () -> registry.find("overlay.stream.messages.published").tags("stream", "b").functionCounter().count() == 1,
          () -> "the counter froze");
    }
  }

  @Test
  void twoNodesInOneRegistryNeedTheirOwnTagsAndCloseRemovesTheMeters() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode a = net.start(null);
      OverlayNode b = net.start(null);
      a.join("s");
      b.join("s");
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new OverlayMetrics(a).bindTo(registry);
      assertThatThrownBy(() -> new OverlayMetrics(b).bindTo(registry)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("own tags");
      SimpleMeterRegistry tagged = new SimpleMeterRegistry();
      OverlayMetrics ma = new OverlayMetrics(a, Tags.of("node", "a"));
      ma.bindTo(tagged);
      new OverlayMetrics(b, Tags.of("node", "b")).bindTo(tagged);
      assertThat(tagged.find("overlay.stream.view.size").tags("node", "a", "stream", "s").meters()).hasSize(2);
      assertThat(tagged.find("overlay.stream.view.size").tags("node", "b", "stream", "s").meters()).hasSize(2);
      ma.close();
      assertThat(tagged.getMeters()).isNotEmpty().allSatisfy(m -> assertThat(m.getId().getTag("node")).isEqualTo("b"));
    }
  }

  /** A reading while another waits for a stuck loop serves the last figures instead of waiting too. */
  @Test
  void aStuckLoopHoldsUpOneReadingNotTheOthers() throws Exception {
    io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
        io.netty.channel.epoll.Epoll.isAvailable() ? io.netty.channel.epoll.EpollIoHandler.newFactory()
            : io.netty.channel.nio.NioIoHandler.newFactory());
    java.util.concurrent.CountDownLatch stuck = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.ExecutorService readers = java.util.concurrent.Executors.newFixedThreadPool(2);
    OverlayNode node = OverlayNode.builder().identity(NodeIdentity.generate()).eventLoopGroup(group).build().start();
    try {
      node.join("a");
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new OverlayMetrics(node).bindTo(registry);
      assertThat(registry.find("overlay.node.running").gauge().value()).isEqualTo(1.0);
      group.next().execute(() -> {
        try {
          stuck.await(); // the node's loop hangs (its only thread)
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      long t0 = System.nanoTime();
      Await.until(DEADLINE, () -> System.nanoTime() - t0 > 2 * OverlayMetrics.MAX_AGE_NANOS, () -> "time passes");
      var first = readers.submit(() -> registry.find("overlay.node.running").gauge().value()); // waits for the loop
      Await.until(DEADLINE, () -> threadWaiting(readers), () -> "the first reading is not waiting");
      var second = readers.submit(() -> registry.find("overlay.stream.view.size").tags("stream", "a", "view", "passive").gauge().value());
      Await.until(DEADLINE, second::isDone, () -> "the second reading waited for the first");
      assertThat(second.get()).isEqualTo(0.0);
      assertThat(first.isDone()).isFalse();
      stuck.countDown();
      assertThat(first.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(1.0);
    } finally {
      stuck.countDown();
      readers.shutdownNow();
      node.close();
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static boolean threadWaiting(java.util.concurrent.ExecutorService pool) {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      for (StackTraceElement e : t.getStackTrace()) {
        if (e.getMethodName().equals("refreshIfStale")) return t.getState() != Thread.State.RUNNABLE;
      }
    }
    return false;
  }

  @Test
  void theNamesFollowMicrometersConventions() {
    assertThat(MeterNames.dotted("graftsSent")).isEqualTo("grafts.sent");
    assertThat(MeterNames.dotted("missingNow")).isEqualTo("missing.now");
    assertThat(MeterNames.dotted("delivered")).isEqualTo("delivered");
  }

  /**
   * Micrometer is an optional dependency: an application without it must be able to load every
   * class it can reach. So no class outside dev.overlay.metrics may name a Micrometer type.
   */
  @Test
  void onlyTheMetricsPackageNamesMicrometer() throws IOException {
    Path classes = Paths.get("target/classes/dev/overlay");
    List<String> offenders = new ArrayList<>();
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
        if (f.startsWith(classes.resolve("metrics"))) continue;
        if (new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains("io/micrometer")) offenders.add(f.toString());
      }
    }
    assertThat(offenders).isEmpty();
    assertThat(classes.resolve("metrics/OverlayMetrics.class")).exists();
  }

  private static double delivered(SimpleMeterRegistry registry, String stream) {
    FunctionCounter c = registry.find("overlay.stream.messages.delivered").tags("stream", stream).functionCounter();
    return c == null ? -1 : c.count();
  }
}
