package dev.overlay.bench;

import dev.overlay.report.Json;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An overload burst and the recovery after it: {@code pre} seconds at {@code low} times the
 * capacity, {@code burst} seconds at {@code factor} times it, then {@code post} seconds at
 * {@code low} times it again. Recovered means: from at most 2 s after the drop on, every second's
 * messages reach every subscriber and their p99 is within twice the p99 before the burst.
 */
final class BurstScenario {

  /** Seconds after the drop by which the network must be back (issue 10). */
  static final double RECOVERY_TARGET_S = 2;

  record Report(double capacity, double lowRate, double burstRate, int preS, int burstS, int postS, double preP99Ms,
      double recoveryS, boolean recovered, double completenessAfterDrop, double completenessMin, long burstOffered,
      long burstAccepted, long burstRefused, long framesShed, long slowPeerDisconnects, long grafts, List<DemoNetwork.Window> timeline,
      Map<String, Long> protocol) {}

  private BurstScenario() {}

  static List<DemoNetwork.Phase> phases(double capacity, double factor, double low, int pre, int burst, int post) {
    return List.of(new DemoNetwork.Phase(low * capacity, pre), new DemoNetwork.Phase(factor * capacity, burst),
        new DemoNetwork.Phase(low * capacity, post));
  }

  static Report run(DemoNetwork net, double capacity, double factor, double low, int pre, int burst, int post, int size,
      double warmup, boolean progress) throws Exception {
    DemoNetwork.Result r = net.run(phases(capacity, factor, low, pre, burst, post), size, warmup, progress);
    return analyse(r, capacity, factor, low, pre, burst, post);
  }

  static Report analyse(DemoNetwork.Result r, double capacity, double factor, double low, int pre, int burst, int post) {
    List<DemoNetwork.Window> timeline = r.timeline();
    int drop = pre + burst;
    // Before the burst: the median of each second's p99 (the first second is left out: the
    // network has just gone from warm-up traffic to the measured rate).
    List<Double> preP99 = new ArrayList<>();
    long burstOffered = 0;
    long burstAccepted = 0;
    double afterDrop = 1.0;
    for (DemoNetwork.Window w : timeline) {
      if (w.second() >= 1 && w.second() < pre && !Double.isNaN(w.latencyMsP99())) preP99.add(w.latencyMsP99());
      if (w.second() >= pre && w.second() < drop) {
        burstOffered += w.offered();
        burstAccepted += w.accepted();
      }
      if (w.second() >= drop) afterDrop = Math.min(afterDrop, w.completenessMin());
    }
    double base = median(preP99);
    // The first second from which every later one is complete and within twice the base p99.
    int lastBad = drop - 1;
    for (DemoNetwork.Window w : timeline) {
      if (w.second() < drop) continue;
      boolean ok = w.completenessMin() >= 1.0 && !Double.isNaN(w.latencyMsP99()) && w.latencyMsP99() <= 2 * base;
      if (!ok) lastBad = w.second();
    }
    int lastSecond = timeline.isEmpty() ? 0 : timeline.get(timeline.size() - 1).second();
    double recovery = lastBad >= lastSecond ? Double.NaN : lastBad + 1 - drop;
    boolean recovered = !Double.isNaN(recovery) && recovery <= RECOVERY_TARGET_S && afterDrop >= 1.0;
    return new Report(capacity, low * capacity, factor * capacity, pre, burst, post, base, recovery, recovered, afterDrop,
        r.completenessMin(), burstOffered, burstAccepted, burstOffered - burstAccepted, r.protocol().getOrDefault("frames_shed", 0L),
        r.protocol().getOrDefault("slow_peer_disconnects", 0L), r.protocol().getOrDefault("grafts_sent", 0L), timeline, r.protocol());
  }

