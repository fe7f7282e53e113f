package dev.overlay.bench;

import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import dev.overlay.Subscription;
import dev.overlay.core.PublishResult;
import dev.overlay.identity.NodeIdentity;
import dev.overlay.transport.TransportConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.OpenSsl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * A network of real nodes in one process on 127.0.0.1, over TCP and TLS: one publishes at a
 * fixed rate, the others subscribe and measure. Shared by the {@code demo} command and the
 * benchmarks.
 */
final class DemoNetwork implements AutoCloseable {

  static final String STREAM = "demo/telemetry";

  /** What one run measured. */
  record Result(int nodes, double rate, int size, double durationS, long published, long refused, double completenessMin,
      long delivered, double latencyMsP50, double latencyMsP99, double latencyMsMax, double duplicatesPerDelivery,
      double deliveredPerS, long lagged, List<Double> completeness, String transport, Map<String, Long> protocol,
      double wireBytesPerDelivery, double cpuSecondsPer1000, double peakHeapMb) {}

  /** One subscriber's tally; its handler runs on one thread at a time. */
  static final class Tally {
    final Histogram latencyMicros = new Histogram(60_000_000L, 3);
    final AtomicLong delivered = new AtomicLong();
    volatile long lagged;
  }

  private final EventLoopGroup group;
  private final ExecutorService delivery;
  private final List<OverlayNode> nodes = new ArrayList<>();
  private final dev.overlay.tracker.TrackerServer tracker;
  private final List<Tally> tallies = new ArrayList<>();
  private final List<Subscription> subscriptions = new ArrayList<>();
  private volatile boolean measuring;

  /**
   * Starts a tracker on 127.0.0.1 and {@code count} nodes that find each other through it; node
   * 1 publishes, every other node subscribes (node 0 too).
   */
  DemoNetwork(int count, int loopThreads, int deliveryThreads, boolean handlersOnLoop, TransportConfig transport)
      throws Exception {
    this(count, loopThreads, deliveryThreads, handlersOnLoop, transport, dev.overlay.node.NodeConfig.defaults());
  }

  DemoNetwork(int count, int loopThreads, int deliveryThreads, boolean handlersOnLoop, TransportConfig transport,
      dev.overlay.node.NodeConfig config) throws Exception {
    boolean epoll = Epoll.isAvailable();
    group = new MultiThreadIoEventLoopGroup(loopThreads, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    delivery = Executors.newFixedThreadPool(deliveryThreads, r -> {
      Thread t = new Thread(r, "demo-delivery");
      t.setDaemon(true);
      return t;
    });
    tracker = new dev.overlay.tracker.TrackerServer(dev.overlay.tracker.TrackerConfig.defaults(), NodeIdentity.generate(), transport)
        .start(new java.net.InetSocketAddress("127.0.0.1", 0), null, -1);
    String trackerAddress = "127.0.0.1:" + tracker.address().getPort();
    for (int i = 0; i < count; i++) {
      OverlayNode n = OverlayNode.builder().identity(NodeIdentity.generate()).eventLoopGroup(group)
          .deliveryExecutor(delivery).transport(transport).config(config).trackers(trackerAddress).build().start();
      nodes.add(n);
    }
    for (int i = 0; i < count; i++) {
      if (i == 1) {
        nodes.get(i).join(STREAM);
        tallies.add(null);
        continue;
      }
      Tally t = new Tally();
      tallies.add(t);
      // The handler only records a number: cheap enough to run on the node's loop (see ON_NODE_LOOP).
      subscriptions.add(nodes.get(i).subscribe(STREAM, new dev.overlay.MessageHandler() {
        @Override
        public void onMessage(dev.overlay.core.Message.Data m) {
          byte[] p = m.payload();
          if (!measuring || p.length < 16 || p[15] != 1) return; // warm-up traffic
          long sent = readLong(p, 0);
          t.latencyMicros.recordValue(Math.max(0, (System.nanoTime() - sent) / 1000));
          t.delivered.incrementAndGet();
        }

        @Override
        public void onLagged(long missed) {
          t.lagged += missed;
        }
      }, handlersOnLoop ? OverlayNode.ON_NODE_LOOP : null));
    }
    for (OverlayNode n : nodes) {
      if (!n.awaitNeighbors(STREAM, 1, Duration.ofSeconds(20))) {
        throw new IllegalStateException("node " + n.peerId() + " found no neighbour in 20 s");
      }
    }
    awaitSettledViews();
  }

  /**
   * After a mass join the nodes keep filling their active views from their passive ones for a
   * few seconds; every new link is a new eager path until duplicates prune it. Measuring starts
   * once the views have not changed for 2 s (at most 30 s), as in a network that has been up.
   */
  private void awaitSettledViews() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last = "";
    long stableSince = System.nanoTime();
    while (System.nanoTime() < deadline && System.nanoTime() - stableSince < TimeUnit.SECONDS.toNanos(2)) {
      StringBuilder views = new StringBuilder();
      for (OverlayNode n : nodes) {
        NodeSnapshot.Stream st = n.snapshot().stream(STREAM);
        views.append(st == null ? "-" : new java.util.TreeSet<>(st.active().stream().map(Object::toString).toList())).append(';');
      }
      String now = views.toString();
      if (!now.equals(last)) {
        last = now;
        stableSince = System.nanoTime();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
    }
  }

  OverlayNode publisher() {
    return nodes.get(1);
  }

  /**
   * Publishes at {@code rate} for {@code seconds}, after {@code warmupS} of warm-up traffic,
   * then waits for the deliveries to settle and reports.
   */
  Result run(double rate, int size, double seconds, double warmupS, boolean progress) throws Exception {
    if (size < 16) throw new IllegalArgumentException("--size must be at least 16 (the timestamp and sequence)");
    OverlayNode pub = publisher();
    // Warm-up: lets every tree form and prune before anything is measured.
    publishPaced(pub, Math.min(rate, 2_000), warmupS, size, false, null);
    measuring = true;
    long wireBefore = wireBytes();
    long cpuBefore = processCpuNanos();
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) pool.resetPeakUsage();
    }
    long[] dupsBefore = duplicates();
    Map<String, Long> protocolBefore = protocolCounters();
    long t0 = System.nanoTime();
    long[] published = {0};
    long[] refused = {0};
    Thread progressThread = null;
    if (progress) {
      progressThread = new Thread(() -> printProgress(t0, rate, seconds, published));
      progressThread.setDaemon(true);
      progressThread.start();
    }
    publishPaced(pub, rate, seconds, size, true, counts -> {
      published[0] = counts[0];
      refused[0] = counts[1];
    });
    double elapsed = (System.nanoTime() - t0) / 1e9;
    long expected = published[0];
    // Settle: wait until every subscriber has everything, or nothing moves for 2 s.
    long lastTotal = -1;
    long lastChange = System.nanoTime();
    while (System.nanoTime() - lastChange < TimeUnit.SECONDS.toNanos(2)) {
      long total = totalDelivered();
      if (total >= expected * (nodes.size() - 1)) break;
      if (total != lastTotal) {
        lastTotal = total;
        lastChange = System.nanoTime();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    measuring = false;
    long cpuNanos = processCpuNanos() - cpuBefore;
    long wire = wireBytes() - wireBefore;
    long peakHeap = 0;
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) peakHeap += pool.getPeakUsage().getUsed();
    }
    if (progressThread != null) progressThread.interrupt();
    double settleEnd = (System.nanoTime() - t0) / 1e9;
    long[] dupsAfter = duplicates();
    Map<String, Long> protocol = protocolCounters();
    protocol.replaceAll((k, v) -> v - protocolBefore.getOrDefault(k, 0L));

