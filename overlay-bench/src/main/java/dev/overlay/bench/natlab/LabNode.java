package dev.overlay.bench.natlab;

import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import dev.overlay.config.TransportConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One node of the NAT lab, in a child JVM inside a lab namespace. It listens on its host's LAN
 * address, registers stream "lab" with the tracker, learns its mapping from the tracker's STUN
 * server, and prints what the test waits for, one line each:
 * {@code STARTED <candidates>}, {@code NEIGHBOUR <link's remote address>},
 * {@code RECEIVED <n>} (every 100 messages and at {@code expect}), {@code PUBLISHED <n>},
 * {@code DIAL FAILED <address> <reason>} for each failed dial, {@code NAT <status> ...} whenever
 * the node's NAT verdict changes, and
 * on the command {@code counters} a {@code COUNTERS k=v ...} line. Commands come on standard
 * input: {@code publish <n> [rate [warm]]} (with a rate: timed payloads, the first {@code warm}
 * of them marked as warm-up and left out of the figures; the receiver prints, at {@code expect},
 * {@code WINDOWS p99_ms_by_tenth=..} and {@code LATENCY p50=.. p99=.. max=.. n=..} in
 * microseconds), {@code idle <ms>} (then {@code IDLE DONE}), {@code counters}, {@code links}, {@code exit}.
 *
 * <p>Arguments: {@code <listen host[:port] or [ipv6][:port]> <tracker host:port> <stun host:port> <expect> [keepAliveMillis|-]
 * [stunRefreshMillis]}.
 */
public final class LabNode {

  private LabNode() {}

  public static void main(String[] args) throws Exception {
    // host, host:port, or [ipv6]:port; a bare IPv6 literal (more than one colon) takes port 7000
    String at = args[0];
    int colon = at.lastIndexOf(':');
    boolean withPort = at.startsWith("[") ? at.contains("]:") : colon >= 0 && colon == at.indexOf(':');
    String host = withPort ? at.substring(0, colon) : at;
    if (host.startsWith("[")) host = host.substring(1, host.length() - 1);
    int port = withPort ? Integer.parseInt(at.substring(colon + 1)) : 7000;
    int expect = Integer.parseInt(args[3]);
    TransportConfig.Builder transport = TransportConfig.builder().connectTimeout(Duration.ofSeconds(2));
    if (args.length > 4 && !args[4].equals("-")) {
      long keepAlive = Long.parseLong(args[4]);
      transport.keepAliveInterval(Duration.ofMillis(keepAlive)).idleTimeout(Duration.ofMillis(Math.max(keepAlive * 3, 15_000)));
    }
    AtomicInteger received = new AtomicInteger();
    long[] latencies = new long[expect]; // microseconds, of timed messages, in arrival order
    AtomicInteger timed = new AtomicInteger();
    try (OverlayNode node = OverlayNode.builder().listen(host, port).trackers(args[1]).stunServers(args[2])
        .stunRefresh(args.length > 5 ? Duration.ofMillis(Long.parseLong(args[5])) : Duration.ofMinutes(5))
        .transport(transport.build()).listener(new dev.overlay.OverlayListener() {
          @Override
          public void onTransportEvent(dev.overlay.TransportEvent event) {
            if (event instanceof dev.overlay.TransportEvent.DialFailed f) System.out.println("DIAL FAILED " + f.address() + " " + f.reason());
          }
        }).build().start()) {
      System.out.println("STARTED " + node.info().candidates());
      java.util.concurrent.ScheduledExecutorService watch = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "nat-watch");
        t.setDaemon(true);
        return t;
      });
      String[] lastNat = {""};
      watch.scheduleWithFixedDelay(() -> { // prints the NAT verdict whenever it changes
        try {
          NodeSnapshot.Nat nat = node.snapshot().nat();
          String line = "NAT " + nat.status() + " mapping=" + nat.mapping() + " reachable_at=" + nat.reachableAt();
          if (!line.equals(lastNat[0])) {
            lastNat[0] = line;
            System.out.println(line + " (" + nat.detail() + ")");
          }
        } catch (InterruptedException | RuntimeException e) {
          // closing
        }
      }, 0, 200, java.util.concurrent.TimeUnit.MILLISECONDS);
      node.subscribe("lab", m -> {
        java.nio.ByteBuffer p = m.payload();
        if (p.remaining() == TIMED_BYTES && p.get(p.position() + 8) == 0) { // "publish <n> <rate>": the first 8 bytes are when
          int i = timed.getAndIncrement();
          if (i < latencies.length) latencies[i] = nowMicros() - p.getLong(p.position());
        }
        int n = received.incrementAndGet();
        if (n % 100 == 0 || n == expect) System.out.println("RECEIVED " + n);
        if (n == expect && timed.get() > 0) {
          int t = Math.min(timed.get(), latencies.length);
          System.out.println("WINDOWS " + windows(latencies, t));
          System.out.println("LATENCY " + percentiles(latencies, t));
        }
      });
      Thread waiting = new Thread(() -> { // commands are taken meanwhile
        try {
          if (!node.awaitNeighbors("lab", 1, Duration.ofSeconds(60))) {
            System.out.println("NO NEIGHBOUR " + counters(node.snapshot()));
          } else {
            NodeSnapshot s = node.snapshot();
            java.util.List<dev.overlay.core.PeerId> active = s.streams().get(0).active();
            for (NodeSnapshot.Link l : s.links()) {
              if (active.contains(l.peer())) System.out.println("NEIGHBOUR " + l.remote()); // not the tracker's link
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "neighbour-wait");
      waiting.setDaemon(true);
      waiting.start();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        String[] cmd = line.trim().split(" ");
        switch (cmd[0]) {
          case "publish" -> {
            int n = Integer.parseInt(cmd[1]);
            if (cmd.length > 2) { // timed, paced at <rate> a second; the first <warm> marked as warm-up, not timed
              long gap = 1_000_000_000L / Long.parseLong(cmd[2]);
              int warm = cmd.length > 3 ? Integer.parseInt(cmd[3]) : 0;
              long next = System.nanoTime();
              for (int i = 1; i <= n; i++) {
                long wait = next - System.nanoTime();
                if (wait > 0) java.util.concurrent.locks.LockSupport.parkNanos(wait);
                next += gap;
                node.publish("lab", java.nio.ByteBuffer.allocate(TIMED_BYTES).putLong(nowMicros()).put((byte) (i <= warm ? 1 : 0)).array()).get();
              }
            } else {
              for (int i = 1; i <= n; i++) {
                node.publish("lab", ("m" + i).getBytes(StandardCharsets.UTF_8)).get();
              }
            }
            System.out.println("PUBLISHED " + n);
          }
          case "idle" -> { // the application is quiet for a while: only keep-alives cross the link
            Thread.sleep(Long.parseLong(cmd[1]));
            System.out.println("IDLE DONE");
          }
          case "counters" -> System.out.println("COUNTERS " + counters(node.snapshot()));
          case "links" -> {
            for (NodeSnapshot.Link l : node.snapshot().links()) System.out.println("LINK " + l.remote());
            System.out.println("LINKS END");
          }
          case "exit" -> {
            return;
          }
          default -> System.out.println("UNKNOWN " + line);
        }
      }
    }
  }

  /** A timed message: 8 bytes of send time, padded to a telemetry-sized payload. */
  static final int TIMED_BYTES = 100;

  /** The wall clock in microseconds: sender and receiver share it, as two processes of one host. */
  private static long nowMicros() {
    java.time.Instant t = java.time.Instant.now();
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }

  /** "p50=<µs> p99=<µs> max=<µs> n=<count>" of the first {@code n} values. */
  static String percentiles(long[] values, int n) {
    long[] v = java.util.Arrays.copyOf(values, n);
    java.util.Arrays.sort(v);
    return "p50=" + v[(int) Math.min(n - 1, Math.round(0.50 * (n - 1)))] + " p99=" + v[(int) Math.min(n - 1, Math.round(0.99 * (n - 1)))]
        + " max=" + v[n - 1] + " n=" + n;
  }

  /**
   * The p99 in milliseconds of each tenth of the first {@code n} values, in arrival order: where
   * in the run the slow messages were (a cold start shows in the first tenths only).
   */
  static String windows(long[] values, int n) {
    StringBuilder b = new StringBuilder("p99_ms_by_tenth=");
    int size = Math.max(1, n / 10);
    for (int from = 0; from + size <= n; from += size) {
      long[] w = java.util.Arrays.copyOfRange(values, from, from + size);
      java.util.Arrays.sort(w);
      b.append(from == 0 ? "" : ",").append(String.format(java.util.Locale.ROOT, "%.1f", w[(int) Math.round(0.99 * (size - 1))] / 1000.0));
    }
    return b.toString();
  }

  private static String counters(NodeSnapshot s) {
    Map<String, Long> sorted = new TreeMap<>(s.counters());
    StringBuilder b = new StringBuilder();
    sorted.forEach((k, v) -> b.append(k).append('=').append(v).append(' '));
    return b.toString().trim();
  }
}
