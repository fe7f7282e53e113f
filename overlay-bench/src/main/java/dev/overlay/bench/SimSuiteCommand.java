package dev.overlay.bench;

import dev.overlay.sim.SimConfig;
import dev.overlay.sim.SimReport;
import dev.overlay.sim.Simulation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The simulator suite: 100, 1,000 and 10,000 nodes under the geographic latency model, with
 * and without churn, plus a 50 % crash; a JSON report per run, a table, and the plots.
 */
@Command(
    name = "sim-suite",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the simulator at 100, 1,000 and 10,000 nodes (geo latencies), without and with churn (1 % of the",
      "nodes crash per second while publishing and restart 2 s later, resuming after their positions), and 1,000",
      "nodes with half of them crashing.",
      "Writes <json-dir>/sim-<N>[-churn|-crash].json and the plots into --img. Needs about 4 GiB of heap: java -Xmx6g."
    })
final class SimSuiteCommand implements Callable<Integer> {

  @Option(names = "--sizes", split = ",", defaultValue = "100,1000,10000", description = "Network sizes (default ${DEFAULT-VALUE}).")
  int[] sizes;

  @Option(names = "--messages", defaultValue = "1000", description = "Messages per run, at 100/s (default ${DEFAULT-VALUE}).")
  int messages;

  @Option(names = "--seed", defaultValue = "1", description = "Seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--json-dir", defaultValue = "bench-results", description = "Where the JSON reports go (default ${DEFAULT-VALUE}).")
  Path jsonDir;

  @Option(names = "--img", defaultValue = "docs/img", description = "Where the plots go (default ${DEFAULT-VALUE}).")
  Path img;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(jsonDir);
    Map<String, double[]> cdf = new LinkedHashMap<>();
    SimReport largest = null;
    System.out.println("run                 reliability  latency p50/p99 ms  RMR      LDH max  wall s");
    for (int n : sizes) {
      for (boolean churn : new boolean[] {false, true}) {
        SimConfig.Builder b = SimConfig.builder().nodes(n).messages(messages).rate(100).seed(seed).latency("geo");
        // Churned nodes resume after their positions (issue 14): reliability counts what they missed while down.
        if (churn) b.churn(Math.max(1, n / 100.0), 2_000).resume(true);
        String name = "sim-" + n + (churn ? "-churn" : "");
        SimReport r = run(b.build(), name);
        if (!churn) {
          cdf.put(String.format(Locale.ROOT, "%,d nodes", n), r.series().latencyQuantilesMs());
          largest = r;
        }
      }
    }
    int crashN = Math.min(1_000, sizes[sizes.length - 1]);
    SimReport crash = run(SimConfig.builder().nodes(crashN).messages(messages).rate(100).seed(seed).latency("geo")
        .crashFraction(0.5).build(), "sim-" + crashN + "-crash");

    Plots.latencyCdf(img.resolve("latency-cdf.png"), "Delivery latency, geographic model (simulated)", cdf);
    SimReport.Series s = largest.series();
    double[] t = seconds(s.publishMs(), s.publishMs());
    double[] ldh = new double[s.ldh().length];
    for (int i = 0; i < ldh.length; i++) ldh[i] = s.ldh()[i] == 0 ? Double.NaN : s.ldh()[i];
    String size = String.format(Locale.ROOT, "%,d nodes", largest.config().nodes());
    Plots.overTime(img.resolve("rmr-over-time.png"), "RMR per message while the tree converges (" + size + ")", "RMR", t,
        Map.of("RMR", s.rmr()), null);
    Plots.overTime(img.resolve("ldh-over-time.png"), "Last delivery hop per message while the tree converges (" + size + ")",
        "LDH (hops)", t, Map.of("LDH", ldh), null);
    SimReport.Series c = crash.series();
    double[] ct = seconds(c.publishMs(), c.publishMs());
    double crashAtS = crash.config().effectiveCrashAtMs() / 1000.0;
    Plots.overTime(img.resolve("reliability-after-crash.png"),
        String.format(Locale.ROOT, "Reliability per message, half of %,d nodes crashing at %.0f s", crashN, crashAtS),
        "fraction of live subscribers reached", ct, Map.of("reliability", c.reliability()), crashAtS);
    System.out.println("plots written to " + img);
    return 0;
  }

  private SimReport run(SimConfig config, String name) throws Exception {
    long start = System.nanoTime();
    SimReport r = new Simulation(config).run();
    long wallMs = (System.nanoTime() - start) / 1_000_000;
    Files.writeString(jsonDir.resolve(name + ".json"), r.toJson(wallMs), StandardCharsets.UTF_8);
    System.out.printf(Locale.ROOT, "%-19s %.4f       %6.1f / %6.1f     %.4f   %-7d  %.1f%s%n", name, r.reliabilityMin(),
        r.latencyMsP50(), r.latencyMsP99(), r.rmr(), r.ldhMax(), wallMs / 1000.0, r.violations().isEmpty() ? "" : "  VIOLATIONS");
    return r;
  }

  /** Publish times in seconds from the first publish. */
  private static double[] seconds(double[] publishMs, double[] ref) {
    double first = Double.NaN;
    for (double v : ref) {
      if (!Double.isNaN(v)) {
        first = v;
        break;
      }
    }
    double[] out = new double[publishMs.length];
    for (int i = 0; i < out.length; i++) out[i] = (publishMs[i] - first) / 1000.0;
    return out;
  }
}
