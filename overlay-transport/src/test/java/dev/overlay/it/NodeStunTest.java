package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.OverlayNode;
import dev.overlay.core.Candidate;
import dev.overlay.nat.StunCodec;
import dev.overlay.nat.StunMessage;
import dev.overlay.nat.StunServer;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** A node that is given STUN servers learns its reflexive address when it starts, and advertises it. */
class NodeStunTest {

  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  /** A STUN server that says every request came from 203.0.113.5:9, as one behind a NAT would be told. */
  private static Thread natted(DatagramSocket s) {
    Thread t = new Thread(() -> {
      DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
      try {
        while (true) {
          s.receive(p);
          StunMessage m = StunCodec.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength()));
          byte[] out = StunCodec.encode(StunMessage.bindingSuccess(m.transactionId(),
              new InetSocketAddress(InetAddress.getByName("203.0.113.5"), 9), null, null));
          s.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
        }
      } catch (SocketException closed) {
        // the test is over
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }, "fake-stun");
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Test
  void aNodeBehindANatAdvertisesItsReflexiveAddressWithItsListenPort() throws Exception {
    try (DatagramSocket fake = new DatagramSocket(0, LOOPBACK)) {
      natted(fake);
      try (OverlayNode n = OverlayNode.builder().stunServers("127.0.0.1:" + fake.getLocalPort()).build().start()) {
        var candidates = n.info().candidates();
        int port = candidates.get(0).port();
        assertThat(candidates).containsExactly(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", port),
            new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.5", port));
        assertThat(n.snapshot().self().candidates()).isEqualTo(candidates);
      }
    }
  }

  @Test
  void aReflexiveAddressThatIsTheLocalOneAddsNothing() throws Exception {
    try (StunServer server = new StunServer(null).start(new InetSocketAddress(LOOPBACK, 0), null);
         OverlayNode n = OverlayNode.builder().stunServers("127.0.0.1:" + server.udpAddress().getPort()).build().start()) {
      assertThat(n.info().candidates()).extracting(Candidate::kind).containsExactly(Candidate.Kind.LOCAL);
      assertThat(server.counters().answered()).isEqualTo(1);
    }
  }

  @Test
  void noAnswerFromTheFirstServerMovesOnToTheNextAndNoneAtAllStartsWithTheLocalAddressOnly() throws Exception {
    try (DatagramSocket silent = new DatagramSocket(0, LOOPBACK); DatagramSocket fake = new DatagramSocket(0, LOOPBACK)) {
      natted(fake);
      try (OverlayNode n = OverlayNode.builder()
          .stunServers("127.0.0.1:" + silent.getLocalPort(), "127.0.0.1:" + fake.getLocalPort()).build().start()) {
        assertThat(n.info().candidates()).extracting(Candidate::host).containsExactly("127.0.0.1", "203.0.113.5");
      }
      try (OverlayNode alone = OverlayNode.builder().stunServers("127.0.0.1:" + silent.getLocalPort()).build().start()) {
        assertThat(alone.info().candidates()).extracting(Candidate::kind).containsExactly(Candidate.Kind.LOCAL);
      }
    }
  }
}
