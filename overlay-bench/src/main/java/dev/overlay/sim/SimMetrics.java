package dev.overlay.sim;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PublishResult;
import dev.overlay.protocol.Message;
import dev.overlay.stream.StreamState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the simulator observes: every publish, payload send and receipt, delivery and control
 * message; and, at the end, the figures of {@link SimReport}.
 *
 * <p>Definitions (Plumtree paper, as restated by iroh-gossip):
 * <ul>
 *   <li>reliability of a message: the fraction of expected subscribers that delivered it. A
 *       subscriber is expected when it is alive at the end and its current incarnation had a
 *       neighbour when the message was published (with {@code resume}: any incarnation of it
 *       had, so what it missed while down counts).</li>
 *   <li>RMR = payload messages sent / (nodes reached − 1) − 1, the publisher counting as reached;
 *       summed over the messages of a window.</li>
 *   <li>LDH: the hop count of a message's last delivery.</li>
 *   <li>RDP: a delivery's latency over the direct publisher→subscriber link latency.</li>
 * </ul>
 */
final class SimMetrics {

  private static final class PublisherTrack {
    long session;
    long lastSeq;
    int[] seqToMessage = new int[64];
  }

  private final Simulation sim;
  private final SimConfig config;
  private final int messages;
  private final int[] msgPublisher;
  private final long[] msgPublishTime;
  private final boolean[] msgPublished;
  private final long[] dataSent;
  private final long[] dataReceived;
  private final int[] deliveries;
  private final long[] lastDelivery;
  private final int[] lastHops;
  private final BitSet[] deliveredBy;
  private final Map<PeerId, PublisherTrack> publishers = new HashMap<>();
  /** The publisher {@link #indexOf} looked up last, and its track: the same instance is most messages'. */
  private PeerId lastPublisher;
  private PublisherTrack lastTrack;

  private final IntArray logMessage = new IntArray();
  private final IntArray logNode = new IntArray();
  private final IntArray logLatencyMicros = new IntArray();
  private final IntArray joinTimesMicros = new IntArray();

  private long controlSentTotal;
  private final long[] controlSentSince; // per window start index below
  private final long[] windowStartTimes;

  long noLinkDrops;
  long staleDrops;
  /** The service-time model: publishes refused while backpressured, and pauses begun. */
  long publishesRefused;
  long backpressurePauses;
  long slowPeerDemotions;
  long forcedResumes;
  /** Deliveries by resumed incarnations (ordered: joined from a position) below a number they had delivered already. */
  long outOfOrder;
  long lossDrops;
  long partitionDrops;
  long introductionsCutOff;
  long introductionRequests;
  private long doubleDeliveries;
  private long unknownDeliveries;
  private final List<String> accountingErrors = new ArrayList<>();
  /**
   * Events counted by (phase, kind), the kind being the event's type plus its drop reason or
   * graft kind: keys made once per kind, not a string built per event (that was 9 % of a
   * 10,000-node run). Named in {@link #report}.
   */
  private final Map<Object, long[]> eventCounts = new HashMap<>();

  SimMetrics(Simulation sim, SimConfig config) {
    this.sim = sim;
    this.config = config;
    this.messages = config.messages();
    msgPublisher = new int[messages];
    msgPublishTime = new long[messages];
    msgPublished = new boolean[messages];
    dataSent = new long[messages];
    dataReceived = new long[messages];
    deliveries = new int[messages];
    lastDelivery = new long[messages];
    lastHops = new int[messages];
    deliveredBy = new BitSet[messages];
    windowStartTimes = new long[3];
    controlSentSince = new long[3];
  }

  // ---- Observations -----------------------------------------------------------------------

