package dev.overlay.it;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A subscriber node in a process of its own, for {@link MultiProcessChurnTest}. Arguments: an
 * identity file (created if absent, so a restart keeps the identity), a seed's host:port, the
 * stream. Prints {@code READY <peer id>} once it has a neighbour, then answers its stdin:
 * <ul>
 *   <li>{@code WAIT from to millis}: waits until it has every message in [from, to), then prints
 *       {@code OK}, or {@code MISSING <count> <first>} at the deadline;</li>
 *   <li>{@code QUIT}: closes the node and prints {@code BYE <leaks> <duplicates>}: buffer leaks
 *       Netty reported, messages delivered twice.</li>
 * </ul>
 */
public final class NodeProcess {

  public static void main(String[] args) throws Exception {
    // The leak check's detector must be installed before any buffer class loads.
    Class.forName("dev.overlay.testing.LeakCheck", true, NodeProcess.class.getClassLoader());
    NodeIdentity identity = NodeIdentity.loadOrCreate(Path.of(args[0]));
    String stream = args[2];
    Tally tally = new Tally();
    OverlayNode node = OverlayNode.builder().identity(identity).seeds(args[1]).build().start();
    node.subscribe(stream, tally);
    if (!node.awaitNeighbors(stream, 1, Duration.ofSeconds(60))) {
      System.out.println("FAILED no neighbour in 60 s");
      System.exit(2);
    }
    System.out.println("READY " + node.peerId().toHex());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] w = line.trim().split("\\s+");
      if (w[0].equals("WAIT")) {
        long from = Long.parseLong(w[1]);
        long to = Long.parseLong(w[2]);
        long deadline = System.nanoTime() + Long.parseLong(w[3]) * 1_000_000;
        while (!tally.hasAll(from, to) && System.nanoTime() < deadline) {
          java.util.concurrent.locks.LockSupport.parkNanos(5_000_000); // between checks of the condition
        }
        System.out.println(tally.hasAll(from, to) ? "OK" : "MISSING " + tally.missingIn(from, to) + " " + tally.firstMissing(from, to));
      } else if (w[0].equals("QUIT")) {
        node.close();
        List<String> leaks = dev.overlay.testing.LeakCheck.collectLeaks();
        leaks.forEach(System.err::println);
        System.out.println("BYE " + leaks.size() + " " + tally.duplicates());
        System.exit(0);
      }
    }
    node.abort(); // stdin closed: the test is gone
    System.exit(1);
  }
}
