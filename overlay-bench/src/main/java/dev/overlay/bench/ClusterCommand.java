package dev.overlay.bench;

import dev.overlay.config.TransportConfig;
import dev.overlay.report.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The loopback cluster benchmark: the demo network at a fixed rate, or ({@code --rate max}) a
 * search for the highest rate that every subscriber gets completely with p99 within a bound.
 */
@Command(
    name = "cluster",
    mixinStandardHelpOptions = true,
    description = {
      "N nodes on 127.0.0.1 over TCP and TLS 1.3 (a tracker introduces them), one publisher, the rest subscribers.",
      "--rate R runs once at R msg/s. --rate max doubles the rate from --start until a run is incomplete or its p99",
      "exceeds --max-p99-ms, then bisects; every run starts a fresh network. Prints and writes the best run and every trial."
    })
final class ClusterCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "20", description = "Nodes (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--size", defaultValue = "100", description = "Payload bytes, at least 16 (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--rate", defaultValue = "max", description = "msg/s, or max (default ${DEFAULT-VALUE}).")
  String rate;

  @Option(names = "--duration", defaultValue = "8", description = "Seconds measured per run (default ${DEFAULT-VALUE}).")
  double duration;

  @Option(names = "--warmup", defaultValue = "2", description = "Seconds of warm-up per run (default ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--start", defaultValue = "10000", description = "First rate tried by --rate max (default ${DEFAULT-VALUE}).")
  double start;

  @Option(names = "--max-p99-ms", defaultValue = "50", description = "p99 bound for --rate max (default ${DEFAULT-VALUE}).")
  double maxP99;

  @Option(names = "--bisect", defaultValue = "3", description = "Bisection steps after the doubling (default ${DEFAULT-VALUE}).")
  int bisect;

  @picocli.CommandLine.Mixin
  NodeOptions node = new NodeOptions();

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @picocli.CommandLine.Mixin
  RunOptions runs = new RunOptions();

  @Option(names = "--sweep", description = "Offered rates, comma-separated: one fresh network per rate, publishing each for"
      + " --duration; what was accepted and delivered, completeness over accepted messages, latency, repair, shedding and CPU.")
  String sweep;

  @Option(names = "--plots", description = "With --sweep: draw overload-delivered.png and overload-latency.png into this directory.")
  Path plots;



  @Override
  public Integer call() throws Exception {
    if (nodes < 3) throw new IllegalArgumentException("--nodes must be at least 3");
    List<DemoNetwork.Result> trials = new ArrayList<>();
    if (sweep != null) return sweep(trials);
    DemoNetwork.Result best;
    if (rate.equalsIgnoreCase("max")) {
      best = null;
      double good = 0;
      double bad = Double.NaN;
      for (double r = start; Double.isNaN(bad); r *= 2) {
        DemoNetwork.Result res = trial(r, trials);
        if (ok(res)) {
          good = r;
          best = res;
        } else {
          bad = r;
        }
      }
      for (int i = 0; i < bisect && good > 0; i++) {
        double mid = Math.round((good + bad) / 2 / 1000) * 1000.0;
        if (mid <= good || mid >= bad) break;
        DemoNetwork.Result res = trial(mid, trials);
        if (ok(res)) {
          good = mid;
          best = res;
        } else {
          bad = mid;
        }
      }
      System.out.printf(Locale.ROOT, "%nHighest rate with every message everywhere and p99 <= %.0f ms: %s%n", maxP99,
          best == null ? "none (even --start failed)" : String.format(Locale.ROOT, "%,.0f msg/s", best.rate()));
    } else {
      best = trial(Double.parseDouble(rate), trials);
    }
    if (best != null) System.out.print(DemoCommand.summary(best));
    if (json != null) {
      List<Json> all = new ArrayList<>();
      for (DemoNetwork.Result t : trials) all.add(DemoCommand.toJson(t));
      Json out = Json.object().put("mode", rate.equalsIgnoreCase("max") ? "max" : "fixed").put("max_p99_ms", maxP99)
          .put("best", best == null ? null : DemoCommand.toJson(best)).put("trials", all);
      Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
      System.out.println("JSON written to " + json);
    }
    if (runs.metricsOut != null) {
      Map<String, Double> figures = new LinkedHashMap<>();
      if (rate.equalsIgnoreCase("max")) figures.put("max_rate", best == null ? 0.0 : best.rate());
      if (best != null) figures.putAll(Repeats.figures(rate.equalsIgnoreCase("max") ? "best." : "", best));
      Repeats.write(runs.metricsOut, figures);
    }
    return 0;
  }

  private int sweep(List<DemoNetwork.Result> trials) throws Exception {
    for (double r : Sweep.parse(sweep)) trial(r, trials);
    Map<String, Double> figures = Sweep.figures(trials);
    Map<String, Repeats.Spread> single = Sweep.single(figures);
    System.out.print(Sweep.table(single, 1));
    if (json != null) {
      List<Json> all = new ArrayList<>();
      for (DemoNetwork.Result t : trials) all.add(DemoCommand.toJson(t));
      Files.writeString(json, Json.object().put("mode", "sweep").put("steps", all).toString(), StandardCharsets.UTF_8);
      System.out.println("JSON written to " + json);
    }
    if (plots != null) Sweep.plot(plots, single, 1);
    if (runs.metricsOut != null) Repeats.write(runs.metricsOut, figures);
    return 0;
  }

  private boolean ok(DemoNetwork.Result r) {
    return r.completenessMin() >= 1.0 && r.refused() == 0 && r.latencyMsP99() <= maxP99;
  }

  private DemoNetwork.Result trial(double r, List<DemoNetwork.Result> trials) throws Exception {
    System.out.printf(Locale.ROOT, "rate %,.0f msg/s ... ", r);
    try (DemoNetwork net = new DemoNetwork(nodes, Runtime.getRuntime().availableProcessors(), 2, true, TransportConfig.defaults(), node.config())) {
      DemoNetwork.Result res = net.run(r, size, duration, warmup, false);
      trials.add(res);
      System.out.printf(Locale.ROOT, "accepted %,.0f/s, completeness %.4f, p99 %.1f ms, %,.0f deliveries/s, grafts %,d, shed %,d%s%n",
          res.acceptedPerS(), res.completenessMin(), res.latencyMsP99(), res.deliveredPerS(),
          res.protocol().getOrDefault("grafts_sent", 0L), res.protocol().getOrDefault("frames_shed", 0L), ok(res) ? "" : "  (fails)");
      return res;
    }
  }
}
