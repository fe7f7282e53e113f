package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.identity.TlsContexts;
import dev.overlay.testing.Await;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.proto.Frame;
import dev.overlay.wire.proto.Hello;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile and mistaken peers against a live node: each bad connection is closed on its own, with
 * its reason, while the node's links and streams carry on.
 */
class BadPeersTest {

  private static final Duration DEADLINE = Duration.ofSeconds(20);
  private TestNetwork net;
  private EventLoopGroup rogueGroup;
  private OverlayNode a;
  private OverlayNode b;
  private TestNetwork.Events bEvents;
  private final Tally s1 = new Tally();
  private final Tally s2 = new Tally();

  @BeforeEach
  void setUp() throws Exception {
    net = new TestNetwork();
    rogueGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    a = net.start(null);
    a.join("bad/one");
    a.join("bad/two");
    bEvents = new TestNetwork.Events();
    b = net.start(null, a, bEvents);
    b.subscribe("bad/one", s1);
    b.subscribe("bad/two", s2);
    assertThat(b.awaitNeighbors("bad/one", 1, DEADLINE)).isTrue();
    assertThat(b.awaitNeighbors("bad/two", 1, DEADLINE)).isTrue();
    assertThat(a.awaitNeighbors("bad/two", 1, DEADLINE)).isTrue();
  }

  @AfterEach
  void tearDown() {
    net.close();
    rogueGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private static byte[] framed(byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int v = body.length;
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** Opens a TLS connection to b as a node of its own, sends HELLO, then {@code after}; returns the channel. */
  private Channel rogueTls(byte... after) throws Exception {
    NodeIdentity rogue = NodeIdentity.generate();
    TlsContexts tls = new TlsContexts(rogue, true);
    PeerInfo info = new PeerInfo(rogue.peerId(), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 9)));
    byte[] hello = framed(Frame.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(WireCodec.PROTOCOL_VERSION)
        .setMinProtocolVersion(WireCodec.MIN_PROTOCOL_VERSION).setSender(WireCodec.peerInfo(info)).setMaxFrameBytes(1 << 20))
        .build().toByteArray());
    CompletableFuture<Void> sent = new CompletableFuture<>();
    InetSocketAddress to = b.address();
    Channel ch = new Bootstrap().group(rogueGroup).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel c) {
        SslHandler ssl = tls.client().newHandler(c.alloc(), to.getHostString(), to.getPort());
        c.pipeline().addLast(ssl, new ChannelInboundHandlerAdapter() {
          @Override
          public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
              ctx.write(Unpooled.wrappedBuffer(hello));
              ctx.writeAndFlush(Unpooled.wrappedBuffer(after));
              sent.complete(null);
            }
          }

          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg); // whatever b says (its HELLO) does not matter here
          }
        });
      }
    }).connect(to).sync().channel();
    sent.get(10, TimeUnit.SECONDS);
    return ch;
  }

  private List<TransportEvent.ConnectionRejected> rejections() {
    return bEvents.of(TransportEvent.ConnectionRejected.class);
  }

  private void bothStreamsStillDeliver(int from) throws Exception {
    for (int i = from; i < from + 300; i++) {
      a.publish("bad/one", Tally.payload(i, 50));
      a.publish("bad/two", Tally.payload(i, 50));
    }
    Await.until(DEADLINE, () -> s1.hasAll(from, from + 300) && s2.hasAll(from, from + 300),
        () -> "both streams at b: missing " + s1.missingIn(from, from + 300) + " and " + s2.missingIn(from, from + 300));
    assertThat(b.snapshot().link(a.peerId())).as("b's link to a survived").isNotNull();
  }

  @Test
  void garbageInsteadOfTlsClosesOnlyThatConnection() throws Exception {
    bothStreamsStillDeliver(0);
    byte[] junk = new byte[4096];
    new Random(1).nextBytes(junk);
    try (Socket s = new Socket(b.address().getHostString(), b.address().getPort())) {
      OutputStream out = s.getOutputStream();
      out.write(junk);
      out.flush();
      Await.until(DEADLINE, () -> !rejections().isEmpty(), () -> "a rejection at b; events " + bEvents.all);
    }
    assertThat(rejections().get(0).reason()).startsWith("TLS").contains("not an SSL/TLS record");
    bothStreamsStillDeliver(300);
  }

  @Test
  void aMalformedFrameClosesOnlyThatConnection() throws Exception {
    bothStreamsStillDeliver(0);
    Channel rogue = rogueTls(framed(new byte[] {1 << 3 | 2, 100, 1, 2, 3}));
    Await.until(DEADLINE, () -> !rogue.isActive(), () -> "b to close the rogue connection");
    Await.until(DEADLINE, () -> !rejections().isEmpty(), () -> "a rejection at b");
    assertThat(rejections().get(0).reason()).startsWith("malformed frame");
    assertThat(b.snapshot().counters().get("frames_rejected")).isEqualTo(1);
    bothStreamsStillDeliver(300);
  }

  @Test
  void anOversizedFrameIsRefusedBeforeItArrives() throws Exception {
    bothStreamsStillDeliver(0);
    // A length prefix of 64 MiB; the rest never comes. b must refuse on the prefix alone.
    Channel rogue = rogueTls((byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x20);
    Await.until(DEADLINE, () -> !rogue.isActive(), () -> "b to close the rogue connection");
    Await.until(DEADLINE, () -> !rejections().isEmpty(), () -> "a rejection at b");
    assertThat(rejections().get(0).reason()).startsWith("bad frame").contains("67108864");
    bothStreamsStillDeliver(300);
  }

  @Test
  void aPeerThatIsNotWhoWeDialledIsRefused() throws Exception {
    PeerId expected = PeerId.random(new Random(2));
    TestNetwork.Events eEvents = new TestNetwork.Events();
    // e believes b's address belongs to someone else: TLS proves otherwise.
    OverlayNode e = OverlayNode.builder().seed(new PeerInfo(expected, 1, b.info().candidates())).listener(eEvents).build().start();
    try {
      e.join("bad/one");
      Await.until(DEADLINE, () -> !eEvents.of(TransportEvent.DialFailed.class).isEmpty(), () -> "a failed dial; events " + eEvents.all);
      TransportEvent.DialFailed failed = eEvents.of(TransportEvent.DialFailed.class).get(0);
      assertThat(failed.peer()).isEqualTo(expected);
      assertThat(failed.reason()).startsWith("peer identity mismatch").contains(b.peerId().toHex());
      assertThat(e.snapshot().links()).isEmpty();
    } finally {
      e.close();
    }
    bothStreamsStillDeliver(0);
  }
}