  /** Called just before the publisher's core handles the publish, so its sends can be attributed. */
  void beforePublish(int msg, SimNode publisher, long now) {
    if (msg == 0) {
      windowStartTimes[0] = now; // whole run
      windowStartTimes[1] = sim.publishStart() + (long) ((config.steadyReliabilityFrom() - 1) * 1e9 / config.ratePerSecond());
      windowStartTimes[2] = sim.publishStart() + (long) ((config.steadyRmrFrom() - 1) * 1e9 / config.ratePerSecond());
    }
    msgPublisher[msg] = publisher.index;
    msgPublishTime[msg] = now;
    StreamState s = publisher.core.stream(sim.streamOf(publisher.index));
    if (s == null) return;
    PublisherTrack t = publishers.computeIfAbsent(publisher.id, k -> new PublisherTrack());
    if (t.session != s.session()) {
      t.session = s.session();
      t.lastSeq = 0;
    }
    long seq = ++t.lastSeq;
    if (seq >= t.seqToMessage.length) t.seqToMessage = Arrays.copyOf(t.seqToMessage, (int) seq * 2);
    t.seqToMessage[(int) seq] = msg + 1; // 0 means unknown
    msgPublished[msg] = true;
    deliveredBy[msg] = new BitSet(config.nodes());
  }

  void onPublished(SimNode node, PublishResult result, long now) {
    PublisherTrack t = publishers.get(node.id);
    if (result.status() == PublishResult.Status.SENT || result.status() == PublishResult.Status.NO_PEERS) {
      if (t == null || t.lastSeq != result.seq() || t.session != result.session()) {
        accountingErrors.add("publish by " + node + " got seq " + result.seq() + ", expected " + (t == null ? "?" : t.lastSeq));
      }
    }
  }

  void onSend(SimNode from, Message m, long now) {
    if (m instanceof Message.Data d) {
      int idx = indexOf(d);
      if (idx >= 0) dataSent[idx]++;
      return;
    }
    controlSentTotal++;
    for (int w = 0; w < windowStartTimes.length; w++) {
      if (windowStartTimes[w] > 0 && now >= windowStartTimes[w]) controlSentSince[w]++;
    }
  }

  void onReceive(SimNode to, Message m) {
    if (m instanceof Message.Data d) {
      int idx = indexOf(d);
      if (idx >= 0) dataReceived[idx]++;
    }
  }

  /**
   * From when a node is expected to deliver: its current incarnation's readiness, or, when
   * churned nodes resume, its first one's (what it missed while down counts too).
   */
  private long readyAt(SimNode n) {
    return config.resume() ? n.firstReadyAt : n.readyAt;
  }

  void onDeliver(SimNode node, Message.Data d, long now) {
    int idx = indexOf(d);
    if (idx < 0) {
      unknownDeliveries++;
      return;
    }
    if (deliveredBy[idx].get(node.index)) {
      if (node.restarts == 0) doubleDeliveries++;
    } else {
      deliveredBy[idx].set(node.index);
    }
    deliveries[idx]++;
    long latency = now - msgPublishTime[idx];
    logMessage.add(idx);
    logNode.add(node.index);
    logLatencyMicros.add((int) Math.min(Integer.MAX_VALUE, latency / 1000));
    if (now >= lastDelivery[idx]) {
      lastHops[idx] = now == lastDelivery[idx] ? Math.max(lastHops[idx], d.hops()) : d.hops();
      lastDelivery[idx] = now;
    }
  }

  void onJoined(SimNode node, long joinTimeNanos) {
    joinTimesMicros.add((int) Math.min(Integer.MAX_VALUE, joinTimeNanos / 1000));
  }

  void onEvent(OverlayEvent event, long now) {
    Object kind = event.getClass();
    if (event instanceof OverlayEvent.Dropped d) kind = d.reason();
    if (event instanceof OverlayEvent.Grafted g) kind = g.optimisation();
    EventKind key = new EventKind(now < sim.publishStart(), kind);
    long[] n = eventCounts.get(key);
    if (n == null) eventCounts.put(key, n = new long[1]);
    n[0]++;
  }

  private record EventKind(boolean joining, Object kind) {
    String name() {
      String type = kind instanceof OverlayEvent.DropReason r ? "Dropped." + r
          : kind instanceof Boolean optimisation ? (optimisation ? "Grafted.optimisation" : "Grafted.repair")
          : ((Class<?>) kind).getSimpleName();
      return (joining ? "joining." : "publishing.") + type;
    }
  }