  private static double median(List<Double> v) {
    if (v.isEmpty()) return Double.NaN;
    double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  static String summary(Report b) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%n%6s %10s %10s %10s %10s %10s%n", "second", "offered", "accepted", "complete", "p50 ms", "p99 ms"));
    int drop = b.preS() + b.burstS();
    for (DemoNetwork.Window w : b.timeline()) {
      String phase = w.second() < b.preS() ? "" : w.second() < drop ? "  burst" : w.second() == drop ? "  <- drop" : "";
      sb.append(String.format(Locale.ROOT, "%6d %,10d %,10d %10.4f %10.2f %10.2f%s%n", w.second(), w.offered(), w.accepted(),
          w.completenessMin(), w.latencyMsP50(), w.latencyMsP99(), phase));
    }
    sb.append(String.format(Locale.ROOT, "Burst: %,d offered at %,.0f msg/s, %,d accepted, %,d refused at the publisher (QUEUE_FULL).%n",
        b.burstOffered(), b.burstRate(), b.burstAccepted(), b.burstRefused()));
    sb.append(String.format(Locale.ROOT, "Every accepted message delivered: worst subscriber %.4f over the run, %.4f after the drop.%n",
        b.completenessMin(), b.completenessAfterDrop()));
    sb.append(String.format(Locale.ROOT, "Frames shed inside the overlay %,d; slow-peer disconnects %,d; GRAFTs %,d.%n", b.framesShed(),
        b.slowPeerDisconnects(), b.grafts()));
    sb.append("Counters: ").append(b.protocol()).append(String.format(Locale.ROOT, "%n"));
    sb.append(String.format(Locale.ROOT, "p99 before the burst %.2f ms; back within 2x and complete %s after the drop: %s (target: within %.0f s).%n",
        b.preP99Ms(), Double.isNaN(b.recoveryS()) ? "never" : String.format(Locale.ROOT, "%.0f s", b.recoveryS()),
        b.recovered() ? "RECOVERED" : "NOT RECOVERED", RECOVERY_TARGET_S));
    return sb.toString();
  }

  static Json toJson(Report b) {
    List<Json> windows = new ArrayList<>();
    for (DemoNetwork.Window w : b.timeline()) {
      windows.add(Json.object().put("second", w.second()).put("offered", w.offered()).put("accepted", w.accepted())
          .put("completeness_min", w.completenessMin()).put("latency_ms_p50", w.latencyMsP50()).put("latency_ms_p99", w.latencyMsP99()));
    }
    return Json.object().put("capacity", b.capacity()).put("low_rate", b.lowRate()).put("burst_rate", b.burstRate())
        .put("pre_s", b.preS()).put("burst_s", b.burstS()).put("post_s", b.postS()).put("pre_p99_ms", b.preP99Ms())
        .put("recovery_s", b.recoveryS()).put("recovered", b.recovered()).put("completeness_after_drop", b.completenessAfterDrop())
        .put("completeness_min", b.completenessMin()).put("burst_offered", b.burstOffered()).put("burst_accepted", b.burstAccepted())
        .put("burst_refused", b.burstRefused()).put("frames_shed", b.framesShed()).put("slow_peer_disconnects", b.slowPeerDisconnects())
        .put("grafts_sent", b.grafts()).put("protocol", protocol(b)).put("timeline", windows);
  }

  private static Json protocol(Report b) {
    Json j = Json.object();
    b.protocol().forEach(j::put);
    return j;
  }

  static Map<String, Double> figures(Report b) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("pre_p99_ms", b.preP99Ms());
    m.put("recovery_s", Double.isNaN(b.recoveryS()) ? 1e9 : b.recoveryS());
    m.put("recovered", b.recovered() ? 1.0 : 0.0);
    m.put("completeness_after_drop", b.completenessAfterDrop());
    m.put("completeness_min", b.completenessMin());
    m.put("burst_accepted_per_s", b.burstAccepted() / (double) b.burstS());
    m.put("burst_refused", (double) b.burstRefused());
    m.put("frames_shed", (double) b.framesShed());
    m.put("slow_peer_disconnects", (double) b.slowPeerDisconnects());
    m.put("grafts_sent", (double) b.grafts());
    int drop = b.preS() + b.burstS();
    for (DemoNetwork.Window w : b.timeline()) {
      if (w.second() >= drop && w.second() < drop + 4) m.put("p99_ms_drop_plus_" + (w.second() - drop), w.latencyMsP99());
    }
    return m;
  }
}
