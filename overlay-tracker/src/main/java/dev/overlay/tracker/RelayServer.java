package dev.overlay.tracker;

import dev.overlay.core.PeerId;
import dev.overlay.tracker.TrackerState.Relay.Offer;
import dev.overlay.nat.RelayPreface;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tracker's relay, for two nodes whose NATs defeat hole punching (symmetric on both sides).
 * The tracker hands both the same single-use token ({@link #open}); each connects here and
 * presents it ({@link RelayPreface}); the relay then carries bytes between the two connections
 * and nothing else. It never dials anyone, so it is no proxy to arbitrary addresses, and it
 * cannot read or forge what it carries: the nodes run TLS end to end through it, with the same
 * identity check as on a direct link.
 *
 * <p>Bounded: at most {@code maxLinks} relayed links (tickets waiting included) and
 * {@code maxLinksPerNode} per identity; each link carries at most {@code bytesPerSecond} (reading
 * pauses beyond it) and {@code maxBytesPerLink} in all (then it is closed); a ticket not used by
 * both sides within {@code ticketLifetime}, and a connection that does not present a token within
 * 5 s, are closed. Every refusal and closure is counted ({@link Stats}, on /metrics).
 */
public final class RelayServer implements TrackerState.Relay, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RelayServer.class);
  private static final long PREFACE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** What one side may send before the other has joined (its TLS hello), held until then. */
  private static final int MAX_EARLY_BYTES = 64 * 1024;

  /**
   * The relay's limits. Defaults: 256 links (a tracker is not meant to carry much traffic: relays
   * are the fallback for the few nodes behind two symmetric NATs), 8 per identity, 1 MiB/s and
   * 1 GiB per link (telemetry: hundreds of messages a second of hundreds of bytes fit many times
   * over), tickets valid 10 s (both nodes connect within a tracker round trip of each other).
   */
  public record Limits(int maxLinks, int maxLinksPerNode, long bytesPerSecond, long maxBytesPerLink, Duration ticketLifetime) {
    public static final Limits DEFAULTS = new Limits(256, 8, 1 << 20, 1L << 30, Duration.ofSeconds(10));

    public Limits {
      if (maxLinks < 1 || maxLinksPerNode < 1 || bytesPerSecond < 1 || maxBytesPerLink < 1 || ticketLifetime.isNegative()
          || ticketLifetime.isZero()) {
        throw new IllegalArgumentException("relay limits must be positive: " + maxLinks + ", " + maxLinksPerNode + ", "
            + bytesPerSecond + ", " + maxBytesPerLink + ", " + ticketLifetime);
      }
    }
  }

  /** The relay's counters at one moment. */
  public record Stats(int links, long ticketsIssued, long ticketsRefused, long ticketsExpired, long linked, long badPrefaces,
      long closedOverBytes, long bytesRelayed, long pausesForRate) {}

  /** One ticket: who may use it, and the connections that did. Guarded by the server's lock. */
  private static final class Ticket {
    final byte[] token;
    final PeerId a;
    final PeerId b;
    Channel first;
    ByteBuf firstEarly; // what the first side sent after its preface
    boolean joined;
    boolean closed;
    // the link's rate budget (both directions together) and its total
    double tokens;
    long refilledAt;
    long total;

    Ticket(byte[] token, PeerId a, PeerId b, double burst, long now) {
      this.token = token;
      this.a = a;
      this.b = b;
      this.tokens = burst;
      this.refilledAt = now;
    }
  }

  private record Key(byte[] token) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(token, k.token);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(token);
    }
  }

  private final Limits limits;
  private final SecureRandom random = new SecureRandom();
  private final Object lock = new Object();
  private final Map<Key, Ticket> tickets = new HashMap<>();
  private final Map<PeerId, Integer> perNode = new HashMap<>();
  private final AtomicLong ticketsIssued = new AtomicLong();
  private final AtomicLong ticketsRefused = new AtomicLong();
  private final AtomicLong ticketsExpired = new AtomicLong();
  private final AtomicLong linked = new AtomicLong();
  private final AtomicLong badPrefaces = new AtomicLong();
  private final AtomicLong closedOverBytes = new AtomicLong();
  private final AtomicLong bytesRelayed = new AtomicLong();
  private final AtomicLong pausesForRate = new AtomicLong();
  private EventLoopGroup group;
  private Channel server;
  private String host;
  private int port;

  public RelayServer(Limits limits) {
    this.limits = limits;
  }

  /**
   * Listens on {@code bind}; nodes are told to connect to {@code advertiseHost} and the bound
   * port. Blocks until bound.
   */
  public RelayServer start(InetSocketAddress bind, String advertiseHost) throws InterruptedException {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.AUTO_READ, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new Preface());
          }
        }).bind(bind).sync().channel();
    host = advertiseHost;
    port = ((InetSocketAddress) server.localAddress()).getPort();
    return this;
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  @Override
  public Offer open(long now, PeerId a, PeerId b) {
    synchronized (lock) {
      String refused = tickets.size() >= limits.maxLinks() ? "the relay carries its maximum of links (" + limits.maxLinks() + ")"
          : perNode.getOrDefault(a, 0) >= limits.maxLinksPerNode() || perNode.getOrDefault(b, 0) >= limits.maxLinksPerNode()
          ? "a node holds its maximum of relayed links (" + limits.maxLinksPerNode() + ")" : null;
      if (refused != null) {
        ticketsRefused.incrementAndGet();
        return new Offer(null, 0, null, refused);
      }
      byte[] token = new byte[RelayPreface.TOKEN_BYTES];
      random.nextBytes(token);
      Ticket t = new Ticket(token, a, b, limits.bytesPerSecond(), System.nanoTime());
      tickets.put(new Key(token), t);
      perNode.merge(a, 1, Integer::sum);
      perNode.merge(b, 1, Integer::sum);
      ticketsIssued.incrementAndGet();
      group.schedule(() -> expire(t), limits.ticketLifetime().toNanos(), TimeUnit.NANOSECONDS);
      return new Offer(host, port, token, null);
    }
  }

  /** A ticket both sides did not use in time goes, with the connection of the side that did. */
  private void expire(Ticket t) {
    Channel half;
    synchronized (lock) {
      if (t.joined || t.closed) return;
      half = t.first;
      release(t);
      ticketsExpired.incrementAndGet();
    }
    if (half != null) half.close();
  }

  /** Forgets the ticket and its identities' counts; under the lock. */
  private void release(Ticket t) {
    if (t.closed) return;
    t.closed = true;
    tickets.remove(new Key(t.token));
    perNode.computeIfPresent(t.a, (k, n) -> n == 1 ? null : n - 1);
    perNode.computeIfPresent(t.b, (k, n) -> n == 1 ? null : n - 1);
    if (t.firstEarly != null) {
      t.firstEarly.release();
      t.firstEarly = null;
    }
  }

  public Stats stats() {
    int n;
    synchronized (lock) {
      n = tickets.size();
    }
    return new Stats(n, ticketsIssued.get(), ticketsRefused.get(), ticketsExpired.get(), linked.get(), badPrefaces.get(),
        closedOverBytes.get(), bytesRelayed.get(), pausesForRate.get());
  }

  @Override
  public void close() {
    if (server != null) server.close().syncUninterruptibly();
    if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Reads the preface, then pairs the connection with its ticket's other side. */
  private final class Preface extends ChannelInboundHandlerAdapter {
    private ByteBuf buffer;
    private io.netty.util.concurrent.ScheduledFuture<?> timeout;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      timeout = ctx.executor().schedule(() -> {
        badPrefaces.incrementAndGet();
        ctx.close();
      }, PREFACE_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      if (buffer == null) buffer = ctx.alloc().buffer(RelayPreface.LENGTH);
      if (buffer.readableBytes() + in.readableBytes() > RelayPreface.LENGTH + MAX_EARLY_BYTES) {
        in.release();
        fail(ctx);
        return;
      }
      buffer.writeBytes(in);
      in.release();
      if (buffer.readableBytes() < RelayPreface.LENGTH) return;
      byte[] magic = new byte[RelayPreface.MAGIC.length];
      buffer.readBytes(magic);
      byte[] token = new byte[RelayPreface.TOKEN_BYTES];
      buffer.readBytes(token);
      if (!Arrays.equals(magic, RelayPreface.MAGIC)) {
        fail(ctx);
        return;
      }
      timeout.cancel(false);
      ByteBuf early = buffer; // the rest: the node's first TLS bytes
      buffer = null;
      Channel other;
      Ticket t;
      synchronized (lock) {
        t = tickets.get(new Key(token));
        if (t == null || t.joined || t.closed) {
          t = null;
          other = null;
        } else if (t.first == null) {
          t.first = ctx.channel();
          t.firstEarly = early;
          ctx.channel().config().setAutoRead(false); // nothing more until the other side is here
          ctx.pipeline().remove(this);
          return;
        } else {
          t.joined = true;
          other = t.first;
        }
      }
      if (t == null) {
        early.release();
        fail(ctx);
        return;
      }
      ByteBuf otherEarly;
      synchronized (lock) {
        otherEarly = t.firstEarly;
        t.firstEarly = null;
      }
      linked.incrementAndGet();
      synchronized (lock) {
        t.total += early.readableBytes() + otherEarly.readableBytes(); // carried too, and counted as such
      }
      bytesRelayed.addAndGet(early.readableBytes() + otherEarly.readableBytes());
      Channel self = ctx.channel();
      ctx.pipeline().replace(this, "splice", new Splice(t, other));
      other.pipeline().addLast("splice", new Splice(t, self));
      // Each side's early bytes go to the other, then both read.
      if (early.isReadable()) other.writeAndFlush(early);
      else early.release();
      if (otherEarly.isReadable()) self.writeAndFlush(otherEarly);
      else otherEarly.release();
      self.config().setAutoRead(true);
      other.config().setAutoRead(true);
    }

    private void fail(ChannelHandlerContext ctx) {
      badPrefaces.incrementAndGet();
      if (timeout != null) timeout.cancel(false);
      ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      if (buffer != null) {
        buffer.release();
        buffer = null;
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (timeout != null) timeout.cancel(false);
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** Carries one side's bytes to the other, within the link's rate and total, with the other's writability as backpressure. */
  private final class Splice extends ChannelInboundHandlerAdapter {
    private final Ticket ticket;
    private final Channel other;

    Splice(Ticket ticket, Channel other) {
      this.ticket = ticket;
      this.other = other;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      int n = b.readableBytes();
      long wait;
      boolean over;
      synchronized (lock) {
        long now = System.nanoTime();
        ticket.tokens = Math.min(limits.bytesPerSecond(), ticket.tokens + (now - ticket.refilledAt) * (limits.bytesPerSecond() / 1e9));
        ticket.refilledAt = now;
        ticket.tokens -= n;
        ticket.total += n;
        over = ticket.total > limits.maxBytesPerLink();
        wait = ticket.tokens >= 0 ? 0 : (long) (-ticket.tokens / (limits.bytesPerSecond() / 1e9));
      }
      if (over) {
        b.release();
        closedOverBytes.incrementAndGet();
        log.info("relayed link {} <-> {} closed: over {} bytes", ticket.a, ticket.b, limits.maxBytesPerLink());
        ctx.close();
        return;
      }
      bytesRelayed.addAndGet(n);
      other.writeAndFlush(b).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) ctx.close();
      });
      if (!other.isWritable()) ctx.channel().config().setAutoRead(false); // resumed by the other's writability
      if (wait > 0) {
        pausesForRate.incrementAndGet();
        ctx.channel().config().setAutoRead(false);
        ctx.executor().schedule(() -> {
          if (other.isWritable()) ctx.channel().config().setAutoRead(true);
        }, wait, TimeUnit.NANOSECONDS);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      // This side drained: the other side may read again (its own handler holds the mirror rule).
      if (ctx.channel().isWritable()) other.config().setAutoRead(true);
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      synchronized (lock) {
        release(ticket);
      }
      other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
