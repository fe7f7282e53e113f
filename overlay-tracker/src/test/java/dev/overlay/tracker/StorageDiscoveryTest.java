package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StartAt;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage nodes found through the tracker (issue 14, "Discovery"): a storage node registers its
 * streams with the storage flag, the tracker names it to the stream's other members, and a
 * subscriber configured with nothing but the tracker gets history since a time from it, in order.
 */
class StorageDiscoveryTest {

  private static final String STREAM = "kept";
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private final List<AutoCloseable> open = new ArrayList<>();

  @TempDir
  Path dir;

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
  }

  private OverlayNode node(String tracker, OverlayListener listener, Consumer<OverlayNode.Builder> more) throws Exception {
    OverlayNode.Builder b = OverlayNode.builder().identity(NodeIdentity.generate()).trackers(tracker)
        .trackerHeartbeat(Duration.ofMillis(500));
    if (listener != null) b.listener(listener);
    more.accept(b);
    OverlayNode n = b.build().start();
    open.add(n);
    return n;
  }

  private static long counter(OverlayNode n, String name) {
    try {
      return n.snapshot().counters().get(name);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aSubscriberThatKnowsOnlyTheTrackerGetsHistoryFromTheStorageNodeItNames() throws Exception {
    TrackerServer tracker = new TrackerServer(TrackerConfig.defaults(), NodeIdentity.generate(), TransportConfig.defaults())
        .start(new InetSocketAddress("127.0.0.1", 0), null, -1);
    open.add(tracker);
    String at = "127.0.0.1:" + tracker.address().getPort();

    OverlayNode storage = node(at, null, b -> b.storage(dir.resolve("store"), STREAM));
    OverlayNode publisher = node(at, null, b -> {});
    publisher.join(STREAM);
    assertThat(publisher.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
    Instant before = Instant.now().minusSeconds(1);
    for (int i = 1; i <= 200; i++) {
      byte[] payload = ByteBuffer.allocate(8).putLong(i).array();
      PublishResult r = publisher.publish(STREAM, payload).get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      while (r.status() == PublishResult.Status.QUEUE_FULL) {
        publisher.publishable().get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        r = publisher.publish(STREAM, payload).get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      }
    }
    TrackerNetworkTest.await(() -> counter(storage, "history_stored") == 200, "the storage node stored all 200");

    List<TransportEvent> events = new CopyOnWriteArrayList<>();
    OverlayNode subscriber = node(at, new OverlayListener() {
      @Override
      public void onTransportEvent(TransportEvent e) {
        events.add(e);
      }
    }, b -> {});
    List<Long> got = Collections.synchronizedList(new ArrayList<>());
    open.add(subscriber.subscribe(STREAM, m -> got.add(ByteBuffer.wrap(m.copyPayload()).getLong()), null, StartAt.since(before)));
    TrackerNetworkTest.await(() -> got.size() >= 200, "history since a time, from the storage node the tracker named: got "
        + got.size() + "; events " + events);
    synchronized (got) {
      assertThat(got).as("every message once, in order").hasSize(200).isSorted().doesNotHaveDuplicates();
    }
    TrackerNetworkTest.await(() -> events.stream().anyMatch(e -> e instanceof TransportEvent.HistoryReceived), "the end is reported");
    TransportEvent.HistoryReceived done = (TransportEvent.HistoryReceived) events.stream()
        .filter(e -> e instanceof TransportEvent.HistoryReceived).findFirst().orElseThrow();
    assertThat(done.storageNode()).isEqualTo(storage.peerId());
    assertThat(events).noneMatch(e -> e instanceof TransportEvent.HistoryUnavailable);
  }
}
