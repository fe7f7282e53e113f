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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A node that is given STUN servers learns its reflexive address when it starts, and advertises it. */
class NodeStunTest {

  private static final String LOCAL = "127.0.0.1";
  private final List<Throwable> fakeErrors = new CopyOnWriteArrayList<>();

  @AfterEach
  void noErrorsInTheFakeServers() {
    assertThat(fakeErrors).as("errors in the fake STUN servers").isEmpty();
  }

  /** Listens on every address (a node on loopback asks no STUN server), advertising loopback. */
  private static OverlayNode.Builder node() {
    return OverlayNode.builder().listen("0.0.0.0", 0).advertise(LOCAL);
  }

  /** A STUN server that says every request came from {@code seen}:9, as one behind a NAT would be told. */
  private AtomicInteger fake(DatagramSocket s, String seen) {
    AtomicInteger asked = new AtomicInteger();
    Thread t = new Thread(() -> {
      DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
      try {
        while (true) {
          s.receive(p);
          asked.incrementAndGet();
          StunMessage m = StunCodec.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength()));
          byte[] out = StunCodec.encode(StunMessage.bindingSuccess(m.transactionId(),
              new InetSocketAddress(InetAddress.getByName(seen), 9), null, null));
          s.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
        }
      } catch (SocketException closed) {
        // the test is over
      } catch (Exception | AssertionError e) {
        fakeErrors.add(e);
      }
    }, "fake-stun");
    t.setDaemon(true);
    t.start();
    return asked;
  }

  private static DatagramSocket socket() throws Exception {
    return new DatagramSocket(0, InetAddress.getByName(LOCAL));
  }

  @Test
  void aNodeBehindANatAdvertisesItsReflexiveAddressWithItsListenPort() throws Exception {
    try (DatagramSocket fake = socket()) {
      fake(fake, "203.0.113.5");
      try (OverlayNode n = node().stunServers(LOCAL + ":" + fake.getLocalPort()).build().start()) {
        var candidates = n.info().candidates();
        int port = candidates.get(0).port();
        assertThat(candidates).containsExactly(new Candidate(Candidate.Kind.LOCAL, LOCAL, port),
            new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.5", port));
        assertThat(n.snapshot().self().candidates()).isEqualTo(candidates);
      }
    }
  }

  @Test
  void aReflexiveAddressThatIsTheLocalOneAddsNothing() throws Exception {
    try (StunServer server = new StunServer(null).start(new InetSocketAddress(InetAddress.getByName(LOCAL), 0), null);
         OverlayNode n = node().stunServers(LOCAL + ":" + server.udpAddress().getPort()).build().start()) {
      assertThat(n.info().candidates()).extracting(Candidate::kind).containsExactly(Candidate.Kind.LOCAL);
      assertThat(server.counters().answered()).isPositive();
    }
  }

  @Test
  void anAnswerNamingALoopbackOrLinkLocalAddressIsNotAdvertised() throws Exception {
    try (DatagramSocket loop = socket(); DatagramSocket metadata = socket()) {
      fake(loop, "127.0.0.2");
      fake(metadata, "169.254.169.254");
      try (OverlayNode n = node().stunServers(LOCAL + ":" + loop.getLocalPort(), LOCAL + ":" + metadata.getLocalPort())
          .build().start()) {
        assertThat(n.info().candidates()).extracting(Candidate::kind).containsExactly(Candidate.Kind.LOCAL);
      }
    }
  }

  @Test
  void aNodeListeningOnLoopbackAsksNoStunServer() throws Exception {
    try (DatagramSocket fake = socket()) {
      AtomicInteger asked = fake(fake, "203.0.113.5");
      try (OverlayNode n = OverlayNode.builder().stunServers(LOCAL + ":" + fake.getLocalPort()).build().start()) {
        assertThat(n.info().candidates()).extracting(Candidate::kind).containsExactly(Candidate.Kind.LOCAL);
      }
      assertThat(asked).hasValue(0);
    }
  }

  @Test
  void noAnswerFromTheFirstServerMovesOnToTheNextAndNoneAtAllStartsWithTheLocalAddressOnly() throws Exception {
    try (DatagramSocket silent = socket(); DatagramSocket fake = socket()) {
      fake(fake, "203.0.113.5");
      try (OverlayNode n = node().stunServers(LOCAL + ":" + silent.getLocalPort(), LOCAL + ":" + fake.getLocalPort())
          .build().start()) {
        assertThat(n.info().candidates()).extracting(Candidate::host).containsExactly(LOCAL, "203.0.113.5");
      }
      try (OverlayNode alone = node().stunServers(LOCAL + ":" + silent.getLocalPort()).build().start()) {
        assertThat(alone.info().candidates()).extracting(Candidate::kind).containsExactly(Candidate.Kind.LOCAL);
      }
    }
  }
}
