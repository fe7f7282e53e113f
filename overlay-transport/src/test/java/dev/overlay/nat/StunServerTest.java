package dev.overlay.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Our STUN client against our STUN server, on loopback (no NAT: the reflexive address is the local one). */
class StunServerTest {

  private static final InetSocketAddress ANY_LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  private static final StunClient.Timing FAST = new StunClient.Timing(Duration.ofMillis(50), 3, 2);

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final StunServer server = new StunServer("overlay-test");

  @AfterEach
  void tearDown() {
    server.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aBindingOverUdpAnswersTheAddressTheRequestCameFrom() throws Exception {
    server.start(ANY_LOOPBACK, ANY_LOOPBACK);
    try (StunClient client = StunClient.udp(group, ANY_LOOPBACK, StunClient.Timing.RFC)) {
      StunClient.Result r = client.binding(server.udpAddress()).get(10, TimeUnit.SECONDS);
      assertThat(r.reflexive()).isEqualTo(client.localAddress());
      assertThat(r.other()).isEqualTo(server.alternateAddress()).isEqualTo(server.otherAddress());
      assertThat(r.software()).isEqualTo("overlay-test");
      assertThat(r.requests()).isEqualTo(1);
      assertThat(client.mapping(server.udpAddress(), null).get(10, TimeUnit.SECONDS))
          .as("no NAT on loopback: one mapping whatever the destination").isEqualTo(StunClient.Mapping.ENDPOINT_INDEPENDENT);
    }
    assertThat(server.counters().answered()).isEqualTo(3);
  }

  @Test
  void aNatThatMapsEachDestinationApartIsEndpointDependent() throws Exception {
    try (DatagramSocket one = new DatagramSocket(ANY_LOOPBACK); DatagramSocket two = new DatagramSocket(ANY_LOOPBACK);
         StunClient client = StunClient.udp(group, ANY_LOOPBACK, StunClient.Timing.RFC)) {
      var mapping = client.mapping((InetSocketAddress) one.getLocalSocketAddress(), null);
      // Two servers that see the client at different public ports, as behind a symmetric NAT.
      answer(one, at("203.0.113.1", 40001), (InetSocketAddress) two.getLocalSocketAddress());
      answer(two, at("203.0.113.1", 40002), null);
      assertThat(mapping.get(10, TimeUnit.SECONDS)).isEqualTo(StunClient.Mapping.ENDPOINT_DEPENDENT);
    }
  }

  @Test
  void aServerBoundToAWildcardNamesNoOtherAddressUnlessToldOne() throws Exception {
    server.start(new InetSocketAddress(0), new InetSocketAddress(0));
    assertThat(server.otherAddress()).as("0.0.0.0 names nothing a client could reach").isNull();
    try (StunServer advertised = new StunServer(null).start(new InetSocketAddress(0), new InetSocketAddress(0),
        InetAddress.getByName("192.0.2.7"))) {
      assertThat(advertised.otherAddress()).isEqualTo(new InetSocketAddress(InetAddress.getByName("192.0.2.7"),
          advertised.alternateAddress().getPort()));
    }
  }

  @Test
  void requestsOfOtherMethodsAreDroppedNotReflected() throws Exception {
    server.start(ANY_LOOPBACK, null);
    byte[] allocate = StunCodec.encode(new StunMessage(0x0003, new byte[12], null, null, null, null, 0, null, java.util.List.of(), 0,
        java.util.List.of()));
    assertThat(exchange(allocate, 1_000)).isNull();
    dev.overlay.testing.Await.until(Duration.ofSeconds(30), () -> server.counters().dropped() == 1, () -> "dropped: " + server.counters());
  }

  @Test
  void aTcpConnectionIsClosedAfterItsShareOfAnswersAndOneHostCannotTakeEverySlot() throws Exception {
    server.start(ANY_LOOPBACK, null);
    byte[] request = StunCodec.encode(StunMessage.bindingRequest(new byte[12]));
    // One more request than a connection gets answers for, in one write: the server reads them all
    // at once, so it closes with nothing unread (a clean end, not a reset that could lose answers).
    int n = StunServer.MAX_ANSWERS_PER_CONNECTION + 1;
    byte[] requests = new byte[n * request.length];
    for (int i = 0; i < n; i++) System.arraycopy(request, 0, requests, i * request.length, request.length);
    try (java.net.Socket s = new java.net.Socket(server.tcpAddress().getAddress(), server.tcpAddress().getPort())) {
      s.setSoTimeout(30_000);
      s.getOutputStream().write(requests);
      s.getOutputStream().flush();
      int answers = 0;
      byte[] header = new byte[20];
      java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
      try {
        while (true) {
          in.readFully(header);
          in.readFully(new byte[((header[2] & 0xFF) << 8) | (header[3] & 0xFF)]);
          answers++;
        }
      } catch (java.io.EOFException | java.net.SocketException closed) {
        // the server closed it
      }
      assertThat(answers).isEqualTo(StunServer.MAX_ANSWERS_PER_CONNECTION);
    }
    dev.overlay.testing.Await.until(Duration.ofSeconds(30), () -> server.counters().tcpOpen() == 0, () -> "closed: " + server.counters());
    java.util.List<java.net.Socket> held = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < StunServer.MAX_TCP_PER_ADDRESS; i++) {
        held.add(new java.net.Socket(server.tcpAddress().getAddress(), server.tcpAddress().getPort()));
      }
      dev.overlay.testing.Await.until(Duration.ofSeconds(30), () -> server.counters().tcpOpen() == StunServer.MAX_TCP_PER_ADDRESS,
          () -> "open: " + server.counters());
      try (java.net.Socket one = new java.net.Socket(server.tcpAddress().getAddress(), server.tcpAddress().getPort())) {
        one.setSoTimeout(30_000);
        assertThat(one.getInputStream().read()).as("closed at once").isEqualTo(-1);
      }
      assertThat(server.counters().tcpRefused()).isEqualTo(1);
    } finally {
      for (java.net.Socket s : held) s.close();
    }
  }

  @Test
  void aBindingOverTcpAnswersToo() throws Exception {
    server.start(ANY_LOOPBACK, null);
    StunClient.Result r = StunClient.bindingTcp(group, server.tcpAddress(), Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
    assertThat(r.reflexive()).isEqualTo(r.local());
  }

  @Test
  void aRequestWithAnAttributeTheServerDoesNotKnowGets420WithItsList() throws Exception {
    server.start(ANY_LOOPBACK, null);
    byte[] tid = HexFormat.of().parseHex("000102030405060708090a0b");
    ByteBuffer b = ByteBuffer.allocate(28);
    b.putShort((short) 0x0001).putShort((short) 8).putInt(StunCodec.MAGIC_COOKIE).put(tid)
        .putShort((short) 0x0024).putShort((short) 4).putInt(1); // PRIORITY: comprehension-required, not served
    StunMessage answer = StunMessage.class.cast(exchange(b.array()));
    assertThat(answer.isError()).isTrue();
    assertThat(answer.errorCode()).isEqualTo(420);
    assertThat(answer.unknownAttributes()).containsExactly(0x0024);
    assertThat(answer.transactionId()).isEqualTo(tid);
  }

  @Test
  void malformedInputGetsNoAnswerAndIsCounted() throws Exception {
    server.start(ANY_LOOPBACK, null);
    assertThat(exchange(new byte[] {0, 1, 0, 0, 1, 2, 3}, 1_000)).isNull();
    dev.overlay.testing.Await.until(Duration.ofSeconds(30), () -> server.counters().malformed() == 1,
        () -> "counted as malformed: " + server.counters());
    assertThat(server.counters().answered()).isZero();
  }

  @Test
  void aSilentServerIsRetriedAsTheRfcSaysThenGivenUp() throws Exception {
    try (DatagramSocket silent = new DatagramSocket(ANY_LOOPBACK);
         StunClient client = StunClient.udp(group, ANY_LOOPBACK, FAST)) {
      long start = System.nanoTime(); // before the first request: request k cannot leave before start + its schedule
      var answer = client.binding((InetSocketAddress) silent.getLocalSocketAddress());
      int got = 0;
      silent.setSoTimeout(5_000);
      DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
      long[] at = new long[FAST.rc()];
      for (int i = 0; i < FAST.rc(); i++) {
        silent.receive(p);
        at[i] = System.nanoTime();
        assertThat(StunCodec.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength())).isRequest()).isTrue();
        got++;
      }
      assertThat(got).isEqualTo(FAST.rc());
      // Lower bounds from before the first send (a slow machine, or a late read here, only makes
      // them later): the second request leaves RTO after the first, the third 2 RTO after that.
      long rto = FAST.rto().toNanos();
      assertThat(at[1] - start).isGreaterThanOrEqualTo(rto);
      assertThat(at[2] - start).isGreaterThanOrEqualTo(3 * rto);
      assertThatThrownBy(() -> answer.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(TimeoutException.class).hasMessageContaining("to 3 requests");
      silent.setSoTimeout(300);
      assertThatThrownBy(() -> silent.receive(p)).as("nothing after the last retransmission")
          .isInstanceOf(SocketTimeoutException.class);
    }
  }

  @Test
  void anAnswerFromAnotherAddressOrForAnotherTransactionIsIgnored() throws Exception {
    try (DatagramSocket fake = new DatagramSocket(ANY_LOOPBACK);
         DatagramSocket stranger = new DatagramSocket(ANY_LOOPBACK);
         StunClient client = StunClient.udp(group, ANY_LOOPBACK, StunClient.Timing.RFC)) {
      var answer = client.binding((InetSocketAddress) fake.getLocalSocketAddress());
      DatagramPacket req = new DatagramPacket(new byte[1500], 1500);
      fake.setSoTimeout(5_000);
      fake.receive(req);
      StunMessage m = StunCodec.decode(ByteBuffer.wrap(req.getData(), 0, req.getLength()));
      InetSocketAddress lie = new InetSocketAddress(InetAddress.getByName("192.0.2.66"), 1);
      byte[] forged = StunCodec.encode(StunMessage.bindingSuccess(m.transactionId(), lie, null, null));
      stranger.send(new DatagramPacket(forged, forged.length, client.localAddress())); // right id, wrong sender
      byte[] other = StunCodec.encode(StunMessage.bindingSuccess(new byte[12], lie, null, null));
      fake.send(new DatagramPacket(other, other.length, client.localAddress())); // right sender, no such transaction
      byte[] real = StunCodec.encode(StunMessage.bindingSuccess(m.transactionId(), client.localAddress(), null, null));
      fake.send(new DatagramPacket(real, real.length, client.localAddress()));

      assertThat(answer.get(10, TimeUnit.SECONDS).reflexive()).isEqualTo(client.localAddress());
      assertThat(client.ignored()).isEqualTo(2);
    }
  }

  private static InetSocketAddress at(String ip, int port) throws Exception {
    return new InetSocketAddress(InetAddress.getByName(ip), port);
  }

  /** Plays a STUN server on {@code s} for one request: answers it with {@code seen} and {@code other}. */
  private static void answer(DatagramSocket s, InetSocketAddress seen, InetSocketAddress other) throws Exception {
    s.setSoTimeout(30_000);
    DatagramPacket req = new DatagramPacket(new byte[1500], 1500);
    s.receive(req);
    StunMessage m = StunCodec.decode(ByteBuffer.wrap(req.getData(), 0, req.getLength()));
    byte[] out = StunCodec.encode(StunMessage.bindingSuccess(m.transactionId(), seen, other, null));
    s.send(new DatagramPacket(out, out.length, req.getSocketAddress()));
  }

  /** Sends one datagram to the server and returns its answer, or null if none comes within 10 s. */
  private Object exchange(byte[] request) throws Exception {
    return exchange(request, 10_000);
  }

  /** ... or within {@code waitMillis}: short only where no answer is the expected outcome. */
  private Object exchange(byte[] request, int waitMillis) throws Exception {
    try (DatagramSocket s = new DatagramSocket(ANY_LOOPBACK)) {
      s.send(new DatagramPacket(request, request.length, server.udpAddress()));
      s.setSoTimeout(waitMillis);
      DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
      try {
        s.receive(p);
      } catch (SocketTimeoutException e) {
        return null;
      }
      return StunCodec.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength()));
    }
  }
}
