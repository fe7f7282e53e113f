package dev.overlay.bench;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.core.Candidate;
import dev.overlay.core.PublishResult;
import dev.overlay.report.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
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
 * Subscribers killed with SIGKILL and restarted with their keys, resuming from the position
 * they had processed (issue 14, section 3): separate processes ({@link RestartSubscriber}), a
 * publisher at {@code --rate} in this one, one subscriber killed every {@code --kill-every}
 * seconds in turn and started again {@code --down} seconds later. What each subscriber delivered,
 * over all its runs, is checked against what was published: missing, twice, out of order; and
 * each restart's time from {@code start()} to its first delivery.
 */
@Command(
    name = "restarts",
    mixinStandardHelpOptions = true,
    description = {
      "Subscriber processes killed with SIGKILL in turn and restarted with their keys from their last position;",
      "prints what each missed, got twice or out of order, and each restart's time to its first delivery.",
      "Example: java -jar overlay-bench.jar restarts --subscribers 9 --rate 500 --duration 60 --json out.json"
    })
final class RestartsCommand implements Callable<Integer> {

  static final String STREAM = "restarts-bench";

  @Option(names = "--subscribers", defaultValue = "9", description = "Subscriber processes (default ${DEFAULT-VALUE}).")
  int subscribers;

  @Option(names = "--rate", defaultValue = "500", description = "Messages a second published (default ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--duration", defaultValue = "60", description = "Seconds of publishing (default ${DEFAULT-VALUE}).")
  int duration;

  @Option(names = "--kill-every", defaultValue = "6", description = "Seconds between kills (default ${DEFAULT-VALUE}).")
  int killEvery;

  @Option(names = "--down", defaultValue = "2", description = "Seconds a killed subscriber stays down (default ${DEFAULT-VALUE}).")
  int down;

  @Option(names = "--storage", description = "Also run a storage node, and give it to the subscribers.")
  boolean storage;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @Option(names = "--logs", description = "Keep each subscriber's log (its standard error, every run) in this directory.")
  Path logs;

  /** One subscriber: its process now, and what it delivered over all its runs, as printed. */
  private static final class Sub {
    final int index;
    final Path key;
    volatile Process process;
    volatile Thread reader;
    final BitSet delivered = new BitSet();
    long twice;
    long outOfOrder;
    long lastSeq; // in the current run
    long session;
    long runs;
    final List<Double> firstMs = new ArrayList<>(); // per restart (the first run excluded)
    final List<Double> startedMs = new ArrayList<>(); // per restart: start() returned
    final List<Double> neighbourMs = new ArrayList<>(); // per restart: its first neighbour
    volatile boolean linked; // the current run has a neighbour

    Sub(int index, Path key) {
      this.index = index;
      this.key = key;
    }

    /** The end of the unbroken run delivered: where a restart resumes, as an application keeps it. */
    synchronized long position() {
      return delivered.nextClearBit(1) - 1;
    }
  }

