package dev.overlay.bench;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.Subscription;
import dev.overlay.core.PublishResult;
import dev.overlay.report.Json;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What one node costs a gateway: this process runs a single node that publishes on S streams at R
 * messages a second each and subscribes to them, with one peer node in a child JVM subscribed to
 * the same streams (so that every message crosses a real TLS link). It samples this process's
 * resident set (VmRSS), its heap and its threads while the load runs, and weighs the heap after
 * a full GC at the end. The JVM's flags are the caller's: run it with a gateway's
 * ({@code -Xmx64m -XX:+UseSerialGC}) to see what a gateway pays.
 */
@Command(
    name = "footprint",
    mixinStandardHelpOptions = true,
    description = {
      "One node in this JVM publishes --rate msg/s on each of --streams streams and subscribes to them;",
      "a peer node in a child JVM subscribes too. Prints this process's RSS, heap and threads under that load.",
      "Example: java -Xmx64m -XX:+UseSerialGC -jar overlay-bench.jar footprint --streams 10 --rate 100"
    })
final class FootprintCommand implements Callable<Integer> {

  @Option(names = "--streams", defaultValue = "10", description = "Streams (default ${DEFAULT-VALUE}).")
  int streams;

  @Option(names = "--rate", defaultValue = "100", description = "Messages a second on each stream (default ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--size", defaultValue = "100", description = "Payload bytes (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--duration", defaultValue = "60", description = "Seconds of load measured (default ${DEFAULT-VALUE}).")
  double duration;

