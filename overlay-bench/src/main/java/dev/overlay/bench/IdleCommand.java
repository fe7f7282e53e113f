package dev.overlay.bench;

import dev.overlay.MessageHandler;
import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.Subscription;
import dev.overlay.protocol.Message;
import dev.overlay.report.Json;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What an idle node costs: N nodes in this JVM, each subscribed to the same S streams with its
 * views filled, left alone (keep-alives, shuffles, timers) and then weighed after a full GC.
 * Run it with a small {@code -Xmx} to show that it fits, not only what it uses.
 */
@Command(
    name = "idle",
    mixinStandardHelpOptions = true,
    description = {
      "Starts N nodes on 127.0.0.1 that all subscribe to S streams, waits until every stream has a neighbour",
      "on every node, leaves them idle, then prints the heap in use after a full GC: in total, and per node",
      "above the JVM's own baseline. Example: java -Xmx32m -jar overlay-bench.jar idle --streams 100"
    })
final class IdleCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "3", description = "Nodes in this JVM (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--streams", defaultValue = "100", description = "Streams every node subscribes to (default ${DEFAULT-VALUE}).")
  int streams;

  @Option(names = "--idle", defaultValue = "10", description = "Seconds left idle before weighing (default ${DEFAULT-VALUE}).")
  double idleSeconds;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    if (nodes < 2) throw new IllegalArgumentException("--nodes must be at least 2, so that views have someone in them");
    if (streams < 1) throw new IllegalArgumentException("--streams must be at least 1");
    long baseline = heapAfterGc();
    List<OverlayNode> started = new ArrayList<>();
    List<Subscription> subscriptions = new ArrayList<>();
    MessageHandler ignore = new MessageHandler() {
      @Override
      public void onMessage(dev.overlay.StreamMessage m) {}
    };
    try {
      for (int i = 0; i < nodes; i++) {
        OverlayNode.Builder b = OverlayNode.builder().identity(NodeIdentity.generate());
        if (!started.isEmpty()) b.seed(started.get(0).info());
        started.add(b.build().start());
      }
      for (OverlayNode n : started) {
        for (int s = 0; s < streams; s++) subscriptions.add(n.subscribe("idle-" + s, ignore));
      }
      for (OverlayNode n : started) {
        for (int s = 0; s < streams; s++) {
          if (!n.awaitNeighbors("idle-" + s, 1, Duration.ofSeconds(30))) {
            throw new IllegalStateException("stream idle-" + s + " has no neighbour on " + n.peerId() + " after 30 s");
          }
        }
      }
      System.out.printf(Locale.ROOT, "%d nodes joined %d streams each; idle for %.0f s...%n", nodes, streams, idleSeconds);
      long until = System.nanoTime() + (long) (idleSeconds * 1e9);
      while (System.nanoTime() < until) {
        java.util.concurrent.locks.LockSupport.parkNanos(until - System.nanoTime()); // the benchmark's own pacing
      }
      long used = heapAfterGc();
      long max = Runtime.getRuntime().maxMemory();
      double perNode = (used - baseline) / (double) nodes;
      long direct = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
      System.out.printf(Locale.ROOT, "heap in use after GC: %.1f MB in total (JVM baseline %.1f MB, -Xmx %.0f MB)%n",
          mb(used), mb(baseline), mb(max));
      System.out.printf(Locale.ROOT, "per idle node with %d streams: %.2f MB of heap; pooled direct memory %.1f MB for all%n",
          streams, mb(perNode), mb(direct));
      if (json != null) {
        Json out = Json.object().put("nodes", nodes).put("streams", streams).put("idle_s", idleSeconds)
            .put("heap_used_mb", round(mb(used))).put("heap_baseline_mb", round(mb(baseline)))
            .put("heap_per_node_mb", round(mb(perNode))).put("heap_max_mb", round(mb(max)))
            .put("direct_pooled_mb", round(mb(direct)));
        Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
        System.out.println("JSON written to " + json);
      }
      return 0;
    } finally {
      for (Subscription s : subscriptions) s.close();
      for (OverlayNode n : started) n.close();
    }
  }

  /** Heap in use after a few full collections. */
  static long heapAfterGc() {
    for (int i = 0; i < 3; i++) System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static double mb(double bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
