package dev.overlay.bench;

import dev.overlay.config.TransportConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The overload burst scenario (issue 10): saturate, then drop, and see how fast the network is back. */
@Command(
    name = "burst",
    mixinStandardHelpOptions = true,
    description = {
      "N nodes on 127.0.0.1 over TCP and TLS 1.3, one publisher: --pre s at --low x capacity, --burst s at --factor x capacity,",
      "then --post s at --low x capacity. Prints each second's offered, accepted, completeness and latency, and whether",
      "the network was back (every message delivered, p99 within 2x of before the burst) within 2 s of the drop."
    })
final class BurstCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "20", description = "Nodes (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--capacity", defaultValue = "40000", description = "The network's capacity in msg/s: the highest rate it carries"
      + " complete within its latency target (cluster --rate max: p99 <= 50 ms) on this kind of machine, docs/benchmarks.md"
      + " (default ${DEFAULT-VALUE}); 3x that is past the saturation peak of the sweep.")
  double capacity;

  @Option(names = "--factor", defaultValue = "3", description = "Burst rate as a multiple of the capacity (default ${DEFAULT-VALUE}).")
  double factor;

  @Option(names = "--low", defaultValue = "0.5", description = "Rate before and after the burst, as a fraction of the capacity (default ${DEFAULT-VALUE}).")
  double low;

  @Option(names = "--pre", defaultValue = "10", description = "Seconds before the burst (default ${DEFAULT-VALUE}).")
  int pre;

  @Option(names = "--burst", defaultValue = "10", description = "Seconds of burst (default ${DEFAULT-VALUE}).")
  int burst;

  @Option(names = "--post", defaultValue = "10", description = "Seconds after the drop (default ${DEFAULT-VALUE}).")
  int post;

  @Option(names = "--size", defaultValue = "100", description = "Payload bytes, at least 16 (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--warmup", defaultValue = "2", description = "Seconds of warm-up first (default ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--handler-cost-us", defaultValue = "0", description = "Microseconds each subscriber's handler spends per"
      + " message (to bound the capacity whatever the machine; default ${DEFAULT-VALUE}).")
  long handlerCostMicros;

  @picocli.CommandLine.Mixin
  NodeOptions node = new NodeOptions();

  @Option(names = "--json", description = "Write the report as JSON to this file.")
  Path json;

  @picocli.CommandLine.Mixin
  RunOptions runs = new RunOptions();



  @Override
  public Integer call() throws Exception {
    if (nodes < 3) throw new IllegalArgumentException("--nodes must be at least 3");
    if (capacity <= 0 || factor <= 1 || low <= 0 || low >= 1) {
      throw new IllegalArgumentException("--capacity must be positive, --factor above 1 and --low between 0 and 1");
    }
    if (pre < 2 || burst < 1 || post < 3) throw new IllegalArgumentException("--pre must be at least 2, --burst 1 and --post 3");
    System.out.printf(Locale.ROOT, "Starting %d nodes on 127.0.0.1 (TLS 1.3)...%n", nodes);
    BurstScenario.Report report;
    try (DemoNetwork net = new DemoNetwork(nodes, Runtime.getRuntime().availableProcessors(), 2, true, TransportConfig.defaults(),
        node.config())) {
      net.handlerCost(handlerCostMicros * 1000);
      System.out.printf(Locale.ROOT, "%d s at %,.0f msg/s, %d s at %,.0f msg/s, %d s at %,.0f msg/s...%n", pre, low * capacity, burst,
          factor * capacity, post, low * capacity);
      report = BurstScenario.run(net, capacity, factor, low, pre, burst, post, size, warmup, true);
    }
    System.out.print(BurstScenario.summary(report));
    if (json != null) {
      Files.writeString(json, BurstScenario.toJson(report).toString(), StandardCharsets.UTF_8);
      System.out.println("JSON written to " + json);
    }
    if (runs.metricsOut != null) Repeats.write(runs.metricsOut, BurstScenario.figures(report));
    return 0;
  }
}