  private int indexOf(Message.Data d) {
    PublisherTrack t = d.publisher() == lastPublisher ? lastTrack : publishers.get(d.publisher());
    if (t != null) {
      lastPublisher = d.publisher(); // messages of one publisher come in runs
      lastTrack = t;
    }
    if (t == null || t.session != d.session() || d.seq() >= t.seqToMessage.length) return -1;
    return t.seqToMessage[(int) d.seq()] - 1;
  }

  // ---- The report -------------------------------------------------------------------------

  SimReport report(List<String> invariantViolations) {
    SimNode[] nodes = sim.nodes();
    List<String> violations = new ArrayList<>(invariantViolations);
    if (doubleDeliveries > 0) violations.add(doubleDeliveries + " deliveries of a message a node had already delivered");
    if (unknownDeliveries > 0) violations.add(unknownDeliveries + " deliveries of messages nobody published");
    violations.addAll(accountingErrors);

    // Expected subscribers: members of the message's stream, alive at the end, ready (had a
    // neighbour) by publish time.
    int streamCount = config.streams();
    long[][] readyTimes = new long[streamCount][];
    for (int st = 0; st < streamCount; st++) {
      int stream = st;
      readyTimes[st] = Arrays.stream(nodes).filter(n -> n.alive && sim.streamIndexOf(n.index) == stream).mapToLong(this::readyAt).sorted().toArray();
    }
    double[] reliability = new double[messages];
    for (int k = 0; k < messages; k++) {
      if (!msgPublished[k]) {
        reliability[k] = Double.NaN;
        continue;
      }
      long t = msgPublishTime[k];
      SimNode pub = nodes[msgPublisher[k]];
      int pubStream = sim.streamIndexOf(pub.index);
      int expected = upperBound(readyTimes[pubStream], t) - (pub.alive && readyAt(pub) <= t ? 1 : 0);
      int delivered = 0;
      BitSet by = deliveredBy[k];
      for (int i = by.nextSetBit(0); i >= 0; i = by.nextSetBit(i + 1)) {
        SimNode n = nodes[i];
        if (n.alive && readyAt(n) <= t && i != pub.index && sim.streamIndexOf(i) == pubStream) delivered++;
      }
      reliability[k] = expected == 0 ? 1.0 : (double) delivered / expected;
    }

    int fromReliability = Math.min(messages, config.steadyReliabilityFrom() - 1);
    int fromRmr = Math.min(messages, config.steadyRmrFrom() - 1);
    WindowStats whole = window(0, messages, reliability, controlSentSince[0]);
    WindowStats steadyReliability = window(fromReliability, messages, reliability, controlSentSince[1]);
    WindowStats steadyRmr = window(fromRmr, messages, reliability, controlSentSince[2]);

    WindowStats afterCrash = sim.crashTime() < 0 ? null // control traffic is not counted from that instant
        : window(firstPublishedFrom(sim.crashTime() + config.afterCrashMs() * 1_000_000), messages, reliability, -1);
    WindowStats afterHeal = sim.healTime() < 0 ? null
        : window(firstPublishedFrom(sim.healTime() + config.afterHealMs() * 1_000_000), messages, reliability, -1);

    // During the cut, what the publishers' own side delivered of what they published: a loss
    // here is not the cut's (nothing had to cross it), and must not go unreported.
    WindowStats duringCut = null;
    byte[] sides = sim.cutSides();
    if (sides != null && sim.healTime() >= 0) {
      double[] sameSide = new double[messages];
      int first = messages;
      int last = messages;
      for (int k = 0; k < messages; k++) {
        if (!msgPublished[k] || msgPublishTime[k] < sim.cutTime()) continue;
        if (msgPublishTime[k] >= sim.healTime()) {
          last = k;
          break;
        }
        if (first == messages) first = k;
        long t = msgPublishTime[k];
        SimNode pub = nodes[msgPublisher[k]];
        int pubStream = sim.streamIndexOf(pub.index);
        int expected = 0;
        int got = 0;
        for (SimNode n : nodes) {
          if (!n.alive || readyAt(n) > t || n.index == pub.index || sides[n.index] != sides[pub.index]
              || sim.streamIndexOf(n.index) != pubStream) continue;
          expected++;
          if (deliveredBy[k].get(n.index)) got++;
        }
        sameSide[k] = expected == 0 ? 1.0 : (double) got / expected;
      }
      if (first < messages) duringCut = window(first, last, sameSide, -1);
    }

    double optP99 = optimalLatencyP99Millis();
    int[] joins = joinTimesMicros.toArray();
    Arrays.sort(joins);

    Map<String, Long> drops = new TreeMap<>();
    drops.put("no_link", noLinkDrops);
    drops.put("stale_link", staleDrops);
    drops.put("loss", lossDrops);
    drops.put("partition", partitionDrops);
    if (config.trackersOneSide()) drops.put("introductions_cut_off", introductionsCutOff);
    if (config.resume()) drops.put("resumed_out_of_order", outOfOrder);
    if (config.serviceModelled()) {
      drops.put("publishes_refused", publishesRefused);
      drops.put("backpressure_pauses", backpressurePauses);
      drops.put("slow_peer_demotions", slowPeerDemotions);
      drops.put("forced_resumes", forcedResumes);
    }

    SimReport report = new SimReport(config, sim.latency().describe(), steadyReliability, steadyRmr, whole, afterCrash, optP99,
        percentileMillis(joins, 0.50), percentileMillis(joins, 0.99), joins.length == 0 ? 0 : joins[joins.length - 1] / 1000.0,
        sim.events(), sim.now() / 1e6, (sim.publishStart()) / 1e6, sim.crashedForGood(), sim.churnCrashes(),
        introductionRequests, drops, eventNames(), violations);
    report.series(series(fromReliability, reliability));
    report.afterHeal(afterHeal);
    report.overTime(overTime(reliability), OVER_TIME_WINDOW_MS);
    report.degrees(degrees());
    report.duringCutSameSide(duringCut);
    return report;
  }

