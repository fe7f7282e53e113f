package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.core.StreamId;
import dev.overlay.introduction.Rendezvous;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Trackers as separate processes, started through their main class, killed with SIGKILL.
 * Nodes run in this JVM and publish throughout.
 */
class TrackerProcessTest {

  static final Duration HEARTBEAT = Duration.ofMillis(1000);
  private final List<Process> processes = new ArrayList<>();
  /** Each tracker's STUN port, by its node port. */
  private final java.util.Map<Integer, Integer> stunPorts = new java.util.HashMap<>();
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    for (Process p : processes) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * A tracker process on the given ports; waits until /health answers. A process that exits
   * first (a port taken between freePort() and its bind, say) fails the wait at once, with its
   * output, instead of running out the deadline.
   */
  private Process startTracker(int port, int httpPort, Path identity) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    int stun = freePort(); // not the default 3478: trackers run side by side here
    stunPorts.put(port, stun);
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        TrackerMain.class.getName(), "--host", "127.0.0.1", "--port", String.valueOf(port),
        "--http-port", String.valueOf(httpPort), "--identity", identity.toString(), "--registration-ttl", "5s",
        "--stun-port", String.valueOf(stun), "--stun-alt-port", "-1");
    pb.redirectErrorStream(true);
    Path output = Files.createTempFile("tracker-" + port, ".log");
    pb.redirectOutput(output.toFile());
    Process p = pb.start();
    processes.add(p);
    TrackerNetworkTest.await(() -> health(httpPort) || !p.isAlive(), "tracker on " + port + " healthy");
    if (!p.isAlive()) {
      throw new IllegalStateException("tracker on " + port + " exited with " + p.exitValue() + ": " + Files.readString(output));
    }
    return p;
  }

  /** A tracker on fresh ports: {port, httpPort}. Tries new ports if one was taken meanwhile. */
  private int[] startTrackerOnFreePorts(Path identity, List<Process> into) throws Exception {
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      int http = freePort();
      try {
        into.add(startTracker(port, http, identity));
        return new int[] {port, http};
      } catch (IllegalStateException e) {
        last = e;
      }
    }
    throw last;
  }

  static boolean health(int httpPort) {
    try {
      return get(httpPort, "/health").equals("ok\n");
    } catch (Exception e) {
      return false;
    }
  }

  /** One client for every request (polling with a client each would reach the tracker's connection cap). */
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  static String get(int httpPort, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  static long registrations(int httpPort) {
    try {
      for (String line : get(httpPort, "/metrics").split("\n")) {
        // Prometheus' writer shows every value as a double ("6.0").
        if (line.startsWith("overlay_tracker_registrations ")) return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
      }
    } catch (Exception e) {
      // down
    }
    return -1;
  }

  @Test
  void aTrackerProcessAnswersStunOverUdpAndTcp() throws Exception {
    Path key = Files.createTempFile("tracker", ".key");
    Files.delete(key);
    int[] ports = startTrackerOnFreePorts(key, new ArrayList<>());
    java.net.InetSocketAddress stun = new java.net.InetSocketAddress("127.0.0.1", stunPorts.get(ports[0]));
    io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
        io.netty.channel.nio.NioIoHandler.newFactory());
    try (dev.overlay.nat.StunClient client = dev.overlay.nat.StunClient.udp(group, new java.net.InetSocketAddress("127.0.0.1", 0),
        dev.overlay.nat.StunClient.Timing.RFC)) {
      dev.overlay.nat.StunClient.Result r = client.binding(stun).get(60, TimeUnit.SECONDS);
      assertThat(r.reflexive()).isEqualTo(client.localAddress());
      assertThat(r.software()).as("no version disclosed").isNull();
      dev.overlay.nat.StunClient.Result tcp = dev.overlay.nat.StunClient.bindingTcp(group, stun, Duration.ofSeconds(20))
          .get(30, TimeUnit.SECONDS);
      assertThat(tcp.reflexive()).isEqualTo(tcp.local());
      // The page is made at most once a second: wait for one made after both answers.
      java.util.regex.Pattern twice = java.util.regex.Pattern.compile("overlay_tracker_stun_answered_total ([2-9]|\\d{2,})\\b");
      dev.overlay.testing.Await.until(Duration.ofSeconds(30), () -> {
        try {
          return twice.matcher(get(ports[1], "/metrics")).find();
        } catch (Exception e) {
          return false;
        }
      }, () -> "answered twice (UDP, TCP), perhaps more (a retransmission)");
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void aTrackerKilledAndRestartedLosesNoDeliveryAndNodesReRegister() throws Exception {
    Path key = Files.createTempFile("tracker", ".key");
    Files.delete(key);
    List<Process> started = new ArrayList<>();
    int[] ports = startTrackerOnFreePorts(key, started);
    int port = ports[0];
    int http = ports[1];
    Process tracker = started.get(0);
    String name = "127.0.0.1:" + port;
    List<OverlayNode> nodes = new ArrayList<>();
    List<TrackerNetworkTest.Counter> counters = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      OverlayNode n = OverlayNode.builder().identity(NodeIdentity.generate()).trackers(name).trackerHeartbeat(HEARTBEAT).build().start();
      open.add(n);
      nodes.add(n);
      TrackerNetworkTest.Counter c = new TrackerNetworkTest.Counter();
      open.add(n.subscribe("p/0", c));
      counters.add(c);
    }
    for (OverlayNode n : nodes) assertThat(n.awaitNeighbors("p/0", 1, TrackerNetworkTest.DEADLINE)).isTrue();
    TrackerNetworkTest.await(() -> registrations(http) == 6, "6 registrations");

    OverlayNode publisher = nodes.get(0);
    int published = 0;
    for (; published < 500; published++) publisher.publish("p/0", new byte[] {(byte) published}).join();
    tracker.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL: no goodbye
    assertThat(tracker.isAlive()).isFalse();
    for (; published < 1000; published++) publisher.publish("p/0", new byte[] {(byte) published}).join();

    Process again = startTracker(port, http, key);
    long restartedAt = System.nanoTime();
    for (; published < 1500; published++) publisher.publish("p/0", new byte[] {(byte) published}).join();
    TrackerNetworkTest.await(() -> registrations(http) == 6, "6 registrations at the restarted tracker");
    long reRegisterMs = (System.nanoTime() - restartedAt) / 1_000_000;
    System.out.println("nodes re-registered " + reRegisterMs + " ms after the tracker came back (heartbeat " + HEARTBEAT.toMillis() + " ms)");
    // The figure is printed, not asserted: how fast depends on this machine's load, and the
    // deadline above already proves that every node comes back. (Two heartbeats on an idle machine.)

    int total = published;
    TrackerNetworkTest.await(() -> counters.stream().skip(1).allMatch(c -> c.seqs.size() == total), "every message everywhere");
    for (TrackerNetworkTest.Counter c : counters.subList(1, counters.size())) assertThat(c.got.get()).isEqualTo(total);
    again.destroy();
  }

  @Test
  void withOneOfThreeTrackersDownNewNodesStillJoin() throws Exception {
    int[] ports = new int[3];
    int[] https = new int[3];
    List<String> names = new ArrayList<>();
    List<Process> trackers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Path key = Files.createTempFile("tracker" + i, ".key");
      Files.delete(key);
      int[] p = startTrackerOnFreePorts(key, trackers);
      ports[i] = p[0];
      https[i] = p[1];
      names.add("127.0.0.1:" + ports[i]);
    }
    // Two streams whose first tracker is the one we kill, and two others.
    List<String> streams = new ArrayList<>();
    int deadFirst = 0;
    for (int s = 0; streams.size() < 4; s++) {
      boolean dead = Rendezvous.order(names, StreamId.of("q/" + s)).get(0).equals(names.get(0));
      if (dead && deadFirst < 2) {
        streams.add("q/" + s);
        deadFirst++;
      } else if (!dead && streams.size() - deadFirst < 2) {
        streams.add("q/" + s);
      }
    }
    trackers.get(0).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    List<OverlayNode> nodes = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      OverlayNode n = OverlayNode.builder().identity(NodeIdentity.generate()).trackers(names.toArray(String[]::new))
          .trackerHeartbeat(HEARTBEAT).build().start();
      open.add(n);
      nodes.add(n);
      for (String s : streams) open.add(n.subscribe(s, m -> {}));
    }
    for (OverlayNode n : nodes) {
      for (String s : streams) assertThat(n.awaitNeighbors(s, 1, TrackerNetworkTest.DEADLINE)).as(s).isTrue();
    }
    TrackerNetworkTest.await(() -> registrations(https[1]) + registrations(https[2]) == 4L * streams.size(), "all registered at the live trackers");
  }
}
