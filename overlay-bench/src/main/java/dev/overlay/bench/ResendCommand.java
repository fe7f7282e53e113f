package dev.overlay.bench;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StartAt;
import dev.overlay.report.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * History from a storage node (issue 14): a publisher and a storage node on loopback; the
 * publisher sends {@code --messages} at {@code --rate} (0: as fast as the node takes them), the
 * storage node keeps them; then, {@code --runs} times, a fresh node that is in no overlay (so only
 * the storage node can answer) subscribes with {@code StartAt.since} the publishing start and the
 * time until it has delivered every message is measured, from {@code subscribe} on.
 */
@Command(
    name = "resend",
    mixinStandardHelpOptions = true,
    description = {
      "A storage node keeps --messages published at --rate; then, --runs times, a fresh node that is in no",
      "overlay asks it for everything since the start and the time to deliver it all is measured.",
      "Example: java -jar overlay-bench.jar resend --messages 200000 --rate 0 --runs 3 --json out.json"
    })
final class ResendCommand implements Callable<Integer> {

  @Option(names = "--messages", defaultValue = "200000", description = "Messages published (default ${DEFAULT-VALUE}).")
  int messages;

  @Option(names = "--rate", defaultValue = "0", description = "Messages a second published; 0: as fast as the node takes them (default ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--size", defaultValue = "100", description = "Payload bytes (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--runs", defaultValue = "3", description = "Fresh subscribers asking for the whole history, one after another (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  private static final String STREAM = "resend-bench";

  @Override
  public Integer call() throws Exception {
    Path dir = Files.createTempDirectory("overlay-resend-");
    List<OverlayNode> nodes = new ArrayList<>();
    try {
      OverlayNode publisher = start(nodes, OverlayNode.builder());
      OverlayNode storage = start(nodes, OverlayNode.builder().seed(publisher.info()).storage(dir, STREAM));
      AtomicLong stored = new AtomicLong();
      storage.subscribe(STREAM, m -> stored.incrementAndGet(), OverlayNode.ON_NODE_LOOP);
      publisher.join(STREAM);
      if (!publisher.awaitNeighbors(STREAM, 1, Duration.ofSeconds(30))) throw new IllegalStateException("no neighbour after 30 s");
      Instant since = Instant.now().minusSeconds(1);
      long t0 = System.nanoTime();
      long interval = rate > 0 ? 1_000_000_000L / rate : 0;
      for (int i = 0; i < messages; i++) {
        if (interval > 0) {
          long due = t0 + i * interval;
          long wait = due - System.nanoTime();
          if (wait > 0) LockSupport.parkNanos(wait);
        }
        PublishResult r = publisher.publish(STREAM, payload(i)).get(30, TimeUnit.SECONDS);
        while (r.status() == PublishResult.Status.QUEUE_FULL) {
          publisher.publishable().get(30, TimeUnit.SECONDS);
          r = publisher.publish(STREAM, payload(i)).get(30, TimeUnit.SECONDS);
        }
      }
      double publishSeconds = (System.nanoTime() - t0) / 1e9;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (stored.get() < messages && System.nanoTime() < deadline) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      if (stored.get() < messages) throw new IllegalStateException("the storage node delivered " + stored.get() + " of " + messages);
      System.out.printf(Locale.ROOT, "published %,d in %.1f s; the storage node has them all%n", messages, publishSeconds);

      List<Object> results = new ArrayList<>();
      List<Double> rates = new ArrayList<>();
      for (int run = 1; run <= runs; run++) {
        List<TransportEvent> events = java.util.Collections.synchronizedList(new ArrayList<>());
        OverlayNode asker = start(nodes, OverlayNode.builder().storageNode(storage.info()).listener(new dev.overlay.OverlayListener() {
          @Override
          public void onTransportEvent(TransportEvent e) {
            events.add(e);
          }
        }));
        AtomicLong got = new AtomicLong();
        long s0 = System.nanoTime();
        asker.subscribe(STREAM, m -> got.incrementAndGet(), OverlayNode.ON_NODE_LOOP, StartAt.since(since));
        AtomicLong firstAt = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (got.get() < messages && System.nanoTime() < end) {
          if (firstAt.get() == 0 && got.get() > 0) firstAt.set(System.nanoTime());
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        double seconds = (System.nanoTime() - s0) / 1e9;
        double firstMs = firstAt.get() == 0 ? Double.NaN : (firstAt.get() - s0) / 1e6;
        double msgPerSec = got.get() / seconds;
        rates.add(msgPerSec);
        System.out.printf(Locale.ROOT, "run %d: %,d of %,d in %.2f s: %,.0f msg/s; first after %.0f ms; %s%n", run, got.get(), messages,
            seconds, msgPerSec, firstMs, historyEvents(events));
        results.add(Json.object().put("run", run).put("delivered", got.get()).put("seconds", seconds).put("msg_per_s", msgPerSec)
            .put("first_ms", firstMs));
        asker.close();
        nodes.remove(asker);
      }
      rates.sort(Comparator.naturalOrder());
      double median = rates.get(rates.size() / 2);
      System.out.printf(Locale.ROOT, "resend from one storage node to one subscriber: median %,.0f msg/s [%,.0f - %,.0f]%n", median,
          rates.get(0), rates.get(rates.size() - 1));
      if (json != null) {
        Files.writeString(json, Json.object().put("messages", messages).put("rate", rate).put("payload_bytes", size)
            .put("publish_seconds", publishSeconds).put("runs", results).put("msg_per_s_median", median)
            .put("msg_per_s_min", rates.get(0)).put("msg_per_s_max", rates.get(rates.size() - 1)).toString());
      }
      return 0;
    } finally {
      for (OverlayNode n : nodes) n.close();
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
      }
    }
  }

  /** The history events heard so far (the listener adds to the list from the delivery thread). */
  private static List<TransportEvent> historyEvents(List<TransportEvent> events) {
    synchronized (events) {
      return events.stream().filter(e -> e instanceof TransportEvent.HistoryReceived || e instanceof TransportEvent.HistoryUnavailable)
          .toList();
    }
  }

  private OverlayNode start(List<OverlayNode> nodes, OverlayNode.Builder b) throws Exception {
    OverlayNode n = b.identity(NodeIdentity.generate()).listen("127.0.0.1", 0).build().start();
    nodes.add(n);
    return n;
  }

  private byte[] payload(int i) {
    byte[] p = new byte[size];
    for (int k = 0; k < Math.min(4, size); k++) p[k] = (byte) (i >>> (8 * k));
    return p;
  }
}
