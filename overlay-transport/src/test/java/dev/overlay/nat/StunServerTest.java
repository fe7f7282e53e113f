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
      assertThat(r.other()).isEqualTo(server.alternateAddress());
      assertThat(r.software()).isEqualTo("overlay-test");
      assertThat(r.requests()).isEqualTo(1);
      assertThat(client.mapping(server.udpAddress(), null).get(10, TimeUnit.SECONDS))
          .as("no NAT on loopback: one mapping whatever the destination").isEqualTo(StunClient.Mapping.ENDPOINT_INDEPENDENT);
    }
    assertThat(server.counters().answered()).isEqualTo(3);
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
    assertThat(exchange(new byte[] {0, 1, 0, 0, 1, 2, 3})).isNull();
    dev.overlay.testing.Await.until(Duration.ofSeconds(30), () -> server.counters().malformed() == 1,
        () -> "counted as malformed: " + server.counters());
    assertThat(server.counters().answered()).isZero();
  }

  @Test
  void aSilentServerIsRetriedAsTheRfcSaysThenGivenUp() throws Exception {
    try (DatagramSocket silent = new DatagramSocket(ANY_LOOPBACK);
         StunClient client = StunClient.udp(group, ANY_LOOPBACK, FAST)) {
      var answer = client.binding((InetSocketAddress) silent.getLocalSocketAddress());
      int got = 0;
      silent.setSoTimeout(5_000);
      DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
      for (int i = 0; i < FAST.rc(); i++) {
        silent.receive(p);
        assertThat(StunCodec.decode(ByteBuffer.wrap(p.getData(), 0, p.getLength())).isRequest()).isTrue();
        got++;
      }
      assertThat(got).isEqualTo(FAST.rc());
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

  /** Sends one datagram to the server and returns its answer, or null if none comes within 1 s. */
  private Object exchange(byte[] request) throws Exception {
    try (DatagramSocket s = new DatagramSocket(ANY_LOOPBACK)) {
      s.send(new DatagramPacket(request, request.length, server.udpAddress()));
      s.setSoTimeout(1_000);
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