  @Override
  public Integer call() throws Exception {
    Path dir = Files.createTempDirectory("overlay-restarts-");
    List<OverlayNode> nodes = new ArrayList<>();
    List<Sub> subs = new ArrayList<>();
    try {
      OverlayNode publisher = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0).build().start();
      nodes.add(publisher);
      publisher.join(STREAM);
      Candidate at = publisher.info().candidates().get(0);
      String seed = at.host() + ":" + at.port();
      String storageNode = "-";
      if (storage) {
        OverlayNode s = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0).seed(publisher.info())
            .storage(dir.resolve("store"), STREAM).build().start();
        nodes.add(s);
        Candidate sc = s.info().candidates().get(0);
        storageNode = s.peerId().toHex() + "@" + sc.host() + ":" + sc.port();
      }
      String publisherHex = publisher.peerId().toHex();
      for (int i = 0; i < subscribers; i++) {
        Sub s = new Sub(i, dir.resolve("sub-" + i + ".key"));
        subs.add(s);
        launch(s, seed, "-", storageNode, dir);
      }
      if (!publisher.awaitNeighbors(STREAM, 1, Duration.ofSeconds(30))) throw new IllegalStateException("no neighbour after 30 s");
      long formed = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < formed && !subs.stream().allMatch(x -> x.linked)) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      if (!subs.stream().allMatch(x -> x.linked)) throw new IllegalStateException("not every subscriber has a neighbour after 120 s");

      AtomicLong lastSeq = new AtomicLong();
      AtomicLong session = new AtomicLong();
      java.util.concurrent.atomic.AtomicReference<Throwable> publishFailure = new java.util.concurrent.atomic.AtomicReference<>();
      Thread publishing = new Thread(() -> {
        long t0 = System.nanoTime();
        long interval = 1_000_000_000L / rate;
        byte[] payload = new byte[100];
        for (long i = 0; i < (long) rate * duration; i++) {
          long wait = t0 + i * interval - System.nanoTime();
          if (wait > 0) LockSupport.parkNanos(wait);
          try {
            PublishResult r = publisher.publish(STREAM, payload).get(30, TimeUnit.SECONDS);
            while (r.status() == PublishResult.Status.QUEUE_FULL) {
              publisher.publishable().get(30, TimeUnit.SECONDS);
              r = publisher.publish(STREAM, payload).get(30, TimeUnit.SECONDS);
            }
            session.set(r.session());
            lastSeq.set(r.seq());
          } catch (Exception e) {
            publishFailure.set(e); // reported by the main thread: a run with a dead publisher is no result
            return;
          }
        }
      }, "publisher");
      publishing.start();
      long start = System.nanoTime();
      int kills = 0;
      for (long t = killEvery; t + down < duration; t += killEvery) {
        LockSupport.parkNanos(start + TimeUnit.SECONDS.toNanos(t) - System.nanoTime());
        Sub victim = subs.get(kills++ % subscribers);
        victim.process.destroyForcibly(); // SIGKILL
        victim.process.getOutputStream().close();
        victim.process.waitFor(10, TimeUnit.SECONDS);
        victim.reader.join(10_000); // everything it printed is counted before its position is read
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(down));
        long position = victim.position();
        launch(victim, seed, position == 0 ? "-" : publisherHex + ":" + session.get() + ":" + position, storageNode, dir);
      }
      publishing.join();
      if (publishFailure.get() != null) throw new IllegalStateException("the publisher failed", publishFailure.get());
      long last = lastSeq.get();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline && !subs.stream().allMatch(s -> s.position() >= last)) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }

      List<Object> perSub = new ArrayList<>();
      List<Double> firsts = new ArrayList<>();
      List<Double> starteds = new ArrayList<>();
      List<Double> neighbours = new ArrayList<>();
      long missingAll = 0;
      long twiceAll = 0;
      long disorderAll = 0;
      for (Sub s : subs) {
        synchronized (s) {
          long missing = last - s.delivered.get(1, (int) last + 1).cardinality();
          missingAll += missing;
          twiceAll += s.twice;
          disorderAll += s.outOfOrder;
          firsts.addAll(s.firstMs);
          starteds.addAll(s.startedMs);
          neighbours.addAll(s.neighbourMs);
          perSub.add(Json.object().put("subscriber", s.index).put("runs", s.runs).put("missing", missing).put("twice", s.twice)
              .put("out_of_order", s.outOfOrder).put("started_ms", List.copyOf(s.startedMs)).put("first_neighbour_ms", List.copyOf(s.neighbourMs))
              .put("first_delivery_ms", List.copyOf(s.firstMs)));
          System.out.printf(Locale.ROOT, "subscriber %d: %d runs, %,d missing, %,d twice, %,d out of order; first delivery after each restart (ms): %s%n",
              s.index, s.runs, missing, s.twice, s.outOfOrder, s.firstMs);
        }
      }
      double median = median(firsts);
      double max = firsts.isEmpty() ? Double.NaN : firsts.stream().mapToDouble(d -> d).max().orElseThrow();
      System.out.printf(Locale.ROOT, "%,d published; %d kills; over all subscribers %,d missing, %,d twice, %,d out of order; "
          + "after a restart's start() was called (median, ms): it returned %.0f, first neighbour %.0f, first delivery %.0f (max %.0f)%n",
          last, kills, missingAll, twiceAll, disorderAll, median(starteds), median(neighbours), median, max);
      if (json != null) {
        Files.writeString(json, Json.object().put("subscribers", subscribers).put("rate", rate).put("duration_s", duration)
            .put("kill_every_s", killEvery).put("down_s", down).put("storage_node", storage).put("published", last).put("kills", kills)
            .put("missing", missingAll).put("twice", twiceAll).put("out_of_order", disorderAll)
            .put("started_ms_median", median(starteds)).put("first_neighbour_ms_median", median(neighbours))
            .put("first_delivery_ms_median", median).put("first_delivery_ms_max", max).put("per_subscriber", perSub).toString());
      }
      return missingAll == 0 && twiceAll == 0 && disorderAll == 0 ? 0 : 1;
    } finally {
      for (Sub s : subs) {
        Process p = s.process;
        if (p != null) {
          p.getOutputStream().close(); // ends it gracefully
          if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        }
      }
      for (OverlayNode n : nodes) n.close();
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
      }
    }
  }

  private static double median(List<Double> values) {
    if (values.isEmpty()) return Double.NaN;
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Comparator.naturalOrder());
    return sorted.get(sorted.size() / 2);
  }

  /** Starts (or restarts) the subscriber's process, and a thread that reads what it prints. */
  private void launch(Sub s, String seed, String position, String storageNode, Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        RestartSubscriber.class.getName(), seed, s.key.toString(), position, storageNode);
    Path logDir = logs != null ? Files.createDirectories(logs) : dir;
    pb.redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve("sub-" + s.index + ".log").toFile()));
    Process p = pb.start();
    boolean restart;
    synchronized (s) {
      restart = s.runs++ > 0;
      s.lastSeq = 0;
      s.linked = false;
    }
    s.process = p;
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
        String line;
        while ((line = in.readLine()) != null) {
          synchronized (s) {
            if (line.startsWith("D ")) {
              String[] f = line.split(" ");
              long seq = Long.parseLong(f[2]);
              if (seq < s.lastSeq) s.outOfOrder++;
              s.lastSeq = seq;
              if (s.delivered.get((int) seq)) s.twice++;
              else s.delivered.set((int) seq);
            } else if (line.startsWith("FIRST ") && restart) {
              s.firstMs.add(Double.parseDouble(line.split(" ")[1]));
            } else if (line.startsWith("NEIGHBOUR ")) {
              s.linked = true;
              if (restart) s.neighbourMs.add(Double.parseDouble(line.substring(10)));
            } else if (line.startsWith("STARTED ") && restart) {
              s.startedMs.add(Double.parseDouble(line.substring(8)));
            }
          }
        }
      } catch (java.io.IOException e) {
        // killed: its output ends
      }
    }, "reader-" + s.index);
    reader.setDaemon(true);
    s.reader = reader;
    reader.start();
  }
}