  /** The windows of "over_time": this long of publishing each. */
  static final long OVER_TIME_WINDOW_MS = 30_000;

  /** The run cut into windows of {@link #OVER_TIME_WINDOW_MS} of publish time: how the overlay improves. */
  private List<WindowStats> overTime(double[] reliability) {
    List<WindowStats> out = new ArrayList<>();
    long start = sim.publishStart();
    for (long t = start; ; t += OVER_TIME_WINDOW_MS * 1_000_000) {
      int from = firstPublishedFrom(t);
      if (from >= messages) break;
      int to = firstPublishedFrom(t + OVER_TIME_WINDOW_MS * 1_000_000);
      out.add(window(from, to, reliability, -1));
    }
    return out;
  }

  /**
   * Active-view degrees as the run ended, over live members: in-degree is how many views hold a
   * node (a hotspot would show as a large maximum), out-degree its own view's size.
   */
  private SimReport.Degrees degrees() {
    SimNode[] nodes = sim.nodes();
    int[] in = new int[nodes.length];
    List<Integer> outs = new ArrayList<>();
    for (SimNode n : nodes) {
      if (!n.alive || n.core == null || n.core.stream(sim.streamOf(n.index)) == null) continue;
      List<dev.overlay.core.PeerInfo> active = n.core.stream(sim.streamOf(n.index)).membership().activeView();
      outs.add(active.size());
      for (dev.overlay.core.PeerInfo p : active) {
        SimNode m = sim.node(p.id());
        if (m != null) in[m.index]++;
      }
    }
    double[] ins = new double[outs.size()];
    int c = 0;
    int max = 0;
    for (SimNode n : nodes) {
      if (!n.alive || n.core == null || n.core.stream(sim.streamOf(n.index)) == null) continue;
      ins[c++] = in[n.index];
      max = Math.max(max, in[n.index]);
    }
    double mean = outs.stream().mapToInt(Integer::intValue).average().orElse(0);
    return new SimReport.Degrees(max, c == 0 ? 0 : Select.percentiles(ins, 0.99)[0], mean);
  }

  private Map<String, Long> eventNames() {
    Map<String, Long> named = new TreeMap<>();
    eventCounts.forEach((k, n) -> named.merge(((EventKind) k).name(), n[0], Long::sum));
    return named;
  }

