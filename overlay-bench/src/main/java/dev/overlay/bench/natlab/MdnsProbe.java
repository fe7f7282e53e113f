package dev.overlay.bench.natlab;

import dev.overlay.OverlayNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import javax.jmdns.JmDNS;
import javax.jmdns.ServiceEvent;
import javax.jmdns.ServiceInfo;
import javax.jmdns.ServiceListener;

/**
 * One side of the mDNS comparison (the {@code lanlab} command), in a lab namespace: JmDNS or Overlay's
 * own LAN discovery, publishing or browsing {@code _overlay._tcp.local}. It prints
 * {@code THREADS_ADDED <n>} (threads the mDNS part added) and {@code HEAP_ADDED <bytes>} (heap
 * retained after GC, beyond the same process without it), and when browsing
 * {@code RESOLVED <ms>}: from the start of discovery to the first instance resolved with its
 * address, port and TXT. Stops when its input ends.
 *
 * <p>Arguments: {@code jmdns|overlay publish|browse <address> <port>}.
 */
public final class MdnsProbe {

  private MdnsProbe() {}

  public static void main(String[] args) throws Exception {
    String impl = args[0];
    boolean browse = args[1].equals("browse");
    String address = args[2];
    int port = Integer.parseInt(args[3]);
    if (impl.equals("jmdns")) {
      jmdns(browse, address, port);
    } else {
      overlay(browse, address, port);
    }
  }

  private static void jmdns(boolean browse, String address, int port) throws Exception {
    int threads = threads();
    long heap = heapAfterGc();
    long t0 = System.nanoTime();
    JmDNS jm = JmDNS.create(InetAddress.getByName(address), "probe-" + ProcessHandle.current().pid());
    if (browse) {
      jm.addServiceListener("_overlay._tcp.local.", new ServiceListener() {
        private boolean done;

        @Override
        public void serviceAdded(ServiceEvent e) {
          e.getDNS().requestServiceInfo(e.getType(), e.getName(), 1);
        }

        @Override
        public void serviceRemoved(ServiceEvent e) {}

        @Override
        public synchronized void serviceResolved(ServiceEvent e) {
          ServiceInfo i = e.getInfo();
          if (done || i.getInet4Addresses().length == 0 || i.getPort() == 0 || i.getPropertyString("id") == null) return;
          done = true;
          System.out.printf("RESOLVED %.1f %s:%d id=%s%n", (System.nanoTime() - t0) / 1e6, i.getInet4Addresses()[0].getHostAddress(),
              i.getPort(), i.getPropertyString("id"));
        }
      });
    } else {
      jm.registerService(ServiceInfo.create("_overlay._tcp.local.", "jmdns-published", port, 0, 0,
          Map.of("id", "00".repeat(32), "v", "3", "s", "*")));
    }
    settle();
    System.out.println("THREADS_ADDED " + (threads() - threads));
    System.out.println("HEAP_ADDED " + (heapAfterGc() - heap));
    waitForEndOfInput();
    jm.close();
  }

  private static void overlay(boolean browse, String address, int port) throws Exception {
    // The same node with and without LAN discovery: what discovery adds.
    OverlayNode plain = OverlayNode.builder().listen(address, port + 1).build().start();
    plain.join("lan");
    settle();
    int threads = threads();
    long heap = heapAfterGc();
    plain.close();
    long t0 = System.nanoTime();
    OverlayNode node = OverlayNode.builder().listen(address, port).lanDiscovery(true).build().start();
    node.join("lan");
    if (browse) {
      while (node.snapshot().counters().getOrDefault("lan_peers_now", 0L) == 0) LockSupport.parkNanos(2_000_000L);
      System.out.printf("RESOLVED %.1f%n", (System.nanoTime() - t0) / 1e6);
    }
    settle();
    System.out.println("THREADS_ADDED " + (threads() - threads));
    System.out.println("HEAP_ADDED " + (heapAfterGc() - heap));
    waitForEndOfInput();
    node.close();
  }

  /** Lets start-up threads come and go (the lab's own pacing). */
  private static void settle() {
    LockSupport.parkNanos(2_000_000_000L);
  }

  private static int threads() {
    return ManagementFactory.getThreadMXBean().getThreadCount();
  }

  private static long heapAfterGc() {
    for (int i = 0; i < 3; i++) System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static void waitForEndOfInput() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    while (in.readLine() != null) {
      // until the command closes our input
    }
  }
}
