package dev.overlay.nat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks STUN servers where this host's packets come from: its server-reflexive address.
 *
 * <p>Over UDP a request is retransmitted as RFC 8489 (6.2.1) says: after RTO, then doubling, Rc
 * requests in all, and the transaction fails Rm × RTO after the last. Only an answer from the
 * server asked, carrying the request's transaction id, is taken; one with comprehension-required
 * attributes the client does not know fails the transaction (6.3.3), and anything malformed is
 * ignored as if it had not arrived. Runs on one channel of the given group; not thread-safe
 * beyond that (its state lives on the channel's loop).
 */
public final class StunClient implements AutoCloseable {

  /** The retransmission timers: RFC 8489's defaults are 500 ms, 7 and 16 (39.5 s to give up). */
  public record Timing(Duration rto, int rc, int rm) {
    public static final Timing RFC = new Timing(Duration.ofMillis(500), 7, 16);

    public Timing {
      if (rto.isNegative() || rto.isZero() || rto.compareTo(Duration.ofMinutes(1)) > 0 || rc < 1 || rc > 20 || rm < 1 || rm > 100) {
        throw new IllegalArgumentException("0 < rto <= 1 min, 1 <= rc <= 20, 1 <= rm <= 100");
      }
    }
  }

  /**
   * One answer.
   *
   * @param local the local address the request left from
   * @param reflexive where the server saw it come from
   * @param other the server's other address (OTHER-ADDRESS), or null
   * @param rttNanos from the last request sent to the answer (an answer to an earlier copy makes it shorter)
   * @param requests how many requests were sent, retransmissions included
   */
  public record Result(InetSocketAddress server, InetSocketAddress local, InetSocketAddress reflexive, InetSocketAddress other,
      long rttNanos, int requests, String software) {}

  /** Whether the NAT keeps one mapping for a local address whatever it sends to (RFC 4787's terms). */
  public enum Mapping { ENDPOINT_INDEPENDENT, ENDPOINT_DEPENDENT }

  /** At most this many transactions at once: a client asks a few servers, not thousands. */
  static final int MAX_IN_FLIGHT = 64;

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Channel channel;
  private final Timing timing;
  private final Map<String, Pending> pending = new HashMap<>(); // on the channel's loop
  private final java.util.concurrent.atomic.AtomicLong ignored = new java.util.concurrent.atomic.AtomicLong();
  private volatile boolean closed;

  private static final class Pending {
    final InetSocketAddress server;
    final byte[] tid;
    final CompletableFuture<Result> done = new CompletableFuture<>();
    int sent;
    long lastSentAt;
    ScheduledFuture<?> timer;

    Pending(InetSocketAddress server, byte[] tid) {
      this.server = server;
      this.tid = tid;
    }
  }

  private StunClient(Channel channel, Timing timing) {
    this.channel = channel;
    this.timing = timing;
  }

  /** A client on a UDP socket bound to {@code local} (port 0: any), on an NIO group. */
  public static StunClient udp(EventLoopGroup group, InetSocketAddress local, Timing timing) throws InterruptedException {
    return udp(group, NioDatagramChannel.class, local, timing);
  }

  /** ... with the datagram channel class {@code group} takes (epoll's for an epoll group). */
  public static StunClient udp(EventLoopGroup group, Class<? extends io.netty.channel.socket.DatagramChannel> channelClass,
      InetSocketAddress local, Timing timing) throws InterruptedException {
    StunClient[] self = new StunClient[1];
    Channel ch = new Bootstrap().group(group).channel(channelClass)
        .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
          @Override
          protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            if (self[0] != null) self[0].received(p.content().nioBuffer(), p.sender()); // null only before bind() returned
          }
        }).bind(local).sync().channel();
    self[0] = new StunClient(ch, timing);
    return self[0];
  }

  /** The local address requests leave from. */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** Answers that were not taken (malformed, from elsewhere, or for no transaction in flight). */
  public long ignored() {
    return ignored.get();
  }

  /** A Binding transaction with {@code server} over UDP. */
  public CompletableFuture<Result> binding(InetSocketAddress server) {
    byte[] tid = new byte[12];
    RANDOM.nextBytes(tid);
    Pending p = new Pending(server, tid);
    if (closed) {
      p.done.completeExceptionally(new IllegalStateException("the STUN client is closed"));
      return p.done;
    }
    String key = HexFormat.of().formatHex(tid);
    // However it ends (answered, timed out, cancelled or given a timeout by the caller), the
    // transaction leaves the table and its timer stops.
    p.done.whenComplete((r, e) -> channel.eventLoop().execute(() -> {
      pending.remove(key, p);
      if (p.timer != null) p.timer.cancel(false);
    }));
    channel.eventLoop().execute(() -> {
      if (p.done.isDone()) return;
      if (pending.size() >= MAX_IN_FLIGHT) {
        p.done.completeExceptionally(new IllegalStateException(MAX_IN_FLIGHT + " STUN transactions already in flight"));
        return;
      }
      pending.put(key, p);
      send(p);
    });
    return p.done;
  }

  /**
   * Whether the NAT maps endpoint-independently: asks {@code server}, then its other address
   * (OTHER-ADDRESS, or {@code other} when given), from this same socket, and compares the two
   * reflexive addresses.
   */
  public CompletableFuture<Mapping> mapping(InetSocketAddress server, InetSocketAddress other) {
    return binding(server).thenCompose(first -> {
      InetSocketAddress second = other != null ? other : first.other();
      if (second == null) {
        return CompletableFuture.failedFuture(new IllegalStateException("the server names no other address; give a second server"));
      }
      return binding(second).thenApply(r -> r.reflexive().equals(first.reflexive()) ? Mapping.ENDPOINT_INDEPENDENT
          : Mapping.ENDPOINT_DEPENDENT);
    });
  }

  private void send(Pending p) {
    p.sent++;
    p.lastSentAt = System.nanoTime();
    channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(StunCodec.encode(StunMessage.bindingRequest(p.tid))), p.server));
    long rto = timing.rto().toNanos();
    long wait = p.sent < timing.rc() ? rto << Math.min(p.sent - 1, 20) : rto * timing.rm();
    p.timer = channel.eventLoop().schedule(() -> {
      if (p.done.isDone()) return;
      if (p.sent < timing.rc()) {
        send(p);
      } else {
        pending.remove(HexFormat.of().formatHex(p.tid));
        p.done.completeExceptionally(new TimeoutException("no STUN answer from " + p.server + " to " + p.sent + " requests"));
      }
    }, wait, TimeUnit.NANOSECONDS);
  }

  private void received(java.nio.ByteBuffer in, InetSocketAddress from) {
    StunMessage m;
    try {
      m = StunCodec.decode(in);
    } catch (StunCodec.MalformedException e) {
      ignored.incrementAndGet();
      return;
    }
    Pending p = pending.get(HexFormat.of().formatHex(m.transactionId()));
    if (p == null || !p.server.equals(from) || m.method() != 1 || !(m.isSuccess() || m.isError())) {
      ignored.incrementAndGet();
      return;
    }
    pending.remove(HexFormat.of().formatHex(m.transactionId()));
    p.timer.cancel(false);
    complete(p, m, localAddress());
  }

  private static void complete(Pending p, StunMessage m, InetSocketAddress local) {
    if (!m.unknownRequired().isEmpty()) {
      p.done.completeExceptionally(new StunFailure("the answer has comprehension-required attributes not understood: "
          + m.unknownRequired(), 0));
    } else if (m.isError()) {
      p.done.completeExceptionally(new StunFailure("error " + m.errorCode() + " " + m.errorReason(), m.errorCode()));
    } else if (m.reflexive() == null) {
      p.done.completeExceptionally(new StunFailure("a success answer without a mapped address", 0));
    } else {
      p.done.complete(new Result(p.server, local, m.reflexive(), m.otherAddress(), System.nanoTime() - p.lastSentAt, p.sent,
          m.software()));
    }
  }

  /** A transaction that ended without an address: an error answer, or an answer that cannot be used. */
  public static final class StunFailure extends Exception {
    private final int code;

    StunFailure(String message, int code) {
      super(message);
      this.code = code;
    }

    /** The server's error code, or 0. */
    public int code() {
      return code;
    }
  }

  /** A Binding transaction over TCP (one request, as RFC 8489 says for reliable transports), within {@code timeout}. */
  public static CompletableFuture<Result> bindingTcp(EventLoopGroup group, InetSocketAddress server, Duration timeout) {
    return bindingTcp(group, NioSocketChannel.class, null, server, timeout);
  }

  /**
   * As {@link #bindingTcp(EventLoopGroup, InetSocketAddress, Duration)}, on channels of
   * {@code channelClass} (the group's kind), from {@code local} (null:
   * any port) bound with SO_REUSEADDR and SO_REUSEPORT: from a node's listening port, the answer
   * is that port's NAT mapping, which is what a hole punch needs the peer to connect to.
   */
  public static CompletableFuture<Result> bindingTcp(EventLoopGroup group, Class<? extends SocketChannel> channelClass,
      InetSocketAddress local, InetSocketAddress server, Duration timeout) {
    byte[] tid = new byte[12];
    RANDOM.nextBytes(tid);
    Pending p = new Pending(server, tid);
    p.sent = 1;
    Bootstrap b = new Bootstrap().group(group)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    if (local != null) ReusePort.channel(b, channelClass);
    else b.channel(channelClass);
    b
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(StunCodec.MAX_BYTES, 2, 2, 16, 0))
                .addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                    try {
                      StunMessage m = StunCodec.decode(frame.nioBuffer());
                      if (!m.sameTransaction(tid) || m.method() != 1 || !(m.isSuccess() || m.isError())) return;
                      complete(p, m, (InetSocketAddress) ctx.channel().localAddress());
                    } catch (StunCodec.MalformedException e) {
                      p.done.completeExceptionally(new StunFailure("malformed answer: " + e.getMessage(), 0));
                    }
                    ctx.close();
                  }

                  @Override
                  public void channelInactive(ChannelHandlerContext ctx) {
                    p.done.completeExceptionally(new StunFailure("the server closed the connection without an answer", 0));
                  }

                  @Override
                  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    p.done.completeExceptionally(cause);
                    ctx.close();
                  }
                });
          }
        });
    (local != null ? b.connect(server, local) : b.connect(server)).addListener((io.netty.channel.ChannelFutureListener) f -> {
          if (!f.isSuccess()) {
            p.done.completeExceptionally(f.cause());
            return;
          }
          p.lastSentAt = System.nanoTime();
          f.channel().writeAndFlush(Unpooled.wrappedBuffer(StunCodec.encode(StunMessage.bindingRequest(tid))));
          ScheduledFuture<?> t = f.channel().eventLoop().schedule(() -> {
            p.done.completeExceptionally(new TimeoutException("no STUN answer over TCP from " + server + " in " + timeout));
            f.channel().close();
          }, timeout.toNanos(), TimeUnit.NANOSECONDS);
          p.done.whenComplete((r, e) -> { // however it ends, the connection ends with it
            t.cancel(false);
            f.channel().close();
          });
        });
    return p.done;
  }

  /** Fails what is in flight and closes the socket. Safe from any thread, also the loop, and twice. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    Runnable failAll = () -> {
      for (Pending p : new java.util.ArrayList<>(pending.values())) {
        p.done.completeExceptionally(new IllegalStateException("the STUN client closed"));
      }
      pending.clear();
    };
    if (channel.eventLoop().inEventLoop()) {
      failAll.run();
      channel.close();
      return;
    }
    try {
      channel.eventLoop().execute(failAll);
    } catch (java.util.concurrent.RejectedExecutionException shutDown) {
      // the group is gone already: nothing runs there any more
    }
    channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
