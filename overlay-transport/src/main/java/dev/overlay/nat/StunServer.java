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
 * <p>It keeps no state per client over UDP, and its answers are small (40 bytes for IPv4, 52
 * with OTHER-ADDRESS: about twice a request), so a spoofed source gains little by reflecting
 * off it; requests of other methods are dropped, not answered. Over TCP, connections are capped
 * ({@link #MAX_TCP_CONNECTIONS}, {@link #MAX_TCP_PER_ADDRESS} per source address), each frame
 * is at most {@link StunCodec#MAX_BYTES}, a connection silent for {@link #TCP_IDLE_SECONDS} or
 * older than {@link #TCP_LIFETIME_SECONDS} is closed, and so is one that does not read its
 * answers. Malformed input is dropped and counted (and closes a TCP connection); a request with
 * comprehension-required attributes the server does not know gets 420 with their list, as the
 * RFC says. It answers on a second UDP port when given one, and names it in OTHER-ADDRESS when
 * it knows a routable address to name, so that a client can tell whether its NAT's mapping
 * depends on the destination port (RFC 5780's test, on one IP address: an address-dependent
 * mapping looks independent here).
 *
 * <p>One thread of its own: STUN must answer while the tracker's loop is busy, and costs little.
 */
public final class StunServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StunServer.class);
  static final int MAX_TCP_CONNECTIONS = 1024;
  /** One host cannot take every slot. */
  static final int MAX_TCP_PER_ADDRESS = 16;
  static final int TCP_IDLE_SECONDS = 10;
  /** A connection trickling a byte now and then still ends: a binding needs one exchange. */
  static final int TCP_LIFETIME_SECONDS = 30;
  /** Answers per TCP connection; then it is closed. */
  static final int MAX_ANSWERS_PER_CONNECTION = 64;
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
  private final AtomicLong dropped = new AtomicLong();
  private final java.util.concurrent.ConcurrentHashMap<java.net.InetAddress, AtomicInteger> perAddress =
      new java.util.concurrent.ConcurrentHashMap<>();
  private volatile long lastWarning = System.nanoTime() - LOG_INTERVAL_NANOS;
  private volatile InetSocketAddress other;
  private volatile InetSocketAddress alternateBound;
  private InetSocketAddress udp;
  private InetSocketAddress tcp;

  /** @param software the SOFTWARE attribute of every answer, or null for none (smaller answers, no version disclosed) */
  public StunServer(String software) {
    this.software = software;
  }

  /**
   * Binds UDP and TCP on {@code address} (port 0: any free port, the same for both when it can),
   * and UDP on {@code alternate} too unless it is null.
   */
  public StunServer start(InetSocketAddress address, InetSocketAddress alternate) throws InterruptedException {
    return start(address, alternate, null);
  }

  /**
   * @param advertised the address to name in OTHER-ADDRESS (with the alternate port); null: the
   *     bound address, unless it is a wildcard (0.0.0.0, ::), which names nothing, and then no
   *     OTHER-ADDRESS is sent
   */
  public StunServer start(InetSocketAddress address, InetSocketAddress alternate, java.net.InetAddress advertised)
      throws InterruptedException {
    // Port 0: the system picks a free UDP port, and TCP must take the same number, which another
    // socket may hold (a client's ephemeral port): then try another, a few times (a test suite
    // met it). A fixed port is tried once, and its failure is the caller's to see.
    for (int attempt = 1; ; attempt++) {
      try {
        return bind(address, alternate, advertised);
      } catch (ChannelBindFailure e) {
        if (address.getPort() != 0 || attempt >= 16) {
          close();
          throw e;
        }
      } catch (InterruptedException | RuntimeException e) {
        close();
        throw e;
      }
    }
  }

  /** A BindException, seen through Netty's sync(). */
  private static final class ChannelBindFailure extends IllegalStateException {
    ChannelBindFailure(Throwable cause) {
      super(cause.getMessage(), cause);
    }
  }

  private StunServer bind(InetSocketAddress address, InetSocketAddress alternate, java.net.InetAddress advertised)
      throws InterruptedException {
    try {
      Channel u = udp(address, true);
      udp = (InetSocketAddress) u.localAddress();
      Channel t = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              java.net.InetAddress from = ch.remoteAddress().getAddress();
              AtomicInteger mine = perAddress.computeIfAbsent(from, k -> new AtomicInteger());
              if (tcpOpen.incrementAndGet() > MAX_TCP_CONNECTIONS | mine.incrementAndGet() > MAX_TCP_PER_ADDRESS) {
                release(from, mine);
                tcpRefused.incrementAndGet();
                ch.close();
                return;
              }
              java.util.concurrent.ScheduledFuture<?> end = ch.eventLoop().schedule(() -> ch.close(), TCP_LIFETIME_SECONDS, TimeUnit.SECONDS);
              ch.closeFuture().addListener(f -> {
                release(from, mine);
                end.cancel(false); // a flood of short connections must not leave a task each for 30 s
              });
              ch.pipeline()
                  .addLast(new ReadTimeoutHandler(TCP_IDLE_SECONDS))
                  // A frame is the 20-byte header plus the length it states.
                  .addLast(new LengthFieldBasedFrameDecoder(StunCodec.MAX_BYTES, 2, 2, 16, 0))
                  .addLast(new TcpHandler());
            }
          })
          .childOption(io.netty.channel.ChannelOption.WRITE_BUFFER_WATER_MARK, new io.netty.channel.WriteBufferWaterMark(4096, 8192))
          .bind(new InetSocketAddress(address.getAddress(), udp.getPort())).sync().channel();
      channels.add(t);
      tcp = (InetSocketAddress) t.localAddress();
      if (alternate != null) {
        InetSocketAddress bound = (InetSocketAddress) udp(alternate, false).localAddress();
        alternateBound = bound;
        java.net.InetAddress named = advertised != null ? advertised : bound.getAddress();
        if (!named.isAnyLocalAddress()) other = new InetSocketAddress(named, bound.getPort());
      }
      return this;
    } catch (Exception e) { // BindException comes through sync() unchecked in all but name
      closeChannels();
      if (e instanceof InterruptedException ie) throw ie;
      if (e instanceof java.net.BindException) throw new ChannelBindFailure(e);
      throw e instanceof RuntimeException re ? re : new IllegalStateException(e.getMessage(), e);
    }
  }

  private Channel udp(InetSocketAddress address, boolean primary) throws InterruptedException {
    Channel c = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(new UdpHandler(primary)).bind(address)
        .sync().channel();
    channels.add(c);
    return c;
  }

  private void release(java.net.InetAddress from, AtomicInteger mine) {
    tcpOpen.decrementAndGet();
    if (mine.decrementAndGet() <= 0) perAddress.remove(from, mine);
  }

  public InetSocketAddress udpAddress() {
    return udp;
  }

  public InetSocketAddress tcpAddress() {
    return tcp;
  }

  /** The second UDP address as bound, or null. */
  public InetSocketAddress alternateAddress() {
    return alternateBound;
  }

  /** The address answers name in OTHER-ADDRESS, or null when they name none. */
  public InetSocketAddress otherAddress() {
    return other;
  }

  /**
   * The server's counters at one moment.
   *
   * @param dropped requests not answered: of another method, or while the socket could not take the answer
   */
  public record Counters(long answered, long errors, long malformed, long dropped, long tcpRefused, int tcpOpen) {}

  public Counters counters() {
    return new Counters(answered.get(), errors.get(), malformed.get(), dropped.get(), tcpRefused.get(), tcpOpen.get());
  }

  @Override
  public void close() {
    closeChannels();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void closeChannels() {
    for (Channel c : channels) c.close().syncUninterruptibly();
    channels.clear();
  }

  /** The answer to one message from {@code from}, or null when it gets none (anything but a Binding request). */
  byte[] answer(ByteBuffer in, InetSocketAddress from, boolean primary) {
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
    if (m.method() != 1) { // dropped, not answered: an error would be one more reflection
      dropped.incrementAndGet();
      return null;
    }
    List<Integer> unknown = new ArrayList<>(m.unknownRequired());
    if (m.changeRequest() != 0) unknown.add(StunCodec.CHANGE_REQUEST); // one address here: nothing to change to
    if (!unknown.isEmpty()) {
      errors.incrementAndGet();
      return StunCodec.encode(StunMessage.bindingError(tid, 420, "Unknown Attribute", unknown, software));
    }
    answered.incrementAndGet();
    return StunCodec.encode(StunMessage.bindingSuccess(tid, from, primary ? other : null, software));
  }

  private final class UdpHandler extends SimpleChannelInboundHandler<DatagramPacket> {
    private final boolean primary;

    UdpHandler(boolean primary) {
      this.primary = primary;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
      byte[] out = answer(p.content().nioBuffer(), p.sender(), primary);
      if (out == null) return;
      if (!ctx.channel().isWritable()) { // a flood outpacing the socket: drop, never queue without bound
        dropped.incrementAndGet();
        return;
      }
      ctx.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(out), p.sender()));
    }
  }

  private final class TcpHandler extends SimpleChannelInboundHandler<ByteBuf> {
    private int answers;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
      long before = malformed.get();
      byte[] out = answer(frame.nioBuffer(), (InetSocketAddress) ctx.channel().remoteAddress(), true);
      if (out != null) {
        ctx.writeAndFlush(Unpooled.wrappedBuffer(out));
        // A client that does not read its answers, or asks without end, is closed: its answers would pile up here.
        if (!ctx.channel().isWritable() || ++answers >= MAX_ANSWERS_PER_CONNECTION) ctx.close();
      } else if (malformed.get() != before) {
        ctx.close(); // a stream out of step cannot be resynchronised
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A frame over the limit counts as malformed; a read timeout or a reset does not. Either way, this connection only.
      if (cause instanceof io.netty.handler.codec.TooLongFrameException) malformed.incrementAndGet();
      ctx.close();
    }
  }
}