  /** Per-message figures and the latency distribution, for plots. */
  private SimReport.Series series(int from, double[] reliability) {
    groupLogByMessage();
    int first = logOffsetOfMessage[from];
    int last = logOffsetOfMessage[messages];
    int[] lat = java.util.Arrays.copyOfRange(groupedLatencyMicros, first, last);
    java.util.Arrays.sort(lat);
    double[] quantiles = new double[201];
    for (int i = 0; i <= 200; i++) {
      quantiles[i] = lat.length == 0 ? Double.NaN : lat[Math.min(lat.length - 1, (int) ((long) i * (lat.length - 1) / 200))] / 1000.0;
    }
    double[] publishMs = new double[messages];
    double[] rmr = new double[messages];
    int[] ldh = new int[messages];
    for (int k = 0; k < messages; k++) {
      publishMs[k] = msgPublished[k] ? msgPublishTime[k] / 1e6 : Double.NaN;
      rmr[k] = deliveries[k] == 0 ? Double.NaN : (double) dataSent[k] / deliveries[k] - 1;
      ldh[k] = lastHops[k];
    }
    return new SimReport.Series(quantiles, publishMs, reliability.clone(), rmr, ldh);
  }

  /** Figures over messages {@code from..to-1}; {@code controlSent} < 0 when it was not counted for this window. */
  /** The first message published at {@code time} or later, or {@code messages} if none. */
  private int firstPublishedFrom(long time) {
    for (int k = 0; k < messages; k++) {
      if (msgPublishTime[k] >= time) return k;
    }
    return messages;
  }

  private WindowStats window(int from, int to, double[] reliability, long controlSent) {
    double relMin = 1;
    double relSum = 0;
    int relCount = 0;
    long sent = 0;
    long received = 0;
    long delivered = 0;
    int ldhMax = 0;
    long ldhSum = 0;
    int ldhCount = 0;
    for (int k = from; k < to; k++) {
      if (!msgPublished[k]) continue;
      relMin = Math.min(relMin, reliability[k]);
      relSum += reliability[k];
      relCount++;
      sent += dataSent[k];
      received += dataReceived[k];
      delivered += deliveries[k];
      if (deliveries[k] > 0) {
        ldhMax = Math.max(ldhMax, lastHops[k]);
        ldhSum += lastHops[k];
        ldhCount++;
      }
    }
    // Latency and RDP over the deliveries of the window's messages: a suffix of the log,
    // once it is grouped by message.
    groupLogByMessage();
    int first = logOffsetOfMessage[from];
    int last = logOffsetOfMessage[to];
    double[] lat = new double[last - first];
    double[] rdp = new double[last - first];
    double[] direct = new double[last - first];
    for (int i = first; i < last; i++) {
      lat[i - first] = groupedLatencyMicros[i] / 1000.0;
      rdp[i - first] = groupedRdp[i];
      direct[i - first] = groupedDirectMicros[i] / 1000.0;
    }
    double latMax = 0;
    for (double v : lat) latMax = Math.max(latMax, v);
    double[] latP = Select.percentiles(lat, 0.50, 0.90, 0.99);
    double[] rdpP = Select.percentiles(rdp, 0.50, 0.99);
    return new WindowStats(relCount, relCount == 0 ? Double.NaN : relMin, relCount == 0 ? Double.NaN : relSum / relCount,
        delivered == 0 ? Double.NaN : (double) sent / delivered - 1, ldhMax, ldhCount == 0 ? 0 : (double) ldhSum / ldhCount,
        latP[0], latP[1], latP[2], latMax, rdpP[0], rdpP[1],
        delivered == 0 || controlSent < 0 ? Double.NaN : (double) controlSent / delivered,
        delivered == 0 ? Double.NaN : (double) (received - delivered) / delivered, delivered,
        Select.percentiles(direct, 0.99)[0]);
  }

  private int[] logOffsetOfMessage;
  private int[] groupedLatencyMicros;
  private float[] groupedRdp;
  private int[] groupedDirectMicros;

