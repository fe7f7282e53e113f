package dev.overlay.bench;

import dev.overlay.NodeIdentity;
import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import dev.overlay.Subscription;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.PublishResult;
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
import java.util.Locale;
import java.util.Map;
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
  /** Seconds without a delivery after which a run is over, whatever is missing. */
  static final long SETTLE_S = 8;

  /** What one run measured. */
  record Result(int nodes, double rate, int size, double durationS, long published, long refused, double completenessMin,
      long delivered, double latencyMsP50, double latencyMsP99, double latencyMsMax, double duplicatesPerDelivery,
      double deliveredPerS, long lagged, List<Double> completeness, String transport, Map<String, Long> protocol,
      double wireBytesPerDelivery, double cpuSecondsPer1000, double peakHeapMb, double cpuCores, double goodputPerS,
      List<Window> timeline) {

    /** Publishes offered (accepted and refused) per second over the measured run. */
    double offeredPerS() {
      return (published + refused) / durationS;
    }

    double acceptedPerS() {
      return published / durationS;
    }
  }

  /** A constant rate for a number of seconds: a run is one or more phases. */
  record Phase(double rate, double seconds) {}

  /**
   * The messages published in one second of the run: how many were offered, accepted and refused,
   * what share of the accepted ones the worst subscriber got, and their latency.
   */
  record Window(int second, long offered, long accepted, long refused, double completenessMin, double latencyMsP50,
      double latencyMsP99) {}

  /** One subscriber's tally; its handler runs on one thread at a time. */
  static final class Tally {
    final Histogram latencyMicros = new Histogram(60_000_000L, 3);
    final AtomicLong delivered = new AtomicLong();
    volatile long lagged;
    /** Per second of publishing (by the time a message was published): latency and deliveries. */
    volatile Histogram[] windows = new Histogram[0];
    volatile java.util.concurrent.atomic.AtomicLongArray windowDelivered = new java.util.concurrent.atomic.AtomicLongArray(0);
    /** The publish numbers delivered while measuring: a failure names the ones missing. */
    final java.util.BitSet numbers = new java.util.BitSet();

    synchronized void number(long k) {
      if (k >= 0 && k < Integer.MAX_VALUE) numbers.set((int) k);
    }

    void record(long sentNanos, long nowNanos, long t0) {
      long micros = Math.max(0, (nowNanos - sentNanos) / 1000);
      latencyMicros.recordValue(Math.min(micros, 60_000_000L));
      delivered.incrementAndGet();
      int w = (int) ((sentNanos - t0) / 1_000_000_000L);
      Histogram[] ws = windows;
      if (w >= 0 && w < ws.length) {
        ws[w].recordValue(Math.min(micros, 60_000_000L));
        windowDelivered.incrementAndGet(w);
      }
    }

    void reset(int seconds) {
      latencyMicros.reset();
      delivered.set(0);
      synchronized (this) {
        numbers.clear();
      }
      Histogram[] ws = new Histogram[seconds];
      for (int i = 0; i < seconds; i++) ws[i] = new Histogram(60_000_000L, 2);
      windowDelivered = new java.util.concurrent.atomic.AtomicLongArray(seconds);
      windows = ws;
    }
  }

  private final EventLoopGroup group;
  private final ExecutorService delivery;
  private final List<OverlayNode> nodes = new ArrayList<>();
  private final dev.overlay.tracker.TrackerServer tracker;
  private final List<Tally> tallies = new ArrayList<>();
  /** Per node, its events by kind, and the last few of the kinds that mean loss: what a failure needs. */
  private final List<EventLog> eventLogs = new ArrayList<>();
  /**
   * Whether nodes log their events for a failure's diagnosis. Off for benchmark figures: under
   * overload a node raises events by the thousand, and their dispatch would be measured too.
   */
  static volatile boolean logEvents;
  /** Whether this network's nodes were made with the event log (read once, when they were). */
  private final boolean eventsLogged;
  private final List<Subscription> subscriptions = new ArrayList<>();
  private volatile boolean measuring;
  /** Wall time each subscriber's handler spends per message: bounds the capacity whatever the machine. */
  private volatile long handlerCostNanos;
  /** When measured publishing began (System.nanoTime), for the per-second windows. */
  private volatile long measureStart;

  /**
   * Starts a tracker on 127.0.0.1 and {@code count} nodes that find each other through it; node
   * 1 publishes, every other node subscribes (node 0 too).
   */
  DemoNetwork(int count, int loopThreads, int deliveryThreads, boolean handlersOnLoop, TransportConfig transport)
      throws Exception {
    this(count, loopThreads, deliveryThreads, handlersOnLoop, transport, dev.overlay.config.NodeConfig.defaults());
  }

  DemoNetwork(int count, int loopThreads, int deliveryThreads, boolean handlersOnLoop, TransportConfig transport,
      dev.overlay.config.NodeConfig config) throws Exception {
    boolean epoll = Epoll.isAvailable();
    eventsLogged = logEvents;
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
      EventLog events = new EventLog();
      eventLogs.add(events);
      OverlayNode.Builder b = OverlayNode.builder().identity(NodeIdentity.generate()).eventLoopGroup(group)
          .deliveryExecutor(delivery).transport(transport).config(config).trackers(trackerAddress);
      if (eventsLogged) b.listener(events);
      OverlayNode n = b.build().start();
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
        public void onMessage(dev.overlay.StreamMessage m) {
          java.nio.ByteBuffer p = m.payload();
          long cost = handlerCostNanos;
          if (cost > 0) { // a subscriber with work to do per message (tests and the burst scenario)
            long until = System.nanoTime() + cost;
            while (System.nanoTime() < until) Thread.onSpinWait();
          }
          if (!measuring || p.remaining() < 16 || p.get(15) != 1) return; // warm-up traffic
          t.record(p.getLong(0), System.nanoTime(), measureStart);
          if (p.remaining() >= 24) t.number(p.getLong(16)); // byte 15 is the marker: the number is written again whole
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

  /** Makes every subscriber's handler take {@code nanos} of its thread per message from now on. */
  void handlerCost(long nanos) {
    handlerCostNanos = nanos;
  }

  OverlayNode publisher() {
    return nodes.get(1);
  }

  /**
   * Publishes {@code rate} messages a second for {@code seconds}, after {@code warmupS} of warm-up
   * traffic, then waits for the deliveries to settle and reports.
   */
  Result run(double rate, int size, double seconds, double warmupS, boolean progress) throws Exception {
    return run(List.of(new Phase(rate, seconds)), size, warmupS, progress);
  }

  /**
   * Publishes each phase's rate for its seconds, one after the other, after {@code warmupS} of
   * warm-up traffic, then waits for the deliveries to settle and reports. The result's rate is
   * the mean offered rate.
   */
  Result run(List<Phase> phases, int size, double warmupS, boolean progress) throws Exception {
    if (size < 16) throw new IllegalArgumentException("--size must be at least 16 (the timestamp and sequence)");
    double seconds = phases.stream().mapToDouble(Phase::seconds).sum();
    double meanRate = phases.stream().mapToDouble(ph -> ph.rate() * ph.seconds()).sum() / seconds;
    int windows = (int) Math.ceil(seconds) + 1;
    OverlayNode pub = publisher();
    // Warm-up: lets every tree form and prune before anything is measured.
    publishPaced(pub, Math.min(phases.get(0).rate(), 2_000), warmupS, size, false, 0, 0, null);
    for (Tally t : tallies) {
      if (t != null) t.reset(windows);
    }
    long wireBefore = wireBytes();
    long cpuBefore = processCpuNanos();
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) pool.resetPeakUsage();
    }
    long[] dupsBefore = duplicates();
    Map<String, Long> protocolBefore = protocolCounters();
    long t0 = System.nanoTime();
    measureStart = t0;
    measuring = true;
    Thread progressThread = null;
    Counts counts = new Counts(t0, windows);
    if (progress) {
      progressThread = new Thread(() -> printProgress(t0, counts));
      progressThread.setDaemon(true);
      progressThread.start();
    }
    long phaseStart = t0;
    long k = 0;
    for (Phase ph : phases) {
      k = publishPaced(pub, ph.rate(), ph.seconds(), size, true, k, phaseStart, counts);
      phaseStart += (long) (ph.seconds() * 1e9);
    }
    try {
      counts.awaitResults();
    } catch (RuntimeException e) {
      measuring = false;
      if (progressThread != null) progressThread.interrupt();
      throw e;
    }
    long[] offered = counts.offered();
    long[] accepted = counts.accepted();
    long published = java.util.Arrays.stream(accepted).sum();
    long refused = java.util.Arrays.stream(offered).sum() - published;
    double elapsed = (System.nanoTime() - t0) / 1e9;
    // Settle: wait until every subscriber has everything, or nothing moves for SETTLE_S (longer
    // than the longest repair wait, Lateness.MAX_NANOS, so that a late repair is still counted).
    long lastTotal = -1;
    long lastChange = System.nanoTime();
    while (System.nanoTime() - lastChange < TimeUnit.SECONDS.toNanos(SETTLE_S)) {
      long total = totalDelivered();
      if (total >= published * (nodes.size() - 1)) break;
      if (total != lastTotal) {
        lastTotal = total;
        lastChange = System.nanoTime();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    measuring = false;
    double settleEnd = (System.nanoTime() - t0) / 1e9;
    long cpuNanos = processCpuNanos() - cpuBefore;
    long wire = wireBytes() - wireBefore;
    long peakHeap = 0;
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) peakHeap += pool.getPeakUsage().getUsed();
    }
    if (progressThread != null) progressThread.interrupt();
    long[] dupsAfter = duplicates();
    Map<String, Long> protocol = protocolCounters();
    protocol.replaceAll((key, v) -> v - protocolBefore.getOrDefault(key, 0L));

    Histogram all = new Histogram(60_000_000L, 3);
    List<Double> completeness = new ArrayList<>();
    long delivered = 0;
    long lagged = 0;
    int subscribers = 0;
    for (Tally t : tallies) {
      if (t == null) continue;
      subscribers++;
      all.add(t.latencyMicros);
      long d = t.delivered.get();
      delivered += d;
      lagged += t.lagged;
      completeness.add(published == 0 ? 1.0 : Math.min(1.0, (double) d / published));
    }
    double min = completeness.stream().mapToDouble(Double::doubleValue).min().orElse(1.0);
    if (min < 1.0) diagnoseIncomplete(published, counts, size);
    long dupReceipts = dupsAfter[0] - dupsBefore[0];
    long coreDelivered = dupsAfter[1] - dupsBefore[1];
    String transport = (Epoll.isAvailable() ? "epoll" : "nio") + ", " + (OpenSsl.isAvailable() ? "BoringSSL" : "JDK TLS");
    double wall = Math.max(elapsed, settleEnd);
    return new Result(nodes.size(), meanRate, size, seconds, published, refused, min, delivered,
        all.getValueAtPercentile(50) / 1000.0, all.getValueAtPercentile(99) / 1000.0, all.getMaxValue() / 1000.0,
        coreDelivered == 0 ? 0 : (double) (dupReceipts - coreDelivered) / coreDelivered,
        delivered / wall, lagged, completeness, transport, protocol,
        delivered == 0 ? 0 : (double) wire / delivered, delivered == 0 ? 0 : cpuNanos / 1e9 / (delivered / 1000.0),
        peakHeap / (1024.0 * 1024.0), cpuNanos / 1e9 / settleEnd,
        subscribers == 0 ? 0 : delivered / (double) subscribers / wall, timeline(offered, accepted));
  }

  /** What an incomplete subscriber's broadcast state looks like, to stderr: where a lost message went. */
  private void diagnoseIncomplete(long published, Counts counts, int size) throws Exception {
    java.util.BitSet accepted;
    synchronized (counts.acceptedNumbers()) {
      accepted = (java.util.BitSet) counts.acceptedNumbers().clone();
    }
    System.err.printf(Locale.ROOT, "publish results %s; accepted numbers %s%n", counts.statuses(), ranges(accepted, 10));
    for (int i = 0; i < tallies.size(); i++) {
      Tally t = tallies.get(i);
      NodeSnapshot snap = nodes.get(i).snapshot();
      NodeSnapshot.Stream st = snap.stream(STREAM);
      if (t != null && size >= 24) { // smaller payloads carry no whole number
        java.util.BitSet missing = (java.util.BitSet) accepted.clone();
        synchronized (t) {
          missing.andNot(t.numbers);
        }
        System.err.printf(Locale.ROOT, "node %d misses %,d accepted numbers: %s%n", i, missing.cardinality(), ranges(missing, 8));
      }
      System.err.printf(Locale.ROOT, "node %d events %s; last losses %s; links %s%n", i,
          eventsLogged ? eventLogs.get(i).counts : "(not logged)", eventsLogged ? eventLogs.get(i).lastLosses() : "(not logged)",
          snap.links());
      System.err.printf(Locale.ROOT, "%s: node %d (%s) got %,d of %,d; active %s; trees %s; %s; paused %d, congested links %d, counters %s%n",
          t == null ? "publisher" : t.delivered.get() >= published ? "complete" : "INCOMPLETE", i, nodes.get(i).peerId(),
          t == null ? published : t.delivered.get(), published, st.active(), st.trees(), st.broadcast(),
          snap.counters().get("backpressure_paused_now"), snap.counters().get("links_congested_now"),
          snap.counters().entrySet().stream().filter(e -> e.getValue() > 0).toList());
    }
  }

  /** The runs of set bits, as "a-b", the first {@code max} of them and how many more. */
  private static String ranges(java.util.BitSet b, int max) {
    StringBuilder sb = new StringBuilder();
    int n = 0;
    for (int from = b.nextSetBit(0); from >= 0; n++) {
      int to = b.nextClearBit(from) - 1;
      if (n < max) sb.append(n == 0 ? "" : ", ").append(from).append('-').append(to);
      from = b.nextSetBit(to + 1);
    }
    if (n > max) sb.append(", ... ").append(n - max).append(" more");
    return sb.toString();
  }

  /** A node's events, counted by kind; the last few that mean a message may be lost are kept whole. */
  private static final class EventLog implements dev.overlay.OverlayListener {
    final Map<String, Long> counts = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final java.util.ArrayDeque<String> losses = new java.util.ArrayDeque<>();

    @Override
    public void onEvent(dev.overlay.core.OverlayEvent e) {
      String kind = e instanceof dev.overlay.core.OverlayEvent.Dropped d ? "Dropped." + d.reason() : e.getClass().getSimpleName();
      counts.merge(kind, 1L, Long::sum);
      if (e instanceof dev.overlay.core.OverlayEvent.GapAbandoned || e instanceof dev.overlay.core.OverlayEvent.GapUnrecoverable
          || e instanceof dev.overlay.core.OverlayEvent.Dropped) {
        synchronized (losses) {
          if (losses.size() == 5) losses.removeFirst();
          losses.addLast(e.toString());
        }
      }
    }

    @Override
    public void onTransportEvent(dev.overlay.TransportEvent e) {
      counts.merge(e.getClass().getSimpleName(), 1L, Long::sum);
    }

    List<String> lastLosses() {
      synchronized (losses) {
        return List.copyOf(losses);
      }
    }
  }

  /** Per second of publishing, over the messages published in it. */
  private List<Window> timeline(long[] offered, long[] accepted) {
    List<Window> out = new ArrayList<>();
    for (int w = 0; w < offered.length; w++) {
      if (offered[w] == 0) continue;
      Histogram h = new Histogram(60_000_000L, 2);
      double min = 1.0;
      for (Tally t : tallies) {
        if (t == null) continue;
        h.add(t.windows[w]);
        if (accepted[w] > 0) min = Math.min(min, (double) t.windowDelivered.get(w) / accepted[w]);
      }
      out.add(new Window(w, offered[w], accepted[w], offered[w] - accepted[w], min,
          h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(50) / 1000.0,
          h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(99) / 1000.0));
    }
    return out;
  }

  /**
   * Where publishPaced counts what it offered and what was refused, per second since {@code t0}.
   * A publish may be refused at once or when the node's loop takes it (the backlog showed
   * meanwhile): refusals are counted as the futures complete.
   */
  private record Counts(long t0, long[] offered, java.util.concurrent.atomic.AtomicLongArray refused,
      java.util.BitSet acceptedNumbers, Map<String, Long> statuses, AtomicLong pending) {
    Counts(long t0, int windows) {
      this(t0, new long[windows], new java.util.concurrent.atomic.AtomicLongArray(windows), new java.util.BitSet(),
          new java.util.concurrent.ConcurrentHashMap<>(), new AtomicLong());
    }

    /**
     * Waits until every publish counted has its result. Results do not come in order: a publish
     * refused at once (the node is backpressured) completes before earlier ones still queued for
     * the loop, which may be refused there too. Counting before they all came counted those as
     * accepted, and then as lost (the worst subscriber "missed" 19 messages that were refused).
     */
    void awaitResults() {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (pending.get() > 0) {
        if (System.nanoTime() > deadline) throw new IllegalStateException(pending.get() + " publishes without a result after 60 s");
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
    }

    /** Counts the publish; the returned stage completes once it is counted as accepted or refused. */
    java.util.concurrent.CompletableFuture<Void> count(long at, long k, java.util.concurrent.CompletableFuture<PublishResult> f) {
      int w = (int) Math.min(offered.length - 1, Math.max(0, (at - t0) / 1_000_000_000L));
      offered[w]++;
      pending.incrementAndGet();
      return f.handle((r, error) -> {
        try {
          statuses.merge(error != null ? "FAILED" : r.status().name(), 1L, Long::sum);
          if (error != null || r.seq() <= 0) {
            // Not numbered, so not accepted: QUEUE_FULL, TOO_LARGE, NOT_JOINED, or a failure.
            refused.incrementAndGet(w);
          } else {
            synchronized (acceptedNumbers) {
              acceptedNumbers.set((int) k);
            }
          }
          return null;
        } finally {
          pending.decrementAndGet();
        }
      });
    }

    long[] accepted() {
      long[] a = new long[offered.length];
      for (int w = 0; w < a.length; w++) a[w] = offered[w] - refused.get(w);
      return a;
    }
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
        sum.merge("graft_answers_refused", b.graftsRefused() + b.graftsDeferred(), Long::sum);
        sum.merge("missing_deferred", b.missingDeferred(), Long::sum);
        sum.merge("held_back", b.heldBack(), Long::sum);
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
   * Publishes {@code rate} messages a second for {@code seconds} from {@code start} (now if 0),
   * numbering them from {@code k}; returns the next number. The thread wakes about every half
   * millisecond and publishes whatever has come due, as a gateway batching its sensors would;
   * spinning for exact spacing would take a whole core of this 2-core machine from the nodes.
   * Each message carries the time it was actually handed to {@code publish}. A refused publish
   * (QUEUE_FULL: the overlay is saturated) is counted and not retried: it is load offered and
   * refused, which is what the sweep and burst figures show.
   */
  private static long publishPaced(OverlayNode pub, double rate, double seconds, int size, boolean measured, long k,
      long start, Counts counts) {
    long total = (long) Math.floor(rate * seconds);
    if (start == 0) start = System.nanoTime();
    double interval = 1e9 / rate;
    List<java.util.concurrent.CompletableFuture<?>> last = new ArrayList<>();
    long i = 0;
    while (i < total) {
      long due = Math.min(total, (long) ((System.nanoTime() - start) / interval) + 1);
      for (; i < due; i++, k++) {
        byte[] payload = new byte[size];
        long at = System.nanoTime();
        writeLong(payload, 0, at);
        writeLong(payload, 8, k);
        payload[15] = (byte) (measured ? 1 : 0);
        if (size >= 24) writeLong(payload, 16, k);
        java.util.concurrent.CompletableFuture<?> f = pub.publish(STREAM, payload);
        if (counts != null) f = counts.count(at, k, (java.util.concurrent.CompletableFuture<PublishResult>) f);
        // The warm-up ends with its last results in (results come out of order, so this is no
        // proof that every earlier one came: a counted run waits for all, Counts.awaitResults).
        if (counts == null && i >= total - 100) last.add(f);
      }
      if (i >= total) break;
      long next = start + (long) (i * interval);
      long wait = next - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(Math.max(wait, 500_000) - 60_000); // park overshoots by ~60 µs
    }
    for (var f : last) f.join();
    return k;
  }

  private void printProgress(long t0, Counts counts) {
    boolean tty = System.console() != null;
    try {
      while (!Thread.currentThread().isInterrupted()) {
        Thread.sleep(1000);
        double t = (System.nanoTime() - t0) / 1e9;
        long delivered = totalDelivered();
        long expectedSoFar = java.util.Arrays.stream(counts.accepted()).sum() * (nodes.size() - 1);
        Histogram h = new Histogram(60_000_000L, 3);
        for (Tally tally : tallies) {
          if (tally != null) h.add(tally.latencyMicros);
        }
        String line = String.format(Locale.ROOT,
            "  %5.1f s  delivered %,12d of %,12d accepted so far (%5.1f %%)  p50 %.2f ms  p99 %.2f ms",
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
