package dev.overlay.bench;

import dev.overlay.config.NodeConfig;
import dev.overlay.config.TreeStrategy;
import dev.overlay.sim.SimConfig;
import dev.overlay.sim.SimReport;
import dev.overlay.sim.Simulation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs one simulated scenario on the real protocol core and prints what happened. */
@Command(
    name = "sim",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a deterministic simulation of N nodes on one stream: they join, P publishers send M messages,",
      "faults happen as asked, and the run reports reliability, redundancy (RMR), hops (LDH), latency and invariants.",
      "The same seed gives the same JSON, apart from sim_wall_ms."
    })
final class SimCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "1000", description = "Number of nodes (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--publishers", defaultValue = "1", description = "Number of publishers (default ${DEFAULT-VALUE}).")
  int publishers;

  @Option(names = "--messages", defaultValue = "1000", description = "Messages to publish, round-robin over publishers (default ${DEFAULT-VALUE}).")
  int messages;

  @Option(names = "--rate", defaultValue = "100", description = "Publish rate, messages per virtual second (default ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--latency", defaultValue = "uniform:10-100",
      description = "Link latency model: geo, uniform:MIN-MAX or const:MS (milliseconds; default ${DEFAULT-VALUE}).")
  String latency;

  @Option(names = "--size", defaultValue = "100", description = "Payload bytes (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--trees", defaultValue = "per-publisher",
      description = "Broadcast trees: shared (one per stream) or per-publisher (default ${DEFAULT-VALUE}).")
  String trees;

  @Option(names = "--crash-fraction", defaultValue = "0", description = "Fraction of non-publishing nodes that crash at once.")
  double crashFraction;

  @Option(names = "--crash-at-ms", defaultValue = "-1",
      description = "When they crash, in virtual ms after the first publish (default: halfway through publishing,"
          + " or earlier so that 2 s of messages come 5 s or more after the crash).")
  long crashAtMs;

  @Option(names = "--churn", defaultValue = "0", description = "Crashes per virtual second during publishing; each node restarts after --churn-downtime-ms.")
  double churn;

  @Option(names = "--resume", description = "A churned node restarts after the positions it had delivered (StartAt.after) and fetches what it missed; reliability counts it from its first readiness on.")
  boolean resume;

  @Option(names = "--churn-downtime-ms", defaultValue = "2000", description = "How long a churned node stays down (default ${DEFAULT-VALUE}).")
  long churnDowntimeMs;

  @Option(names = "--partition-fraction", defaultValue = "0", description = "Fraction of nodes cut off from the rest.")
  double partitionFraction;

  @Option(names = "--partition-at-ms", defaultValue = "-1", description = "When the partition starts, in ms after the first publish (default: halfway).")
  long partitionAtMs;

  @Option(names = "--partition-ms", defaultValue = "5000", description = "How long the partition lasts (default ${DEFAULT-VALUE}).")
  long partitionMs;

  @Option(names = "--trackers-one-side", description = "During the partition, only the publishers' side reaches the introducer (trackers).")
  boolean trackersOneSide;

  @Option(names = "--after-heal-ms", defaultValue = "10000", description = "Where the after_heal window starts, after the partition ends (default ${DEFAULT-VALUE}).")
  long afterHealMs;

  @Option(names = "--reintroduction-s", description = "Override HyParView's reintroductionInterval in seconds (0: off; default 1800).")
  Long reintroductionS;

  @Option(names = "--neighbor-churn-s", description = "Override HyParView's churnInterval in seconds: how often the worst-scored neighbour is replaced (0: off; default 60).")
  Long neighborChurnS;

  @Option(names = "--churn-fraction", description = "Override HyParView's churnFraction (default 0.2).")
  Double churnFraction;

  @Option(names = "--random-share", description = "Override HyParView's churnRandomShare: replacements picked at random rather than by round trip (default 0.5).")
  Double randomShare;

  @Option(names = "--loss", defaultValue = "0", description = "Probability that any one message is lost.")
  double loss;

  @Option(names = "--ihave-flush-ms", description = "Override Plumtree's IHAVE batching interval (default 100).")
  Long ihaveFlushMs;

  @Option(names = "--prune-grace-ms", description = "Override Plumtree's prune grace period (default 500).")
  Long pruneGraceMs;

  @Option(names = "--streams", defaultValue = "1", description = "Streams; node i joins stream i mod S, publishers are spread evenly (default ${DEFAULT-VALUE}).")
  int streams;

  @Option(names = "--trackers", defaultValue = "0", description = "Introductions through this many real tracker state machines, chosen per stream by rendezvous hashing (default 0: random live members).")
  int trackers;

  @Option(names = "--tracker-crash-at-ms", defaultValue = "-1", description = "With --trackers: tracker 0 crashes at this virtual time; its streams' members move to the next tracker (default: none).")
  long trackerCrashAtMs;

  @Option(names = "--cpu-receive-us", defaultValue = "0",
      description = "Service time: each node's CPU cost per message it takes in, in microseconds; messages wait while it is busy (default 0: infinitely fast nodes).")
  double cpuReceiveUs;

  @Option(names = "--cpu-send-us", defaultValue = "0", description = "Service time: each node's CPU cost per message it sends, in microseconds (default 0).")
  double cpuSendUs;

  @Option(names = "--window", defaultValue = "0",
      description = "Backpressure, as the runtime's: a link with this many of our messages not yet handled by the peer is congested; the node then stops taking messages (but from peers it is congested towards) and refuses publishes until half drained (default 0: none).")
  int window;

  @Option(names = "--json", description = "Write the report as JSON to this file.")
  Path json;

  @Option(names = "--plot-over-time",
      description = "Also draw how paths change over the run: <prefix>-rdp.png (RDP p50 and p99) and <prefix>-latency.png (latency p50, p99 and the direct p99), per 30 s of publishing.")
  Path plotPrefix;

  @Option(names = "--quiet", description = "Print nothing but errors.")
  boolean quiet;

  @Option(names = "--no-relaunch",
      description = "From 5,000 nodes the run moves to a child JVM with the parallel collector and a pre-touched heap"
          + " (about a third faster); this keeps it in the JVM as started.")
  boolean noRelaunch;

  @Override
  public Integer call() throws Exception {
    TreeStrategy strategy = switch (trees.toLowerCase(Locale.ROOT)) {
      case "shared" -> TreeStrategy.SHARED;
      case "per-publisher", "per_publisher" -> TreeStrategy.PER_PUBLISHER;
      default -> throw new IllegalArgumentException("--trees must be shared or per-publisher, got " + trees);
    };
    var broadcast = dev.overlay.config.PlumtreeConfig.defaults().toBuilder().treeStrategy(strategy);
    if (ihaveFlushMs != null) broadcast.lazyFlushInterval(java.time.Duration.ofMillis(ihaveFlushMs));
    if (pruneGraceMs != null) broadcast.pruneGracePeriod(java.time.Duration.ofMillis(pruneGraceMs));
    var membership = dev.overlay.config.HyParViewConfig.builder();
    if (reintroductionS != null) membership.reintroductionInterval(java.time.Duration.ofSeconds(reintroductionS));
    if (neighborChurnS != null) membership.churnInterval(java.time.Duration.ofSeconds(neighborChurnS));
    if (churnFraction != null) membership.churnFraction(churnFraction);
    if (randomShare != null) membership.churnRandomShare(randomShare);
    NodeConfig nodeConfig = NodeConfig.builder().broadcast(broadcast.build()).membership(membership.build()).build();
    SimConfig config = SimConfig.builder()
        .nodes(nodes).publishers(publishers).messages(messages).rate(rate).seed(seed).latency(latency)
        .payloadBytes(size).nodeConfig(nodeConfig)
        .crashFraction(crashFraction).crashAtMs(crashAtMs)
        .churn(churn, churnDowntimeMs).resume(resume)
        .partition(partitionFraction, partitionAtMs, partitionMs)
        .trackersOneSide(trackersOneSide).afterHealMs(afterHealMs)
        .lossRate(loss)
        .streams(streams)
        .serviceTime(Math.round(cpuReceiveUs * 1_000), Math.round(cpuSendUs * 1_000))
        .backpressureWindow(window)
        .build();
    dev.overlay.sim.trackers.SimTrackers simTrackers = trackers > 0
        ? new dev.overlay.sim.trackers.SimTrackers(trackers, dev.overlay.tracker.TrackerConfig.defaults(), seed, 40_000_000L,
            trackerCrashAtMs >= 0 ? 0 : -1, trackerCrashAtMs * 1_000_000)
        : null;
    long start = System.nanoTime();
    SimReport report = simTrackers != null ? new Simulation(config, simTrackers).run() : new Simulation(config).run();
    long wallMs = (System.nanoTime() - start) / 1_000_000;
    if (!quiet) System.out.print(report.summary(wallMs));
    if (!quiet && simTrackers != null) {
      StringBuilder t = new StringBuilder("  trackers    answered");
      for (int i = 0; i < trackers; i++) t.append(' ').append(simTrackers.answered(i)).append(simTrackers.isDown(i) ? " (crashed)" : "");
      t.append("; failovers ").append(simTrackers.failovers()).append(", re-registered ").append(simTrackers.reRegistered())
          .append(", unanswered ").append(simTrackers.unanswered());
      System.out.println(t);
    }
    if (json != null) {
      Files.writeString(json, report.toJson(wallMs), StandardCharsets.UTF_8);
      if (!quiet) System.out.println("  JSON written to " + json);
    }
    if (plotPrefix != null) plotOverTime(report, plotPrefix);
    return 0;
  }

  private static void plotOverTime(SimReport report, Path prefix) throws java.io.IOException {
    java.util.List<dev.overlay.sim.WindowStats> w = report.overTime();
    double[] t = new double[w.size()];
    double[] rdp50 = new double[w.size()];
    double[] rdp99 = new double[w.size()];
    double[] lat50 = new double[w.size()];
    double[] lat99 = new double[w.size()];
    double[] direct99 = new double[w.size()];
    for (int i = 0; i < w.size(); i++) {
      t[i] = (i + 0.5) * report.overTimeWindowMs() / 1000.0;
      rdp50[i] = w.get(i).rdpP50();
      rdp99[i] = w.get(i).rdpP99();
      lat50[i] = w.get(i).latencyMsP50();
      lat99[i] = w.get(i).latencyMsP99();
      direct99[i] = w.get(i).directLatencyMsP99();
    }
    String what = String.format(Locale.ROOT, "%,d nodes, %s latencies (simulated)", report.config().nodes(), report.latencyModel());
    java.util.Map<String, double[]> rdp = new java.util.LinkedHashMap<>();
    rdp.put("RDP p50", rdp50);
    rdp.put("RDP p99 / 10", java.util.Arrays.stream(rdp99).map(v -> v / 10).toArray());
    Plots.overTime(Path.of(prefix + "-rdp.png"), "Relative delay penalty per 30 s of publishing, " + what, "RDP", t, rdp, null);
    java.util.Map<String, double[]> lat = new java.util.LinkedHashMap<>();
    lat.put("latency p50", lat50);
    lat.put("latency p99", lat99);
    lat.put("direct link p99 (the physical limit)", direct99);
    Plots.overTime(Path.of(prefix + "-latency.png"), "Delivery latency per 30 s of publishing, " + what, "ms", t, lat, null);
  }
}
