package dev.overlay.bench;

import dev.overlay.config.TransportConfig;
import dev.overlay.report.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The main job: a real network of nodes on 127.0.0.1, one publishing, the others measuring. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Starts a tracker and N nodes in this process on 127.0.0.1, over real TCP and TLS 1.3; the nodes find each other through the tracker;",
      "node 1 publishes at the given rate and every other node subscribes. Prints a progress line each second,",
      "then what each subscriber got, latency, duplicates and throughput."
    })
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "20", description = "Number of nodes (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--rate", defaultValue = "1000", description = "Messages per second from the publisher (default ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--size", defaultValue = "100", description = "Payload bytes, at least 16 (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--duration", defaultValue = "10", description = "Seconds of publishing measured (default ${DEFAULT-VALUE}).")
  double duration;

  @Option(names = "--warmup", defaultValue = "2", description = "Seconds of unmeasured traffic first, while trees form (default ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--loop-threads", description = "Event-loop threads shared by the nodes (default: the number of cores).")
  Integer loopThreads;

  @Option(names = "--delivery-threads", defaultValue = "2", description = "Threads running subscribers' handlers (default ${DEFAULT-VALUE}).")
  int deliveryThreads;

  @Option(names = "--handlers-on-threads", description = "Run the subscribers' (trivial) handlers on the delivery threads,"
      + " as a slow handler would need, instead of on the nodes' loops.")
  boolean handlersOnThreads;

  @Option(names = "--flush-coalescing-us", description = "TransportConfig.flushCoalescing in microseconds (default: the transport's default).")
  Long flushCoalescingMicros;

  @picocli.CommandLine.Mixin
  RunOptions runs = new RunOptions();

  @picocli.CommandLine.Mixin
  NodeOptions node = new NodeOptions();

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;



  @Override
  public Integer call() throws Exception {
    if (nodes < 3) throw new IllegalArgumentException("--nodes must be at least 3");
    int threads = loopThreads != null ? loopThreads : Runtime.getRuntime().availableProcessors();
    System.out.printf(Locale.ROOT, "Starting %d nodes on 127.0.0.1 (TLS 1.3, %d loop threads)...%n", nodes, threads);
    long startedAt = System.nanoTime();
    DemoNetwork.Result r;
    TransportConfig.Builder transport = TransportConfig.builder();
    if (flushCoalescingMicros != null) transport.flushCoalescing(java.time.Duration.ofNanos(flushCoalescingMicros * 1000));
    try (DemoNetwork net = new DemoNetwork(nodes, threads, deliveryThreads, !handlersOnThreads, transport.build(), node.config())) {
      System.out.printf(Locale.ROOT, "Overlay formed in %.1f s. Publishing %,.0f msg/s of %d bytes for %.0f s after a %.0f s warm-up.%n",
          (System.nanoTime() - startedAt) / 1e9, rate, size, duration, warmup);
      r = net.run(rate, size, duration, warmup, true);
    }
    System.out.print(summary(r));
    if (json != null) {
      Files.writeString(json, toJson(r).toString(), StandardCharsets.UTF_8);
      System.out.println("JSON written to " + json);
    }
    if (runs.metricsOut != null) Repeats.write(runs.metricsOut, Repeats.figures("", r));
    return 0;
  }

  static String summary(DemoNetwork.Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%nPublished %,d messages of %d bytes at %,.0f msg/s to %d subscribers (%s)%n",
        r.published(), r.size(), r.rate(), r.nodes() - 2 + 1, r.transport()));
    if (r.refused() > 0) {
      sb.append(String.format(Locale.ROOT, "  refused      %,d publishes (QUEUE_FULL: the overlay was saturated); accepted %,.0f of %,.0f msg/s offered%n",
          r.refused(), r.acceptedPerS(), r.offeredPerS()));
    }
    long complete = r.completeness().stream().filter(c -> c >= 1.0).count();
    sb.append(String.format(Locale.ROOT, "  completeness %d of %d subscribers got every message; the worst got %.4f%n",
        complete, r.completeness().size(), r.completenessMin()));
    sb.append(String.format(Locale.ROOT, "  latency      p50 %.2f ms, p99 %.2f ms, max %.2f ms (publish to handler)%n",
        r.latencyMsP50(), r.latencyMsP99(), r.latencyMsMax()));
    sb.append(String.format(Locale.ROOT, "  duplicates   %.4f per delivery%n", r.duplicatesPerDelivery()));
    sb.append(String.format(Locale.ROOT, "  throughput   %,.0f deliveries/s (%,.0f msg/s to every subscriber); %.0f bytes on the wire and %.4f CPU-s per 1,000 deliveries; %.2f cores busy; peak heap %.0f MB%n",
        r.deliveredPerS(), r.goodputPerS(), r.wireBytesPerDelivery(), r.cpuSecondsPer1000(), r.cpuCores(), r.peakHeapMb()));
    sb.append("  protocol     ");
    r.protocol().forEach((k, v) -> sb.append(k.replace('_', ' ')).append(' ').append(String.format(Locale.ROOT, "%,d", v)).append(", "));
    sb.setLength(sb.length() - 2);
    sb.append(String.format(Locale.ROOT, "%n"));
    if (r.lagged() > 0) sb.append(String.format(Locale.ROOT, "  lagged       %,d messages dropped for slow handlers%n", r.lagged()));
    return sb.toString();
  }

  private static Json protocolJson(DemoNetwork.Result r) {
    Json j = Json.object();
    r.protocol().forEach(j::put);
    return j;
  }

  static Json toJson(DemoNetwork.Result r) {
    return Json.object()
        .put("nodes", r.nodes())
        .put("rate", r.rate())
        .put("size", r.size())
        .put("duration_s", r.durationS())
        .put("published", r.published())
        .put("refused", r.refused())
        .put("completeness_min", r.completenessMin())
        .put("latency_ms_p50", r.latencyMsP50())
        .put("latency_ms_p99", r.latencyMsP99())
        .put("latency_ms_max", r.latencyMsMax())
        .put("duplicates_per_delivery", r.duplicatesPerDelivery())
        .put("delivered_per_s", r.deliveredPerS())
        .put("delivered", r.delivered())
        .put("lagged", r.lagged())
        .put("wire_bytes_per_delivery", Math.round(r.wireBytesPerDelivery() * 10) / 10.0)
        .put("cpu_s_per_1000_deliveries", Math.round(r.cpuSecondsPer1000() * 10000) / 10000.0)
        .put("peak_heap_mb", Math.round(r.peakHeapMb()))
        .put("offered_per_s", r.offeredPerS())
        .put("accepted_per_s", r.acceptedPerS())
        .put("goodput_per_s", r.goodputPerS())
        .put("cpu_cores", Math.round(r.cpuCores() * 100) / 100.0)
        .put("transport", r.transport())
        .put("protocol", protocolJson(r))
        .put("timeline", timelineJson(r));
  }

  static java.util.List<Json> timelineJson(DemoNetwork.Result r) {
    java.util.List<Json> out = new java.util.ArrayList<>();
    for (DemoNetwork.Window w : r.timeline()) {
      out.add(Json.object().put("second", w.second()).put("offered", w.offered()).put("accepted", w.accepted())
          .put("completeness_min", w.completenessMin()).put("latency_ms_p50", w.latencyMsP50())
          .put("latency_ms_p99", w.latencyMsP99()));
    }
    return out;
  }
}
