package dev.overlay.bench.natlab;

import dev.overlay.OverlayNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One node of the LAN lab ({@link NatLab#lan()}), in a child JVM inside a lab namespace: no
 * tracker and no seeds, only what LAN discovery finds. It joins stream "lan" and prints, one line
 * each: {@code STARTED <epoch ms> <peer id hex> <incarnation>} once started,
 * {@code FIRST <epoch ms>} at its first delivered message and {@code RECEIVED <n>} every 100.
 * A publisher ({@code pub}) publishes a 16-byte message every 10 ms from the start, whether or not
 * it has neighbours yet. On standard input: {@code counters} prints {@code COUNTERS k=v ...};
 * {@code exit} stops it.
 *
 * <p>Arguments: {@code <listen host> <port> pub|sub on|off} (the last: LAN discovery).
 */
public final class LanNode {

  private LanNode() {}

  public static void main(String[] args) throws Exception {
    boolean publisher = args[2].equals("pub");
    boolean lan = args[3].equals("on");
    AtomicLong received = new AtomicLong();
    try (OverlayNode node = OverlayNode.builder().listen(args[0], Integer.parseInt(args[1])).lanDiscovery(lan).build().start()) {
      node.subscribe("lan", m -> {
        long n = received.incrementAndGet();
        if (n == 1) System.out.println("FIRST " + System.currentTimeMillis());
        if (n % 100 == 0) System.out.println("RECEIVED " + n);
      });
      System.out.println("STARTED " + System.currentTimeMillis() + " " + node.info().id().toHex() + " " + node.info().incarnation());
      if (publisher) {
        Thread t = new Thread(() -> {
          byte[] payload = new byte[16];
          while (!Thread.currentThread().isInterrupted()) {
            node.publish("lan", payload);
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000L); // the lab's own pacing
          }
        }, "lan-publisher");
        t.setDaemon(true);
        t.start();
      }
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (line.equals("exit")) break;
        if (line.equals("counters")) {
          StringBuilder b = new StringBuilder("COUNTERS");
          node.snapshot().counters().forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
          System.out.println(b);
        }
      }
    }
  }
}
