package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.Candidate;
import dev.overlay.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * IPv6 beside IPv4, on this machine's own addresses: a node listening on the IPv6 wildcard
 * advertises the host's addresses of both families (not the wildcard, which no peer can dial),
 * and a peer told of it races those candidates and links at one of them; a node on IPv6
 * loopback links with one on IPv4 loopback.
 */
class DualStackTest {

  /** Whether this machine can listen on IPv6 loopback at all (a kernel or JVM without IPv6 cannot). */
  private static boolean ipv6Here() {
    try (java.net.ServerSocket s = new java.net.ServerSocket()) {
      s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 0));
      return true;
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  /** The host's addresses now, as the node would write them (no scope). */
  private static Set<String> hostAddresses() throws java.net.SocketException {
    Set<String> out = new java.util.HashSet<>();
    for (java.net.NetworkInterface ni : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
      for (java.net.InetAddress a : java.util.Collections.list(ni.getInetAddresses())) {
        String h = a.getHostAddress();
        out.add(h.indexOf('%') >= 0 ? h.substring(0, h.indexOf('%')) : h);
      }
    }
    return out;
  }

  @Test
  void aNodeOnTheIpv6WildcardAdvertisesTheHostsAddressesAndAPeerToldOfItLinksAtOne() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(ipv6Here(), "this machine cannot listen on IPv6 (::1)");
    Set<String> linkedAt = ConcurrentHashMap.newKeySet();
    AtomicInteger received = new AtomicInteger();
    try (OverlayNode seed = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0).build().start();
         OverlayNode v6 = OverlayNode.builder().identity(NodeIdentity.generate()).listen("::1", 0)
             .seeds("127.0.0.1:" + seed.address().getPort()).listener(new OverlayListener() {
               @Override
               public void onTransportEvent(TransportEvent event) {
                 if (event instanceof TransportEvent.LinkUp up && !up.inbound()) linkedAt.add(up.remote());
               }
             }).build().start()) {
      seed.join("dual");
      v6.join("dual");
      assertThat(v6.awaitNeighbors("dual", 1, Duration.ofSeconds(20))).as("::1 links with 127.0.0.1").isTrue();
      v6.subscribe("dual", m -> received.incrementAndGet());

      try (OverlayNode wild = OverlayNode.builder().identity(NodeIdentity.generate()).listen("::", 0)
          .seeds("127.0.0.1:" + seed.address().getPort()).build().start()) {
        List<Candidate> offered = wild.info().candidates();
        Set<String> own = hostAddresses();
        assertThat(offered).isNotEmpty().hasSizeLessThanOrEqualTo(dev.overlay.nat.LocalAddresses.MAX).allSatisfy(c -> {
          assertThat(c.kind()).isEqualTo(Candidate.Kind.LOCAL);
          assertThat(c.host()).as("one of this host's addresses, without a scope").isIn(own).doesNotContain("%");
          assertThat(java.net.InetAddress.getByName(c.host()).isAnyLocalAddress()).as(c.host()).isFalse();
        });

        wild.join("dual");
        // The seed forwards the newcomer's JOIN to its one other neighbour, the node on ::1, whose
        // active view holds one peer: it takes the newcomer, dialling the candidates above.
        Await.until(Duration.ofSeconds(20), () -> linkedAt.stream().anyMatch(r -> offered.stream()
                .anyMatch(c -> r.endsWith(":" + c.port()))),
            () -> "the node on ::1 to link with the wildcard node at one of " + offered + "; linked at " + linkedAt);
        for (int i = 0; i < 50; i++) wild.publish("dual", new byte[] {(byte) i}).get();
        Await.until(Duration.ofSeconds(20), () -> received.get() == 50, () -> received.get() + " of 50 received on ::1");
      }
    }
  }
}