    Histogram all = new Histogram(60_000_000L, 3);
    List<Double> completeness = new ArrayList<>();
    long delivered = 0;
    long lagged = 0;
    for (Tally t : tallies) {
      if (t == null) continue;
      all.add(t.latencyMicros);
      long d = t.delivered.get();
      delivered += d;
      lagged += t.lagged;
      completeness.add(expected == 0 ? 1.0 : Math.min(1.0, (double) d / expected));
    }
    double min = completeness.stream().mapToDouble(Double::doubleValue).min().orElse(1.0);
    long dupReceipts = dupsAfter[0] - dupsBefore[0];
    long coreDelivered = dupsAfter[1] - dupsBefore[1];
    String transport = (Epoll.isAvailable() ? "epoll" : "nio") + ", " + (OpenSsl.isAvailable() ? "BoringSSL" : "JDK TLS");
    return new Result(nodes.size(), rate, size, seconds, expected, refused[0], min, delivered,
        all.getValueAtPercentile(50) / 1000.0, all.getValueAtPercentile(99) / 1000.0, all.getMaxValue() / 1000.0,
        coreDelivered == 0 ? 0 : (double) (dupReceipts - coreDelivered) / coreDelivered,
        delivered / Math.max(elapsed, settleEnd), lagged, completeness, transport, protocol,
        delivered == 0 ? 0 : (double) wire / delivered, delivered == 0 ? 0 : cpuNanos / 1e9 / (delivered / 1000.0),
        peakHeap / (1024.0 * 1024.0));
  }

  /** Frame bytes all nodes handed to their links (before TLS), data and control. */
  private long wireBytes() throws Exception {
    long sum = 0;
    for (OverlayNode n : nodes) {
      NodeSnapshot.Stream s = n.snapshot().stream(STREAM);
      if (s != null) sum += s.counters().dataOutBytes() + s.counters().controlOutBytes();
    }
    return sum;
  }

  static long processCpuNanos() {
    var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
  }

  /** Sum over nodes of (data messages received, messages delivered), from the stream counters. */
  private long[] duplicates() throws Exception {
    long in = 0;
    long delivered = 0;
    for (OverlayNode n : nodes) {
      NodeSnapshot.Stream s = n.snapshot().stream(STREAM);
      if (s == null) continue;
      in += s.counters().dataIn();
      delivered += s.counters().delivered();
    }
    return new long[] {in, delivered};
  }

  /** Protocol and transport counters summed over the nodes: grafts, prunes, shed frames and so on. */
  private Map<String, Long> protocolCounters() throws Exception {
    Map<String, Long> sum = new LinkedHashMap<>();
    for (OverlayNode n : nodes) {
      NodeSnapshot snap = n.snapshot();
      NodeSnapshot.Stream s = snap.stream(STREAM);
      if (s != null) {
        var b = s.broadcast();
        sum.merge("ihaves_sent", b.ihavesSent(), Long::sum);
        sum.merge("grafts_sent", b.graftsSent(), Long::sum);
        sum.merge("prunes_sent", b.prunesSent(), Long::sum);
        sum.merge("optimizations", b.optimizations(), Long::sum);
        sum.merge("graft_misses", b.graftMisses(), Long::sum);
        sum.merge("stalls", b.stalls(), Long::sum);
      }
      for (String k : List.of("frames_shed", "slow_peer_disconnects", "slow_peer_demotions", "backpressure_pauses", "backpressure_paused_ms", "backpressure_forced_resumes", "frames_dropped")) {
        sum.merge(k, snap.counters().getOrDefault(k, 0L), Long::sum);
      }
    }
    return sum;
  }

  private long totalDelivered() {
    long sum = 0;
    for (Tally t : tallies) {
      if (t != null) sum += t.delivered.get();
    }
    return sum;
  }

  /**
   * Publishes {@code rate} messages a second for {@code seconds}. The thread wakes about every
   * half millisecond and publishes whatever has come due, as a gateway batching its sensors
   * would; spinning for exact spacing would take a whole core of this 2-core machine from the
   * nodes. Each message carries the time it was actually handed to {@code publish}.
   */
  private static void publishPaced(OverlayNode pub, double rate, double seconds, int size, boolean measured,
      java.util.function.Consumer<long[]> done) {
    long total = (long) Math.floor(rate * seconds);
    long start = System.nanoTime();
    double interval = 1e9 / rate;
    long refused = 0;
    List<java.util.concurrent.CompletableFuture<PublishResult>> last = new ArrayList<>();
    long k = 0;
    while (k < total) {
      long due = Math.min(total, (long) ((System.nanoTime() - start) / interval) + 1);
      for (; k < due; k++) {
        byte[] payload = new byte[size];
        writeLong(payload, 0, System.nanoTime());
        writeLong(payload, 8, k);
        payload[15] = (byte) (measured ? 1 : 0);
        var f = pub.publish(STREAM, payload);
        if (f.isDone() && f.join().status() == PublishResult.Status.QUEUE_FULL) refused++;
        if (k >= total - 100) last.add(f);
      }
      if (k >= total) break;
      long next = start + (long) (k * interval);
      long wait = next - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(Math.max(wait, 500_000) - 60_000); // park overshoots by ~60 µs
    }
    for (var f : last) f.join();
    if (done != null) done.accept(new long[] {total - refused, refused});
  }

  private void printProgress(long t0, double rate, double seconds, long[] published) {
    boolean tty = System.console() != null;
    try {
      while (!Thread.currentThread().isInterrupted()) {
        Thread.sleep(1000);
        double t = (System.nanoTime() - t0) / 1e9;
        long delivered = totalDelivered();
        long expectedSoFar = (long) Math.min(rate * Math.min(t, seconds), rate * seconds) * (nodes.size() - 1);
        Histogram h = new Histogram(60_000_000L, 3);
        for (Tally tally : tallies) {
          if (tally != null) h.add(tally.latencyMicros);
        }
        String line = String.format(Locale.ROOT, "  %5.1f s  delivered %,12d of ~%,12d (%5.1f %%)  p50 %.2f ms  p99 %.2f ms",
            t, delivered, expectedSoFar, expectedSoFar == 0 ? 100.0 : 100.0 * delivered / expectedSoFar,
            h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0);
        if (tty) System.out.print("\r" + line);
        else System.out.println(line);
      }
    } catch (InterruptedException e) {
      if (tty) System.out.println();
    } catch (RuntimeException e) {
      // progress is best effort: a histogram read racing a write must not stop the run
    }
  }

  @Override
  public void close() {
    for (Subscription s : subscriptions) s.close();
    for (OverlayNode n : nodes) {
      try {
        n.close();
      } catch (Exception e) {
        // closing the rest matters more
      }
    }
    try {
      tracker.close(); // last, so that no node looks for another tracker meanwhile
    } catch (Exception e) {
      // shutting down anyway
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    delivery.shutdownNow();
  }

  static long readLong(byte[] b, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (b[off + i] & 0xFF);
    return v;
  }

  static void writeLong(byte[] b, int off, long v) {
    for (int i = 7; i >= 0; i--) {
      b[off + i] = (byte) v;
      v >>>= 8;
    }
  }
}
