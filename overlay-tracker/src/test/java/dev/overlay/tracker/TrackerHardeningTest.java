package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.testing.Await;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Trackers and their clients under misuse and attack (issue 9, section 4). */
class TrackerHardeningTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
  }

  private TrackerServer tracker(NodeIdentity id) throws Exception {
    TrackerServer t = new TrackerServer(TrackerConfig.defaults(), id, TransportConfig.defaults())
        .start(new InetSocketAddress("127.0.0.1", 0), null, 0);
    open.add(t);
    return t;
  }

  private static String at(TrackerServer t) {
    return "127.0.0.1:" + t.address().getPort();
  }

  private OverlayNode node(NodeIdentity id, String tracker, OverlayListener listener) throws Exception {
    OverlayNode.Builder b = OverlayNode.builder().identity(id).trackers(tracker).trackerHeartbeat(Duration.ofMillis(200));
    if (listener != null) b.listener(listener);
    OverlayNode n = b.build().start();
    open.add(n);
    return n;
  }

  private static int members(TrackerServer t, String stream) {
    try {
      return t.onLoop(() -> t.state().members(StreamId.of(stream)).size());
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void aNodeRestartedWithItsKeyFindsANeighbourAsFastAsANewOne() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    OverlayNode b = node(NodeIdentity.generate(), at(t), null);
    b.join("r");
    NodeIdentity key = NodeIdentity.generate();
    OverlayNode a = node(key, at(t), null);
    a.join("r");
    assertThat(a.awaitNeighbors("r", 1, DEADLINE)).isTrue();
    for (int i = 0; i < 20; i++) a.publish("r", new byte[] {1}).join(); // its counters move on
    a.abort(); // kill -9: no goodbye, the tracker keeps the old registration
    open.remove(a);
    OverlayNode again = node(key, at(t), null);
    again.join("r");
    long start = System.nanoTime();
    assertThat(again.awaitNeighbors("r", 1, DEADLINE)).as("a neighbour after restarting with the same key").isTrue();
    System.out.printf("restart with the same key: first neighbour after %.0f ms%n", (System.nanoTime() - start) / 1e6);
    assertThat(t.onLoop(() -> t.state().stats().restarts())).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aTrackerThatStopsAnsweringIsDroppedAndRedialledAndTheNodeRegistersAgain() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    t.onLoop(() -> {
      t.mute(1); // the first registration gets no answer; the link stays up
      return null;
    });
    OverlayNode seed = node(NodeIdentity.generate(), at(t), null);
    seed.join("m");
    OverlayNode n = node(NodeIdentity.generate(), at(t), null);
    n.join("m");
    Await.until(DEADLINE, () -> members(t, "m") == 2, () -> "both registered, " + members(t, "m") + " so far");
    assertThat(n.awaitNeighbors("m", 1, DEADLINE)).isTrue();
  }

  @Test
  void aPinnedTrackerPresentingAnotherKeyIsRefused() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    String wrong = NodeIdentity.generate().peerId().toHex() + "@" + at(t);
    List<Object> events = Collections.synchronizedList(new ArrayList<>());
    OverlayNode n = node(NodeIdentity.generate(), wrong, new OverlayListener() {
      @Override
      public void onTransportEvent(TransportEvent e) {
        events.add(e);
      }
    });
    n.join("p");
    Await.until(DEADLINE, () -> events.stream().anyMatch(e -> e instanceof TransportEvent.ConnectionRejected r
        && r.reason().startsWith("pinned key mismatch")), () -> "a pinned-key refusal, saw " + events);
    assertThat(members(t, "p")).isZero();
    // The right pin works.
    OverlayNode ok = node(NodeIdentity.generate(), t.peerId().toHex() + "@" + at(t), null);
    ok.join("p");
    Await.until(DEADLINE, () -> members(t, "p") == 1, () -> "registered through the pinned tracker");
  }

  @Test
  void aRefusalsRetryTimeIsCapped() throws Exception {
    // A tracker that rate-limits everyone for 2^32 ms: the node asks again after the cap anyway.
    TrackerServer t = new TrackerServer(TrackerConfig.builder().requestsPerSecond(1e-9).requestBurst(1).build(),
        NodeIdentity.generate(), TransportConfig.defaults()).start(new InetSocketAddress("127.0.0.1", 0), null, 0);
    open.add(t);
    OverlayNode n = OverlayNode.builder().trackers(at(t)).trackerMaxRetryAfter(Duration.ofMillis(300)).build().start();
    open.add(n);
    n.join("q");
    Await.until(DEADLINE, () -> refusedRateLimited(t) >= 3, () -> "the node kept asking, refusals: " + refusedRateLimited(t));
  }

  private static long refusedRateLimited(TrackerServer t) {
    try {
      return t.onLoop(() -> t.state().stats().refusedRateLimited());
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void metricsListenOnLoopbackByDefault() throws Exception {
    TrackerServer t = new TrackerServer(TrackerConfig.defaults(), NodeIdentity.generate(), TransportConfig.defaults())
        .start(new InetSocketAddress("0.0.0.0", 0), "127.0.0.1", 0);
    open.add(t);
    assertThat(t.httpAddress().getAddress().isLoopbackAddress()).isTrue();
  }

  @Test
  void slowlorisConnectionsToTheHttpPortAreClosedAtTheirDeadline() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    List<Socket> slow = new ArrayList<>();
    try {
      for (int i = 0; i < 40; i++) {
        Socket s = new Socket("127.0.0.1", t.httpAddress().getPort());
        s.getOutputStream().write("GET /metrics HTTP/1.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        slow.add(s);
      }
      for (Socket s : slow) {
        s.setSoTimeout((int) DEADLINE.toMillis());
        InputStream in = s.getInputStream();
        try {
          while (in.read() >= 0) {} // the tracker closes it; a trickle would not have kept it open
        } catch (java.io.IOException reset) {
          // closed hard: closed all the same
        }
      }
      assertThat(TrackerNetworkTest.get(t, "/metrics")).contains("overlay_tracker_http_closed_total{reason=\"deadline\"} 40");
    } finally {
      for (Socket s : slow) s.close();
    }
  }

  @Test
  void aClientPipeliningRequestsWithoutReadingIsClosedNotBuffered() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    try (Socket s = new Socket("127.0.0.1", t.httpAddress().getPort())) {
      s.setReceiveBufferSize(4096);
      byte[] req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
      OutputStream out = s.getOutputStream();
      try {
        for (int i = 0; i < 20_000; i++) out.write(req);
        out.flush();
      } catch (java.io.IOException closed) {
        // the tracker gave up on us while we were still writing
      }
      Await.until(DEADLINE, () -> metricLine(t, "overlay_tracker_http_closed_total{reason=\"not_reading\"} 1"),
          () -> "the pipelining client was closed");
    }
  }

  private static boolean metricLine(TrackerServer t, String line) {
    try {
      return TrackerNetworkTest.get(t, "/metrics").contains(line);
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void aConnectionThatNeverHandshakesIsClosedAndCountedByReason() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    try (Socket s = new Socket("127.0.0.1", t.address().getPort())) {
      s.setSoTimeout((int) DEADLINE.toMillis());
      try {
        while (s.getInputStream().read() >= 0) {} // silent until the handshake timeout closes it
      } catch (java.io.IOException reset) {
        // closed hard
      }
    }
    Await.until(DEADLINE, () -> metricLine(t, "overlay_tracker_connections_closed_total{reason=\"handshake_timeout\"} 1"),
        () -> "the timed-out handshake counted");
  }

  @Test
  void trackerMessagesFromAPeerThatIsNotTheStreamsTrackerAreIgnored() throws Exception {
    TrackerServer t = tracker(NodeIdentity.generate());
    OverlayNode n = node(NodeIdentity.generate(), at(t), null);
    n.join("s");
    Await.until(DEADLINE, () -> members(t, "s") == 1, () -> "registered");
    try (TrackerNetworkTest.RawClient impostor = new TrackerNetworkTest.RawClient(
        InetSocketAddress.createUnresolved("127.0.0.1", n.address().getPort()))) {
      for (int i = 0; i < 100; i++) {
        impostor.send(new Message.TrackerRefused(StreamId.of("s"), Message.RefusalReason.RATE_LIMITED, 4_000_000_000L, "go away"));
      }
      Await.until(DEADLINE, () -> counter(n, "tracker_messages_ignored") == 100, () -> "all 100 ignored");
    }
  }

  private static long counter(OverlayNode n, String name) {
    try {
      return n.snapshot().counters().getOrDefault(name, -1L);
    } catch (Exception e) {
      return -1;
    }
  }
}
