package dev.overlay.nat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A STUN server (RFC 8489) that answers Binding requests over UDP and TCP with the address it saw
 * them come from, so that a deployment needs no third-party server: every tracker runs one.
 *
 * <p>It keeps no state per client over UDP. Over TCP, connections are capped
 * ({@link #MAX_TCP_CONNECTIONS}), each frame is at most {@link StunCodec#MAX_BYTES}, and a
 * connection silent for {@link #TCP_IDLE_SECONDS} is closed. Malformed input is dropped and
 * counted (and closes a TCP connection); a request with comprehension-required attributes the
 * server does not know gets 420 with their list, as the RFC says. It answers on a second UDP
 * port when given one, and names it in OTHER-ADDRESS, so that a client can tell whether its NAT
 * maps endpoint-independently (the RFC 5780 test, on one IP address).
 *
 * <p>One thread of its own: STUN must answer while the tracker's loop is busy, and costs little.
 */
public final class StunServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StunServer.class);
  static final int MAX_TCP_CONNECTIONS = 1024;
  static final int TCP_IDLE_SECONDS = 10;
  /** Malformed-input warnings at most this often: a flood of garbage must not flood the log. */
  private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final String software;
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("overlay-stun", true),
      NioIoHandler.newFactory());
  private final List<Channel> channels = new ArrayList<>();
  private final AtomicInteger tcpOpen = new AtomicInteger();
  private final AtomicLong answered = new AtomicLong();
  private final AtomicLong malformed = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong tcpRefused = new AtomicLong();
  private volatile long lastWarning = System.nanoTime() - LOG_INTERVAL_NANOS;
  private volatile InetSocketAddress other;
  private InetSocketAddress udp;
  private InetSocketAddress tcp;

  /** @param software the SOFTWARE attribute of every answer (a name and version) */
  public StunServer(String software) {
    this.software = software;
  }

  /**
   * Binds UDP and TCP on {@code address} (port 0: any free port, the same for both when it can),
   * and UDP on {@code alternate} too unless it is null.
   */
  public StunServer start(InetSocketAddress address, InetSocketAddress alternate) throws InterruptedException {
    try {
      Channel u = udp(address);
      udp = (InetSocketAddress) u.localAddress();
      Channel t = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              if (tcpOpen.incrementAndGet() > MAX_TCP_CONNECTIONS) {
                tcpOpen.decrementAndGet();
                tcpRefused.incrementAndGet();
                ch.close();
                return;
              }
              ch.closeFuture().addListener(f -> tcpOpen.decrementAndGet());
              ch.pipeline()
                  .addLast(new ReadTimeoutHandler(TCP_IDLE_SECONDS))
                  // A frame is the 20-byte header plus the length it states.
                  .addLast(new LengthFieldBasedFrameDecoder(StunCodec.MAX_BYTES, 2, 2, 16, 0))
                  .addLast(new TcpHandler());
            }
          }).bind(new InetSocketAddress(address.getAddress(), udp.getPort())).sync().channel();
      channels.add(t);
      tcp = (InetSocketAddress) t.localAddress();
      if (alternate != null) {
        Channel a = udp(alternate);
        other = (InetSocketAddress) a.localAddress();
      }
      return this;
    } catch (InterruptedException | RuntimeException e) {
      close();
      throw e;
    }
  }

  private Channel udp(InetSocketAddress address) throws InterruptedException {
    Channel c = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(new UdpHandler()).bind(address).sync().channel();
    channels.add(c);
    return c;
  }

  public InetSocketAddress udpAddress() {
    return udp;
  }

  public InetSocketAddress tcpAddress() {
    return tcp;
  }

  /** The second UDP address, or null. */
  public InetSocketAddress alternateAddress() {
    return other;
  }

  /** The server's counters at one moment. */
  public record Counters(long answered, long errors, long malformed, long tcpRefused, int tcpOpen) {}

  public Counters counters() {
    return new Counters(answered.get(), errors.get(), malformed.get(), tcpRefused.get(), tcpOpen.get());
  }

  @Override
  public void close() {
    for (Channel c : channels) c.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** The answer to one message from {@code from}, or null when it gets none (anything but a request). */
  byte[] answer(ByteBuffer in, InetSocketAddress from) {
    StunMessage m;
    try {
      m = StunCodec.decode(in);
    } catch (StunCodec.MalformedException e) {
      malformed.incrementAndGet();
      long now = System.nanoTime();
      if (now - lastWarning >= LOG_INTERVAL_NANOS) {
        lastWarning = now;
        log.warn("dropped a malformed STUN message from {}: {} ({} so far)", from, e.getMessage(), malformed.get());
      }
      return null;
    }
    if (!m.isRequest()) return null; // indications and answers are not ours to answer
    byte[] tid = m.transactionId();
    if (m.method() != 1) {
      errors.incrementAndGet();
      return StunCodec.encode(StunMessage.errorAnswer(m.type(), tid, 400, "only Binding is served", List.of(), software));
    }
    List<Integer> unknown = new ArrayList<>(m.unknownRequired());
    if (m.changeRequest() != 0) unknown.add(StunCodec.CHANGE_REQUEST); // one address here: nothing to change to
    if (!unknown.isEmpty()) {
      errors.incrementAndGet();
      return StunCodec.encode(StunMessage.bindingError(tid, 420, "Unknown Attribute", unknown, software));
    }
    answered.incrementAndGet();
    return StunCodec.encode(StunMessage.bindingSuccess(tid, from, other, software));
  }

  private final class UdpHandler extends SimpleChannelInboundHandler<DatagramPacket> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
      byte[] out = answer(p.content().nioBuffer(), p.sender());
      if (out != null) ctx.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(out), p.sender()));
    }
  }

  private final class TcpHandler extends SimpleChannelInboundHandler<ByteBuf> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
      long before = malformed.get();
      byte[] out = answer(frame.nioBuffer(), (InetSocketAddress) ctx.channel().remoteAddress());
      if (out != null) ctx.writeAndFlush(Unpooled.wrappedBuffer(out));
      else if (malformed.get() != before) ctx.close(); // a stream out of step cannot be resynchronised
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A frame over the limit counts as malformed; a read timeout or a reset does not. Either way, this connection only.
      if (cause instanceof io.netty.handler.codec.TooLongFrameException) malformed.incrementAndGet();
      ctx.close();
    }
  }
}