  @Option(names = "--warmup", defaultValue = "10", description = "Seconds of load before measuring (default ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @Option(names = "--peer-of", hidden = true, description = "Internal: run as the peer of the node at host:port.")
  String peerOf;

  @Option(names = "--peer-count-file", hidden = true, description = "Internal: where the peer writes its deliveries.")
  Path peerCountFile;

  @Override
  public Integer call() throws Exception {
    if (streams < 1 || rate <= 0 || size < 1 || duration <= 0 || warmup < 0) {
      throw new IllegalArgumentException("--streams, --rate, --size and --duration must be positive, --warmup not negative");
    }
    return peerOf != null ? runPeer() : runMeasured();
  }

  private int runMeasured() throws Exception {
    List<Subscription> subs = new ArrayList<>();
    Path countFile = Files.createTempFile("footprint-peer", ".count");
    Process peer = null;
    OverlayNode node = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0).build().start();
    try {
      // Subscribed, as a gateway that also takes commands would be; a node does not deliver its own messages to itself.
      for (int s = 0; s < streams; s++) subs.add(node.subscribe("footprint-" + s, m -> { }));
      String self = "127.0.0.1:" + node.info().candidates().get(0).port();
      String java = ProcessHandle.current().info().command().orElse("java");
      String jar = Path.of(FootprintCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
      peer = new ProcessBuilder(java, "-Xmx256m", "-jar", jar, "footprint", "--peer-of", self, "--peer-count-file",
          countFile.toString(), "--streams", "" + streams).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      for (int s = 0; s < streams; s++) {
        if (!node.awaitNeighbors("footprint-" + s, 1, Duration.ofSeconds(60))) {
          throw new IllegalStateException("stream footprint-" + s + " has no neighbour after 60 s: did the peer JVM start?");
        }
      }
      System.out.printf(Locale.ROOT, "%d streams, %.0f msg/s each, %d-byte payloads: %.0f s warm-up, %.0f s measured...%n",
          streams, rate, size, warmup, duration);
      byte[] payload = new byte[size];
      long interval = (long) (1e9 / rate);
      long start = System.nanoTime();
      long measureFrom = start + (long) (warmup * 1e9);
      long end = measureFrom + (long) (duration * 1e9);
      long next = start;
      long nextSample = measureFrom;
      AtomicLong accepted = new AtomicLong();
      AtomicLong refusedCount = new AtomicLong();
      long rssMax = 0;
      long heapMax = 0;
      int threadsMax = 0;
      List<Long> rssSamples = new ArrayList<>();
      CompletableFuture<?> last = null;
      while (true) {
        long now = System.nanoTime();
        if (now >= end) break;
        if (now >= nextSample) {
          long rss = rssBytes();
          rssSamples.add(rss);
          rssMax = Math.max(rssMax, rss);
          heapMax = Math.max(heapMax, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
          threadsMax = Math.max(threadsMax, ManagementFactory.getThreadMXBean().getThreadCount());
          nextSample += TimeUnit.SECONDS.toNanos(1);
        }
        if (now < next) {
          LockSupport.parkNanos(Math.min(next, nextSample) - now); // the benchmark's own pacing
          continue;
        }
        for (int s = 0; s < streams; s++) {
          last = node.publish("footprint-" + s, payload).whenComplete((r, e) -> {
            boolean numbered = e == null && (r.status() == PublishResult.Status.SENT || r.status() == PublishResult.Status.NO_PEERS);
            (numbered ? accepted : refusedCount).incrementAndGet();
          });
        }
        next += interval;
      }
      if (last != null) last.get(30, TimeUnit.SECONDS);
      long published = accepted.get();
      long refused = refusedCount.get();
      long expected = published;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      long peerGot = readCount(countFile);
      while (peerGot < expected && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200)); // the peer writes its count every 100 ms
        peerGot = readCount(countFile);
      }
      long heapAfterGc = IdleCommand.heapAfterGc();
      long rssEnd = rssBytes();
      rssSamples.sort(null);
      long rssMedian = rssSamples.isEmpty() ? 0 : rssSamples.get(rssSamples.size() / 2);
      String flags = String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments());
      System.out.printf(Locale.ROOT, "published %,d (refused %,d); delivered at the peer %,d%n", published, refused, peerGot);
      System.out.printf(Locale.ROOT, "RSS median %.1f MB, max %.1f MB; heap max %.1f MB, after GC %.1f MB (max %.0f MB); threads max %d; JVM flags: %s%n",
          mb(rssMedian), mb(rssMax), mb(heapMax), mb(heapAfterGc), mb(Runtime.getRuntime().maxMemory()), threadsMax, flags);
      if (json != null) {
        Json out = Json.object().put("streams", streams).put("rate_per_stream", rate).put("size", size).put("duration_s", duration)
            .put("published", published).put("refused", refused).put("delivered_at_peer", peerGot)
            .put("rss_mb_median", round(mb(rssMedian))).put("rss_mb_max", round(mb(rssMax))).put("rss_mb_end", round(mb(rssEnd)))
            .put("heap_mb_max", round(mb(heapMax))).put("heap_mb_after_gc", round(mb(heapAfterGc)))
            .put("heap_mb_limit", round(mb(Runtime.getRuntime().maxMemory()))).put("threads_max", threadsMax).put("jvm_flags", flags);
        Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
        System.out.println("JSON written to " + json);
      }
      return peerGot >= expected ? 0 : 1;
    } finally {
      for (Subscription s : subs) s.close();
      node.close();
      if (peer != null) {
        peer.getOutputStream().close(); // the peer stops when its input ends
        if (!peer.waitFor(20, TimeUnit.SECONDS)) peer.destroyForcibly();
      }
      Files.deleteIfExists(countFile);
    }
  }

  /** The child: a node seeded by the measured one, subscribed to every stream, counting into a file until its input ends. */
  private int runPeer() throws Exception {
    AtomicLong got = new AtomicLong();
    try (OverlayNode node = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0).seeds(peerOf).build().start()) {
      for (int s = 0; s < streams; s++) node.subscribe("footprint-" + s, m -> got.incrementAndGet());
      Thread writer = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          try {
            Path tmp = peerCountFile.resolveSibling(peerCountFile.getFileName() + ".tmp");
            Files.writeString(tmp, Long.toString(got.get()));
            Files.move(tmp, peerCountFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
          } catch (IOException e) {
            return;
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
      }, "footprint-count");
      writer.setDaemon(true);
      writer.start();
      while (System.in.read() >= 0) {
        // until the measured process closes our input (or dies)
      }
      writer.interrupt();
    }
    return 0;
  }

  private static long readCount(Path f) {
    try {
      String s = Files.readString(f).trim();
      return s.isEmpty() ? 0 : Long.parseLong(s);
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
  }

  /** This process's resident set, from /proc (Linux); 0 elsewhere. */
  static long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux
    }
    return 0;
  }

  private static double mb(double bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
