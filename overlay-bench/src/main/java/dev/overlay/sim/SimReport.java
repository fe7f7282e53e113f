package dev.overlay.sim;

import dev.overlay.report.Json;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of one simulated scenario. The top-level figures are steady-state: reliability,
 * LDH, latency and RDP count messages from {@code steadyReliabilityFrom} (20th) on; RMR,
 * duplicates and control traffic from {@code steadyRmrFrom} (100th) on. {@link #whole()}
 * repeats them over every message; {@link #afterCrash()} covers messages published
 * {@code afterCrashMs} or more after a crash.
 */
public final class SimReport {

  /**
   * For plots: {@code latencyQuantilesMs[i]} is the (i/200)-quantile of delivery latency over
   * the steady window; per message, its publish time, reliability, RMR and last-delivery hops.
   */
  public record Series(double[] latencyQuantilesMs, double[] publishMs, double[] reliability, double[] rmr, int[] ldh) {}

  private Series series;
  private WindowStats afterHeal;

  void afterHeal(WindowStats w) {
    afterHeal = w;
  }

  private WindowStats duringCutSameSide;

  /** Active-view degrees as the run ended: in-degree max and p99 (hotspots), mean view size. */
  public record Degrees(int inMax, double inP99, double activeMean) {}

  private List<WindowStats> overTime = List.of();
  private long overTimeWindowMs;
  private Degrees degrees;

  void overTime(List<WindowStats> windows, long windowMs) {
    overTime = List.copyOf(windows);
    overTimeWindowMs = windowMs;
  }

  void degrees(Degrees d) {
    degrees = d;
  }

  /** The run in windows of publish time, oldest first (as "over_time" in the JSON). */
  public List<WindowStats> overTime() {
    return overTime;
  }

  public long overTimeWindowMs() {
    return overTimeWindowMs;
  }

  public Degrees degrees() {
    return degrees;
  }

  void duringCutSameSide(WindowStats w) {
    duringCutSameSide = w;
  }

  /** Null without a partition: the messages published during it, as delivered on their publisher's own side. */
  public WindowStats duringCutSameSide() {
    return duringCutSameSide;
  }

  /** Null when the scenario had no partition: the messages published {@code afterHealMs} or more after it ended. */
  public WindowStats afterHeal() {
    return afterHeal;
  }

  void series(Series s) {
    this.series = s;
  }

  /** The latency model's name, as "latency_model" in the JSON. */
  public String latencyModel() {
    return latencyModel;
  }

  public SimConfig config() {
    return config;
  }

  /** Per-message figures and the latency distribution of the run. */
  public Series series() {
    return series;
  }

  private final SimConfig config;
  private final String latencyModel;
  private final WindowStats steadyReliability;
  private final WindowStats steadyRmr;
  private final WindowStats whole;
  private final WindowStats afterCrash;
  private final double optLatencyMsP99;
  private final double joinMsP50;
  private final double joinMsP99;
  private final double joinMsMax;
  private final long events;
  private final double virtualMs;
  private final double publishStartMs;
  private final int crashed;
  private final int churnCrashes;
  private final long introductionRequests;
  private final Map<String, Long> drops;
  private final Map<String, Long> nodeEvents;
  private final List<String> violations;

  SimReport(SimConfig config, String latencyModel, WindowStats steadyReliability, WindowStats steadyRmr,
      WindowStats whole, WindowStats afterCrash, double optLatencyMsP99, double joinMsP50, double joinMsP99,
      double joinMsMax, long events, double virtualMs, double publishStartMs, int crashed, int churnCrashes,
      long introductionRequests, Map<String, Long> drops, Map<String, Long> nodeEvents, List<String> violations) {
    this.config = config;
    this.latencyModel = latencyModel;
    this.steadyReliability = steadyReliability;
    this.steadyRmr = steadyRmr;
    this.whole = whole;
    this.afterCrash = afterCrash;
    this.optLatencyMsP99 = optLatencyMsP99;
    this.joinMsP50 = joinMsP50;
    this.joinMsP99 = joinMsP99;
    this.joinMsMax = joinMsMax;
    this.events = events;
    this.virtualMs = virtualMs;
    this.publishStartMs = publishStartMs;
    this.crashed = crashed;
    this.churnCrashes = churnCrashes;
    this.introductionRequests = introductionRequests;
    this.drops = drops;
    this.nodeEvents = nodeEvents;
    this.violations = List.copyOf(violations);
  }

  public double reliabilityMin() {
    return steadyReliability.reliabilityMin();
  }

  public double reliabilityMean() {
    return steadyReliability.reliabilityMean();
  }

  public double rmr() {
    return steadyRmr.rmr();
  }

  public int ldhMax() {
    return steadyReliability.ldhMax();
  }

  public double ldhMean() {
    return steadyReliability.ldhMean();
  }

  public double latencyMsP50() {
    return steadyReliability.latencyMsP50();
  }

  public double latencyMsP99() {
    return steadyReliability.latencyMsP99();
  }

  public double optLatencyMsP99() {
    return optLatencyMsP99;
  }

  public double duplicatesPerDelivery() {
    return steadyRmr.duplicatesPerDelivery();
  }

  public double controlPerDelivery() {
    return steadyRmr.controlPerDelivery();
  }

  public WindowStats whole() {
    return whole;
  }

  /** Null when the scenario had no crash. */
  public WindowStats afterCrash() {
    return afterCrash;
  }

  /** What the simulator dropped or refused, by kind (as "sim_drops" in the JSON). */
  public Map<String, Long> drops() {
    return drops;
  }

  /** The nodes' events, by phase and type (as "node_events" in the JSON). */
  public Map<String, Long> nodeEvents() {
    return nodeEvents;
  }

  public List<String> violations() {
    return violations;
  }

  public long events() {
    return events;
  }

  public double joinMsP99() {
    return joinMsP99;
  }

  /** The report as one JSON object; {@code simWallMs} is the only figure that depends on the machine. */
  public String toJson(long simWallMs) {
    Json j = Json.object()
        .put("nodes", config.nodes())
        .put("publishers", config.publishers())
        .put("messages", config.messages())
        .put("rate", config.ratePerSecond())
        .put("seed", config.seed())
        .put("latency_model", latencyModel)
        .put("tree_strategy", config.nodeConfig().broadcast().treeStrategy().name().toLowerCase(Locale.ROOT))
        .put("reliability_min", steadyReliability.reliabilityMin())
        .put("reliability_mean", steadyReliability.reliabilityMean())
        .put("rmr", steadyRmr.rmr())
        .put("ldh_max", steadyReliability.ldhMax())
        .put("ldh_mean", steadyReliability.ldhMean())
        .put("latency_ms_p50", steadyReliability.latencyMsP50())
        .put("latency_ms_p90", steadyReliability.latencyMsP90())
        .put("latency_ms_p99", steadyReliability.latencyMsP99())
        .put("latency_ms_max", steadyReliability.latencyMsMax())
        .put("opt_latency_ms_p99", optLatencyMsP99)
        .put("latency_p99_over_opt", optLatencyMsP99 == 0 ? null : steadyReliability.latencyMsP99() / optLatencyMsP99)
        .put("rdp_p50", steadyReliability.rdpP50())
        .put("rdp_p99", steadyReliability.rdpP99())
        .put("direct_latency_ms_p99", steadyReliability.directLatencyMsP99())
        .put("latency_p99_over_direct_p99", steadyReliability.latencyMsP99() / steadyReliability.directLatencyMsP99())
        .put("control_per_delivery", steadyRmr.controlPerDelivery())
        .put("duplicates_per_delivery", steadyRmr.duplicatesPerDelivery())
        .put("join_ms_p50", joinMsP50)
        .put("join_ms_p99", joinMsP99)
        .put("join_ms_max", joinMsMax)
        .put("sim_wall_ms", simWallMs)
        .put("events", events)
        .put("virtual_ms", virtualMs)
        .put("publish_start_ms", publishStartMs)
        .put("crashed_nodes", crashed)
        .put("churn_crashes", churnCrashes)
        .put("churn_resume", config.resume())
        .put("introduction_requests", introductionRequests)
        .put("invariant_violations", Json.list(violations))
        .put("windows", Json.object()
            .put("reliability_from_message", config.steadyReliabilityFrom())
            .put("rmr_from_message", config.steadyRmrFrom()))
        .put("whole_run", window(whole));
    if (degrees != null) {
      j.put("in_degree_max", degrees.inMax()).put("in_degree_p99", degrees.inP99()).put("active_view_mean", degrees.activeMean());
    }
    List<Object> windows = new java.util.ArrayList<>();
    for (WindowStats w : overTime) windows.add(window(w));
    j.put("over_time", Json.object().put("window_ms", overTimeWindowMs).put("windows", windows));
    if (afterCrash != null) {
      j.put("after_crash", window(afterCrash).put("from_ms_after_crash", config.afterCrashMs()));
    }
    if (afterHeal != null) {
      j.put("after_heal", window(afterHeal).put("from_ms_after_heal", config.afterHealMs())
          .put("partition_ms", config.partitionMs()).put("partition_fraction", config.partitionFraction())
          .put("trackers_one_side", config.trackersOneSide()));
    }
    if (duringCutSameSide != null) {
      j.put("during_cut_same_side", window(duringCutSameSide));
    }
    Json d = Json.object();
    drops.forEach(d::put);
    j.put("sim_drops", d);
    Json e = Json.object();
    nodeEvents.forEach(e::put);
    j.put("node_events", e);
    return j.toString();
  }

  private static Json window(WindowStats w) {
    return Json.object()
        .put("messages", w.messages())
        .put("reliability_min", w.reliabilityMin())
        .put("reliability_mean", w.reliabilityMean())
        .put("rmr", w.rmr())
        .put("ldh_max", w.ldhMax())
        .put("ldh_mean", w.ldhMean())
        .put("latency_ms_p50", w.latencyMsP50())
        .put("latency_ms_p90", w.latencyMsP90())
        .put("latency_ms_p99", w.latencyMsP99())
        .put("latency_ms_max", w.latencyMsMax())
        .put("rdp_p50", w.rdpP50())
        .put("rdp_p99", w.rdpP99())
        .put("direct_latency_ms_p99", w.directLatencyMsP99())
        .put("control_per_delivery", w.controlPerDelivery())
        .put("duplicates_per_delivery", w.duplicatesPerDelivery())
        .put("deliveries", w.deliveries());
  }

  /** A few readable lines. */
  public String summary(long simWallMs) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "Simulated %,d nodes, %d publisher(s), %,d messages at %s/s, latency %s, %s trees, seed %d%n",
        config.nodes(), config.publishers(), config.messages(), fmt(config.ratePerSecond()), latencyModel,
        config.nodeConfig().broadcast().treeStrategy().name().toLowerCase(Locale.ROOT), config.seed()));
    sb.append(String.format(Locale.ROOT, "  joins       p50 %.0f ms, p99 %.0f ms; publishing began at %.1f s%n",
        joinMsP50, joinMsP99, publishStartMs / 1000));
    sb.append(String.format(Locale.ROOT, "  reliability min %.4f, mean %.4f   (messages %d on)%n",
        steadyReliability.reliabilityMin(), steadyReliability.reliabilityMean(), config.steadyReliabilityFrom()));
    sb.append(String.format(Locale.ROOT, "  latency     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; optimum p99 %.1f ms (ratio %.2f)%n",
        steadyReliability.latencyMsP50(), steadyReliability.latencyMsP90(), steadyReliability.latencyMsP99(),
        steadyReliability.latencyMsMax(), optLatencyMsP99,
        optLatencyMsP99 == 0 ? Double.NaN : steadyReliability.latencyMsP99() / optLatencyMsP99));
    sb.append(String.format(Locale.ROOT, "  hops        LDH max %d, mean %.1f; RDP p50 %.2f, p99 %.2f%n",
        steadyReliability.ldhMax(), steadyReliability.ldhMean(), steadyReliability.rdpP50(), steadyReliability.rdpP99()));
    sb.append(String.format(Locale.ROOT, "  paths       direct p99 %.1f ms, latency p99 / direct p99 %.2f%s%n",
        steadyReliability.directLatencyMsP99(), steadyReliability.latencyMsP99() / steadyReliability.directLatencyMsP99(),
        degrees == null ? "" : String.format(Locale.ROOT, "; in-degree max %d, p99 %.0f; active view mean %.2f",
            degrees.inMax(), degrees.inP99(), degrees.activeMean())));
    if (overTime.size() > 1) {
      WindowStats last = overTime.get(overTime.size() - 1);
      sb.append(String.format(Locale.ROOT, "  last %ds    RDP p50 %.2f, p99 %.2f; latency p99 %.1f ms%n", overTimeWindowMs / 1000,
          last.rdpP50(), last.rdpP99(), last.latencyMsP99()));
    }
    sb.append(String.format(Locale.ROOT, "  redundancy  RMR %.4f, duplicates/delivery %.4f, control/delivery %.3f   (messages %d on)%n",
        steadyRmr.rmr(), steadyRmr.duplicatesPerDelivery(), steadyRmr.controlPerDelivery(), config.steadyRmrFrom()));
    if (afterCrash != null) {
      sb.append(String.format(Locale.ROOT, "  after crash %d nodes crashed; messages from %d s after: reliability min %.4f over %d messages%n",
          crashed, config.afterCrashMs() / 1000, afterCrash.reliabilityMin(), afterCrash.messages()));
    }
    if (afterHeal != null) {
      sb.append(String.format(Locale.ROOT, "  after heal  a %.0f s cut of %.0f %% of the nodes; messages from %d s after: reliability min %.4f over %d messages%n",
          config.partitionMs() / 1000.0, 100 * config.partitionFraction(), config.afterHealMs() / 1000, afterHeal.reliabilityMin(),
          afterHeal.messages()));
    }
    if (duringCutSameSide != null) {
      sb.append(String.format(Locale.ROOT, "  during cut  on the publisher's side: reliability min %.4f over %d messages%n",
          duringCutSameSide.reliabilityMin(), duringCutSameSide.messages()));
    }
    sb.append(String.format(Locale.ROOT, "  invariants  %s%n", violations.isEmpty() ? "all hold" : violations.size() + " violated: " + violations.get(0)));
    sb.append(String.format(Locale.ROOT, "  engine      %,d events, %.1f virtual s, %,d ms wall%n", events, virtualMs / 1000, simWallMs));
    return sb.toString();
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
