package dev.overlay.bench;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import dev.overlay.core.StartAt;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * The subscriber process of {@link RestartsCommand}: one node, started with its key, that
 * subscribes from the position its parent gives (the end of what it had processed before it was
 * killed) and prints what it delivers. The parent keeps the printed positions, as an application
 * would keep its own, and kills this process with SIGKILL.
 *
 * <p>Arguments: seed host:port, key file, position ("-" for the first run, else
 * publisher-hex:session:seq), storage node ("-" for none, else id@host:port). Prints
 * {@code STARTED ms} when {@code start()} returned, {@code FIRST ms} at the first delivery (both
 * from just before {@code start()}), then {@code D session seq} per message. Ends when its
 * standard input closes.
 */
public final class RestartSubscriber {

  private RestartSubscriber() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, java.nio.charset.StandardCharsets.US_ASCII);
    NodeIdentity identity = NodeIdentity.loadOrCreate(Path.of(args[1]));
    OverlayNode.Builder b = OverlayNode.builder().identity(identity).listen("127.0.0.1", 0).seeds(args[0]);
    if (!args[3].equals("-")) b.storageNodes(args[3]);
    if (Boolean.getBoolean("overlay.restarts.trace")) {
      long origin = System.nanoTime();
      b.listener(new dev.overlay.OverlayListener() {
        @Override
        public void onEvent(dev.overlay.core.OverlayEvent e) {
          System.err.printf("%8.1f ms %s%n", (System.nanoTime() - origin) / 1e6, e);
        }

        @Override
        public void onTransportEvent(dev.overlay.TransportEvent e) {
          System.err.printf("%8.1f ms %s%n", (System.nanoTime() - origin) / 1e6, e);
        }
      });
    }
    // The first run starts before the publisher does: "latest 1" is a positioned start (so it is
    // delivered in order, like a restart) that fetches nothing older.
    StartAt start = StartAt.latest(1);
    if (!args[2].equals("-")) {
      String[] p = args[2].split(":");
      start = StartAt.after(new Position(PeerId.fromBytes(HexFormat.of().parseHex(p[0])), Long.parseLong(p[1]), Long.parseLong(p[2])));
    }
    System.err.println("starting at " + start + " (" + args[2] + ")");
    long t0 = System.nanoTime();
    OverlayNode node = b.build().start();
    out.println("STARTED " + (System.nanoTime() - t0) / 1_000_000.0);
    out.flush();
    boolean[] first = {true};
    node.subscribe(RestartsCommand.STREAM, m -> {
      synchronized (out) {
        if (first[0]) {
          first[0] = false;
          out.println("FIRST " + (System.nanoTime() - t0) / 1_000_000.0 + " " + m.position().seq());
        }
        out.println("D " + m.position().session() + " " + m.position().seq());
        out.flush();
      }
    }, null, start);
    Thread neighbour = new Thread(() -> {
      try {
        if (node.awaitNeighbors(RestartsCommand.STREAM, 1, java.time.Duration.ofSeconds(60))) {
          synchronized (out) {
            out.println("NEIGHBOUR " + (System.nanoTime() - t0) / 1_000_000.0);
            out.flush();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    neighbour.setDaemon(true);
    neighbour.start();
    while (System.in.read() >= 0) {
      // until the parent closes our input
    }
    node.close();
  }
}
