package dev.overlay.lan;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.lan.Mdns.Record;
import dev.overlay.lan.Mdns.Srv;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a LAN attacker can do to the table of found nodes, on loopback's 127.0.0.0/8 as "the LAN"
 * and with a hand-turned clock; no socket is opened (the lab tests the sockets).
 */
class LanDiscoveryTest {

  private static final String TYPE = "_overlay._tcp.local";
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final SplittableRandom rnd = new SplittableRandom(7);
  private DefaultEventLoop loop;
  private LanDiscovery lan;

  @BeforeEach
  void setUp() throws Exception {
    loop = new DefaultEventLoop();
    lan = new LanDiscovery(loop, false, "_overlay._tcp", NetworkInterface.getByName("lo"), "127.0.0.1", now::get, f -> {});
    assertThat(lan.prepare(new PeerInfo(PeerId.random(rnd), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 7000))))).isTrue();
  }

  @AfterEach
  void tearDown() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @Test
  void aFloodOfForgedInstancesWithHugeTtlsNeitherStaysNorLocksOutARealNode() {
    for (int i = 0; i < 300; i++) {
      lan.received(packet("forged-" + i, PeerId.random(rnd), 4_294_967_295L, 5353));
      if (i % 150 == 149) now.addAndGet(TimeUnit.SECONDS.toNanos(1)); // within the 200 packets a second
    }
    assertThat(lan.found()).hasSize(LanDiscovery.MAX_PEERS);
    assertThat(lan.counters().get("lan_peers_refused_table_full")).isEqualTo(300 - LanDiscovery.MAX_PEERS);
    PeerId real = PeerId.random(rnd);
    lan.received(packet("real", real, 120, 5353));
    assertThat(lan.found()).extracting(f -> f.peer().id()).contains(real);
    // Their lives were capped at twice 120 s: past that only what answered again is left.
    now.addAndGet(TimeUnit.SECONDS.toNanos(200));
    lan.received(packet("real", real, 120, 5353));
    now.addAndGet(TimeUnit.SECONDS.toNanos(100));
    assertThat(lan.found()).extracting(f -> f.peer().id()).containsExactly(real);
  }

  @Test
  void aGoodbyeForgetsByInstanceNameAfterASecondNotByTheIdItNames() {
    PeerId real = PeerId.random(rnd);
    lan.received(packet("real", real, 120, 5353));
    // A goodbye for another instance name whose TXT names the real node's id: nothing happens to it.
    lan.received(packet("other", real, 0, 5353));
    now.addAndGet(TimeUnit.SECONDS.toNanos(2));
    assertThat(lan.found()).extracting(f -> f.peer().id()).containsExactly(real);
    // A goodbye under its own name: gone a second later (RFC 6762 10.1), and counted.
    lan.received(packet("real", real, 0, 5353));
    assertThat(lan.found()).hasSize(1);
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    assertThat(lan.found()).isEmpty();
    assertThat(lan.counters().get("lan_goodbyes")).isEqualTo(1);
  }

  @Test
  void offLinkSourcesAndResponsesFromOtherPortsAreNotTaken() {
    PeerId a = PeerId.random(rnd);
    lan.received(new DatagramPacket(Unpooled.wrappedBuffer(response("a", a, 120)), new InetSocketAddress("127.0.0.1", 5353),
        new InetSocketAddress("192.0.2.7", 5353)));
    assertThat(lan.counters().get("lan_packets_refused_off_link")).isEqualTo(1);
    lan.received(packet("a", a, 120, 40000));
    assertThat(lan.found()).isEmpty();
    // And the budget is the LAN's: 200 a second, then refused and counted.
    for (int i = 0; i < 250; i++) lan.received(packet("b" + i, PeerId.random(rnd), 120, 40000));
    assertThat(lan.counters().get("lan_packets_refused_budget")).isEqualTo(250 - LanDiscovery.PACKETS_PER_SECOND + 1);
  }

  private static DatagramPacket packet(String name, PeerId id, long ttl, int port) {
    return new DatagramPacket(Unpooled.wrappedBuffer(response(name, id, ttl)), new InetSocketAddress("127.0.0.1", 5353),
        new InetSocketAddress("127.0.0.9", port));
  }

  private static byte[] response(String name, PeerId id, long ttl) {
    String instance = name + "." + TYPE;
    return Mdns.response(List.of(
        new Record(TYPE, Mdns.TYPE_PTR, false, ttl, instance),
        new Record(instance, Mdns.TYPE_SRV, true, ttl, new Srv(0, 0, 7000, name + ".local")),
        new Record(instance, Mdns.TYPE_TXT, true, ttl, List.of("id=" + id.toHex(), "v=3", "s=*")),
        new Record(name + ".local", Mdns.TYPE_A, true, ttl, new byte[] {127, 0, 0, 9})));
  }
}