  /** Counting sort of the delivery log by message, computing each delivery's RDP on the way. */
  private void groupLogByMessage() {
    if (logOffsetOfMessage != null) return;
    int n = logMessage.size();
    logOffsetOfMessage = new int[messages + 1];
    for (int i = 0; i < n; i++) logOffsetOfMessage[logMessage.get(i) + 1]++;
    for (int k = 0; k < messages; k++) logOffsetOfMessage[k + 1] += logOffsetOfMessage[k];
    int[] fill = java.util.Arrays.copyOf(logOffsetOfMessage, messages);
    groupedLatencyMicros = new int[n];
    groupedRdp = new float[n];
    groupedDirectMicros = new int[n];
    SimNode[] nodes = sim.nodes();
    for (int i = 0; i < n; i++) {
      int k = logMessage.get(i);
      int at = fill[k]++;
      int micros = logLatencyMicros.get(i);
      groupedLatencyMicros[at] = micros;
      long direct = sim.lat(nodes[msgPublisher[k]], nodes[logNode.get(i)]);
      groupedRdp[at] = direct <= 0 ? 1f : (float) (micros * 1000.0 / direct);
      groupedDirectMicros[at] = (int) (direct / 1000);
    }
  }

  /**
   * The best any tree could do on the overlay as it ended: shortest-path latencies from each
   * publisher over the final active-view graph of live nodes, p99 over live subscribers.
   */
  private double optimalLatencyP99Millis() {
    SimNode[] nodes = sim.nodes();
    int[][] adjacency = new int[nodes.length][];
    for (SimNode n : nodes) {
      if (!n.alive || n.core == null || n.core.stream(sim.streamOf(n.index)) == null) {
        adjacency[n.index] = new int[0];
        continue;
      }
      List<dev.overlay.core.PeerInfo> active = n.core.stream(sim.streamOf(n.index)).membership().activeView();
      int[] adj = new int[active.size()];
      int c = 0;
      for (dev.overlay.core.PeerInfo p : active) {
        SimNode m = sim.node(p.id());
        if (m != null && m.alive) adj[c++] = m.index;
      }
      adjacency[n.index] = Arrays.copyOf(adj, c);
    }
    List<Double> distances = new ArrayList<>();
    boolean[] done = new boolean[config.publishers()];
    for (int k = 0; k < messages; k++) {
      if (!msgPublished[k]) continue;
      int p = msgPublisher[k];
      if (done[p] || !nodes[p].alive) continue;
      done[p] = true;
      long[] dist = dijkstra(p, adjacency);
      for (SimNode n : nodes) {
        if (n.alive && n.index != p && dist[n.index] != Long.MAX_VALUE) distances.add(dist[n.index] / 1e6);
      }
    }
    if (distances.isEmpty()) return 0;
    double[] d = distances.stream().mapToDouble(Double::doubleValue).toArray();
    return Select.percentiles(d, 0.99)[0];
  }

  private long[] dijkstra(int source, int[][] adjacency) {
    SimNode[] nodes = sim.nodes();
    long[] dist = new long[adjacency.length];
    Arrays.fill(dist, Long.MAX_VALUE);
    dist[source] = 0;
    java.util.PriorityQueue<long[]> pq = new java.util.PriorityQueue<>((x, y) -> Long.compare(x[0], y[0]));
    pq.add(new long[] {0, source});
    while (!pq.isEmpty()) {
      long[] top = pq.poll();
      int u = (int) top[1];
      if (top[0] > dist[u]) continue;
      for (int v : adjacency[u]) {
        long nd = dist[u] + sim.lat(nodes[u], nodes[v]);
        if (nd < dist[v]) {
          dist[v] = nd;
          pq.add(new long[] {nd, v});
        }
      }
    }
    return dist;
  }

  /** Nearest-rank percentile of sorted microseconds, in milliseconds. */
  private static double percentileMillis(int[] sortedMicros, double q) {
    if (sortedMicros.length == 0) return 0;
    int i = (int) Math.ceil(q * sortedMicros.length) - 1;
    return sortedMicros[Math.max(0, Math.min(sortedMicros.length - 1, i))] / 1000.0;
  }

  /** The number of entries ≤ key in a sorted array. */
  private static int upperBound(long[] sorted, long key) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

}
