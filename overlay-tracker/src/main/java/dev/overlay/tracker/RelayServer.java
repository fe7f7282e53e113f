package dev.overlay.tracker;

import dev.overlay.core.PeerId;
import dev.overlay.nat.RelayPreface;
import dev.overlay.tracker.TrackerState.Relay.Offer;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tracker's relay, for two nodes whose NATs defeat hole punching (symmetric on both sides).
 * The tracker gives each of the two its own single-use token ({@link #open}); each connects here
 * and presents it ({@link RelayPreface}); once both are here the relay carries bytes between the
 * two connections and nothing else. A token opens only its holder's end, so no one can fill both
 * ends of a link alone. The relay never dials anyone, so it is no proxy to arbitrary addresses,
 * and it cannot read or forge what it carries: the nodes run TLS end to end through it, with the
 * same identity check as on a direct link.
 *
 * <p>Bounded: at most {@code maxLinks} relayed links (tickets waiting included), one per pair of
 * nodes and {@code maxLinksPerNode} per identity; each link carries at most
 * {@code bytesPerSecond} (reading pauses beyond it) and {@code maxBytesPerLink} in all; the bytes
 * one identity sends over all its links (its early bytes included) at most
 * {@code bytesPerSecondPerNode} and {@code maxBytesPerNodePerHour} (an hour from its first
 * ticket), and the whole relay's at most {@code totalBytesPerSecond} and {@code maxBytesPerHour}
 * (a rate pauses reading; a link that crosses an hour's budget is closed, and no ticket is given
 * for that identity, or to anyone, until the hour is over); a link is
 * closed after {@code idleTimeout} without a byte either way (nodes' keep-alives are far more
 * frequent); a ticket not used by both sides within {@code ticketLifetime} goes; connections yet
 * to present a token are at most {@code maxPending}, {@code maxPendingPerSource} from one
 * address, 5 s each. Every refusal and closure is counted ({@link Stats}, on /metrics), and
 * bad prefaces are logged at most once every 10 s.
 *
 * <p>One thread (its own event loop) runs every connection; {@link #open} comes from the
 * tracker's thread, hence the lock around the tables.
 */
public final class RelayServer implements TrackerState.Relay, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RelayServer.class);
  private static final long PREFACE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
  /** What one side may send before the other has joined (its TLS hello), held until then. */
  private static final int MAX_EARLY_BYTES = 64 * 1024;

  /**
   * The relay's limits. Defaults: 256 links (a tracker is not meant to carry much traffic: relays
   * are the fallback for the few nodes behind two symmetric NATs), 8 per identity, 1 MiB/s and
   * 1 GiB per link (telemetry: hundreds of messages a second of hundreds of bytes fit many times
   * over), tickets valid 10 s (both nodes connect within a tracker round trip of each other),
   * links closed after 120 s without traffic (nodes ping every 5 to 10 s), 1,024 connections
   * before their token and 16 per source address (as the STUN server's TCP side); sent by one
   * identity 2 MiB/s and 4 GiB an hour (two busy links' worth: one node cannot take the relay),
   * and 32 MiB/s in all (a tracker's machine keeps its CPU and its uplink for introductions) with
   * 128 GiB an hour, which that rate never reaches (112.5 GiB): a lower hourly cap, for a relay
   * paid by volume, stops relaying for everyone once anyone has spent it.
   */
  public record Limits(int maxLinks, int maxLinksPerNode, long bytesPerSecond, long maxBytesPerLink, Duration ticketLifetime,
      Duration idleTimeout, int maxPending, int maxPendingPerSource, long bytesPerSecondPerNode, long totalBytesPerSecond,
      long maxBytesPerNodePerHour, long maxBytesPerHour) {
    public static final Limits DEFAULTS = new Limits(256, 8, 1 << 20, 1L << 30, Duration.ofSeconds(10), Duration.ofSeconds(120),
        1024, 16, 2L << 20, 32L << 20, 4L << 30, 128L << 30);

    public Limits {
      if (maxLinks < 1 || maxLinksPerNode < 1 || bytesPerSecond < 1 || maxBytesPerLink < 1 || maxPending < 1 || maxPendingPerSource < 1
          || bytesPerSecondPerNode < 1 || totalBytesPerSecond < 1 || maxBytesPerNodePerHour < 1 || maxBytesPerHour < 1
          || ticketLifetime.isNegative() || ticketLifetime.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
        throw new IllegalArgumentException("relay limits must be positive");
      }
    }

    /** These limits with others for the links' counts, rate and total (the command line's flags). */
    public Limits with(int maxLinks, int maxLinksPerNode, long bytesPerSecond, long maxBytesPerLink) {
      return new Limits(maxLinks, maxLinksPerNode, bytesPerSecond, maxBytesPerLink, ticketLifetime, idleTimeout, maxPending,
          maxPendingPerSource, bytesPerSecondPerNode, totalBytesPerSecond, maxBytesPerNodePerHour, maxBytesPerHour);
    }

    /** These limits with others for each identity's and the whole relay's rate and hourly bytes (the command line's flags). */
    public Limits withBudgets(long bytesPerSecondPerNode, long totalBytesPerSecond, long maxBytesPerNodePerHour, long maxBytesPerHour) {
      return new Limits(maxLinks, maxLinksPerNode, bytesPerSecond, maxBytesPerLink, ticketLifetime, idleTimeout, maxPending,
          maxPendingPerSource, bytesPerSecondPerNode, totalBytesPerSecond, maxBytesPerNodePerHour, maxBytesPerHour);
    }
  }

  private static final long HOUR_NANOS = TimeUnit.HOURS.toNanos(1);

  /**
   * Bytes against a rate (a token bucket holding one second's worth) and against an hour's total
   * (a fixed window from the first byte): one per link, per identity, and the relay's. Under the lock.
   */
  private static final class Budget {
    private double tokens;
    private long refilledAt;
    private long hourStart;
    private long hourBytes;

    Budget(double burst, long now) {
      tokens = burst;
      refilledAt = now;
      hourStart = now;
    }

    /** Takes {@code n} bytes now; returns how long reading must pause for the rate (0: not at all). */
    long take(long now, int n, long perSecond) {
      tokens = Math.min(perSecond, tokens + (now - refilledAt) * (perSecond / 1e9));
      refilledAt = now;
      tokens -= n;
      if (now - hourStart >= HOUR_NANOS) {
        hourStart = now;
        hourBytes = 0;
      }
      hourBytes += n;
      return tokens >= 0 ? 0 : (long) (-tokens / (perSecond / 1e9));
    }

    /** The bytes taken in the current hour. */
    long hourBytes(long now) {
      return now - hourStart >= HOUR_NANOS ? 0 : hourBytes;
    }
  }

  /** The relay's counters at one moment. */
  public record Stats(int links, long ticketsIssued, long ticketsRefused, long ticketsExpired, long linked, long badPrefaces,
      long refusedPending, long closedOverBytes, long closedIdle, long bytesRelayed, long pausesForRate) {}

  /** One ticket: who may use each end, and the connections that did. Guarded by the lock. */
  private static final class Ticket {
    final byte[][] tokens = new byte[2][];
    final PeerId[] ids = new PeerId[2];
    final Set<PeerId> pair;
    final Channel[] channels = new Channel[2];
    final ByteBuf[] early = new ByteBuf[2]; // what a side sent after its preface, before the other came
    boolean joined;
    boolean closed;
    boolean closeCounted; // why it closed is counted once, whichever end notices first
    final Budget budget; // the link's rate (both directions together)
    long total;
    long lastActivity; // the last byte either way, for the idle close

    Ticket(byte[] tokenA, byte[] tokenB, PeerId a, PeerId b, double burst, long now) {
      tokens[0] = tokenA;
      tokens[1] = tokenB;
      ids[0] = a;
      ids[1] = b;
      pair = Set.of(a, b);
      budget = new Budget(burst, now);
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
  private final Map<Key, Ticket> byToken = new HashMap<>();
  private final Map<Set<PeerId>, Ticket> byPair = new HashMap<>();
  private final Map<PeerId, Integer> perNode = new HashMap<>();
  /**
   * Each identity's budget, from its first ticket: closing and reopening links does not start a
   * new hour. Beyond {@link #REMEMBERED_NODES} the least recently used one is forgotten, but only
   * once it has no link and no byte in its hour (so forgetting resets nothing); while the table
   * is over that size, no new identity gets a ticket.
   */
  private final java.util.LinkedHashMap<PeerId, Budget> nodeBudgets = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Budget> eldest) {
      return size() > REMEMBERED_NODES && !perNode.containsKey(eldest.getKey()) && eldest.getValue().hourBytes(clock.getAsLong()) == 0;
    }
  };
  private static final int REMEMBERED_NODES = 4096;
  private final Budget total;
  private final java.util.function.LongSupplier clock;
  private int pending;
  private final Map<String, Integer> pendingPerSource = new HashMap<>();
  private final AtomicLong ticketsIssued = new AtomicLong();
  private final AtomicLong ticketsRefused = new AtomicLong();
  private final AtomicLong ticketsExpired = new AtomicLong();
  private final AtomicLong linked = new AtomicLong();
  private final AtomicLong badPrefaces = new AtomicLong();
  private final AtomicLong refusedPending = new AtomicLong();
  private final AtomicLong closedOverBytes = new AtomicLong();
  private final AtomicLong closedIdle = new AtomicLong();
  private final AtomicLong bytesRelayed = new AtomicLong();
  private final AtomicLong pausesForRate = new AtomicLong();
  private final AtomicLong lastLogAt = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);
  private EventLoopGroup group;
  private Channel server;
  /**
   * Every relayed connection while open (removed as it closes): close() closes them before it
   * stops the loop, since Netty 4.2 may end a loop without closing its channels, and a channel
   * left open keeps the bytes it was relaying.
   */
  private final io.netty.channel.group.ChannelGroup connections =
      new io.netty.channel.group.DefaultChannelGroup("relayed", io.netty.util.concurrent.GlobalEventExecutor.INSTANCE, true);
  private String host;
  private int port;

  public RelayServer(Limits limits) {
    this(limits, System::nanoTime);
  }

  /** With a clock for its budgets and idle checks (tests stop it, so that a spent budget stays spent). */
  RelayServer(Limits limits, java.util.function.LongSupplier clock) {
    this.limits = limits;
    this.clock = clock;
    this.total = new Budget(limits.totalBytesPerSecond(), clock.getAsLong());
  }

  private Budget node(PeerId id, long now) {
    Budget b = nodeBudgets.get(id); // not computeIfAbsent: its lambda would capture, once per relayed read
    if (b == null) {
      b = new Budget(limits.bytesPerSecondPerNode(), now);
      nodeBudgets.put(id, b);
    }
    return b;
  }

  /**
   * Forgets, oldest first, the identities that hold nothing (no link, no byte in their hour)
   * while the table is over its size: the map's own eviction looks only at its eldest entry, and
   * one pinned there would keep the table full for good. Under the lock.
   */
  private void forgetDone(long now) {
    if (nodeBudgets.size() <= REMEMBERED_NODES) return;
    for (var it = nodeBudgets.entrySet().iterator(); it.hasNext() && nodeBudgets.size() > REMEMBERED_NODES; ) {
      Map.Entry<PeerId, Budget> e = it.next();
      if (!perNode.containsKey(e.getKey()) && e.getValue().hourBytes(now) == 0) it.remove();
    }
  }

  /** The bytes the identity sent in its current hour (0 if it has no budget yet); under the lock. */
  private long hourBytes(PeerId id, long now) {
    Budget b = nodeBudgets.get(id);
    return b == null ? 0 : b.hourBytes(now);
  }

  /** What {@link #charge} returns when a cap is crossed: the link must close ({@link #over} says why). */
  private static final long OVER = -1;

  /**
   * Charges {@code n} bytes sent by side {@code side} of the link to its budgets, under the lock;
   * returns how long reading must pause for the rates (0: not at all), or {@link #OVER}.
   * Allocates nothing: it runs once per relayed read.
   */
  private long charge(Ticket t, int side, int n, long now) {
    t.lastActivity = now;
    t.total += n;
    Budget sender = node(t.ids[side], now);
    long wait = Math.max(Math.max(t.budget.take(now, n, limits.bytesPerSecond()), total.take(now, n, limits.totalBytesPerSecond())),
        sender.take(now, n, limits.bytesPerSecondPerNode()));
    return over(t, side, now) != null ? OVER : wait;
  }

  /** Which cap the link crossed, or null; under the lock. */
  private String over(Ticket t, int side, long now) {
    if (t.total > limits.maxBytesPerLink()) return "over the link's " + limits.maxBytesPerLink() + " bytes";
    if (hourBytes(t.ids[side], now) > limits.maxBytesPerNodePerHour()) {
      return t.ids[side] + " over its " + limits.maxBytesPerNodePerHour() + " bytes this hour";
    }
    if (total.hourBytes(now) > limits.maxBytesPerHour()) return "over the relay's " + limits.maxBytesPerHour() + " bytes this hour";
    return null;
  }

  /**
   * Listens on {@code bind}; nodes are told to connect to {@code advertiseHost} and the bound
   * port. Blocks until bound.
   */
  public RelayServer start(InetSocketAddress bind, String advertiseHost) throws InterruptedException {
    // Epoll where Netty's native transport loads (as the tracker's own links): fewer system calls
    // a relayed record than NIO's selector.
    boolean epoll = io.netty.channel.epoll.Epoll.isAvailable();
    group = new MultiThreadIoEventLoopGroup(1, epoll ? io.netty.channel.epoll.EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    server = new ServerBootstrap().group(group)
        .channel(epoll ? io.netty.channel.epoll.EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.add(ch);
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
      long at = clock.getAsLong();
      forgetDone(at);
      String refused = byPair.size() >= limits.maxLinks() ? "the relay carries its maximum of links (" + limits.maxLinks() + ")"
          : total.hourBytes(at) >= limits.maxBytesPerHour() ? "the relay has carried its bytes for this hour (" + limits.maxBytesPerHour() + ")"
          : hourBytes(a, at) >= limits.maxBytesPerNodePerHour() || hourBytes(b, at) >= limits.maxBytesPerNodePerHour()
          ? "a node has used its relayed bytes for this hour (" + limits.maxBytesPerNodePerHour() + ")"
          : nodeBudgets.size() > REMEMBERED_NODES && (!nodeBudgets.containsKey(a) || !nodeBudgets.containsKey(b))
          ? "the relay keeps the budgets of its maximum of identities (" + REMEMBERED_NODES + ") this hour"
          : byPair.containsKey(Set.of(a, b)) ? "a relayed link between these two nodes is open or arranged already"
          : perNode.getOrDefault(a, 0) >= limits.maxLinksPerNode() || perNode.getOrDefault(b, 0) >= limits.maxLinksPerNode()
          ? "a node holds its maximum of relayed links (" + limits.maxLinksPerNode() + ")" : null;
      if (refused != null) {
        ticketsRefused.incrementAndGet();
        return new Offer(null, 0, null, null, refused);
      }
      byte[] tokenA = token();
      byte[] tokenB = token();
      Ticket t = new Ticket(tokenA, tokenB, a, b, limits.bytesPerSecond(), at);
      byToken.put(new Key(tokenA), t);
      byToken.put(new Key(tokenB), t);
      byPair.put(t.pair, t);
      perNode.merge(a, 1, Integer::sum);
      perNode.merge(b, 1, Integer::sum);
      node(a, at); // their hours start with their first ticket
      node(b, at);
      ticketsIssued.incrementAndGet();
      group.schedule(() -> expire(t), limits.ticketLifetime().toNanos(), TimeUnit.NANOSECONDS);
      return new Offer(host, port, tokenA, tokenB, null);
    }
  }

  private byte[] token() {
    byte[] token = new byte[RelayPreface.TOKEN_BYTES];
    random.nextBytes(token);
    return token;
  }

  /** A ticket both sides did not use in time goes, with the connection of the side that did. */
  private void expire(Ticket t) {
    List<Channel> halves = new ArrayList<>();
    synchronized (lock) {
      if (t.joined || t.closed) return;
      for (Channel c : t.channels) if (c != null) halves.add(c);
      release(t);
      ticketsExpired.incrementAndGet();
    }
    halves.forEach(Channel::close);
  }

  /** Forgets the ticket, its tokens and its identities' counts, and frees held bytes; under the lock. */
  private void release(Ticket t) {
    if (t.closed) return;
    t.closed = true;
    byToken.remove(new Key(t.tokens[0]));
    byToken.remove(new Key(t.tokens[1]));
    byPair.remove(t.pair);
    for (PeerId id : t.ids) perNode.computeIfPresent(id, (k, n) -> n == 1 ? null : n - 1);
    for (int i = 0; i < 2; i++) {
      if (t.early[i] != null) {
        t.early[i].release();
        t.early[i] = null;
      }
    }
  }

  /**
   * Closes a joined link that has carried no byte either way for {@code idleTimeout}, checked
   * every quarter of it. A timer per link, not Netty's IdleStateHandler: that one adds a
   * listener to every write, on the relay's hot path.
   */
  private void checkIdle(Ticket t, Channel a, Channel b) {
    long idle = limits.idleTimeout().toNanos();
    group.schedule(() -> {
      boolean quiet;
      synchronized (lock) {
        if (t.closed) return;
        quiet = clock.getAsLong() - t.lastActivity >= idle;
      }
      if (!quiet) {
        checkIdle(t, a, b);
        return;
      }
      if (countClose(t)) closedIdle.incrementAndGet();
      a.close();
      b.close();
    }, Math.max(1, idle / 4), TimeUnit.NANOSECONDS);
  }

  /** Whether this is the first reason given for the ticket's link closing (both ends may find one). */
  private boolean countClose(Ticket t) {
    synchronized (lock) {
      if (t.closeCounted) return false;
      t.closeCounted = true;
      return true;
    }
  }

  /** Bytes held for links whose second end has not come yet (tests wait on it). */
  long heldEarlyBytes() {
    synchronized (lock) {
      long n = 0;
      for (Ticket t : byPair.values()) for (ByteBuf b : t.early) if (b != null) n += b.readableBytes();
      return n;
    }
  }

  public Stats stats() {
    int n;
    synchronized (lock) {
      n = byPair.size();
    }
    return new Stats(n, ticketsIssued.get(), ticketsRefused.get(), ticketsExpired.get(), linked.get(), badPrefaces.get(),
        refusedPending.get(), closedOverBytes.get(), closedIdle.get(), bytesRelayed.get(), pausesForRate.get());
  }

  @Override
  public void close() {
    if (server != null) server.close().syncUninterruptibly();
    connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS); // plain TCP: a close fails and releases pending writes at once
    if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    synchronized (lock) {
      for (Ticket t : new ArrayList<>(byPair.values())) release(t);
    }
  }

  /** A log line for a refused connection, at most once every 10 s (the counters have every one). */
  private void logRefused(String what, Channel ch) {
    long now = System.nanoTime();
    long last = lastLogAt.get();
    if (now - last >= LOG_EVERY_NANOS && lastLogAt.compareAndSet(last, now)) {
      log.warn("relay: closed a connection from {}: {} (bad prefaces so far {}, refused before their token {})",
          ch.remoteAddress(), what, badPrefaces.get(), refusedPending.get());
    }
  }

  private static String source(Channel ch) {
    return ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null ? a.getAddress().getHostAddress() : "?";
  }

  /** Reads the preface within 5 s (within the caps on such connections), then joins the connection to its ticket's other end. */
  private final class Preface extends ChannelInboundHandlerAdapter {
    private ByteBuf buffer;
    private io.netty.util.concurrent.ScheduledFuture<?> timeout;
    private String counted; // the source this connection counts against while pending, or null

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      String from = source(ctx.channel());
      synchronized (lock) {
        if (pending >= limits.maxPending() || pendingPerSource.getOrDefault(from, 0) >= limits.maxPendingPerSource()) {
          refusedPending.incrementAndGet();
          logRefused("too many connections yet to present a token", ctx.channel());
          ctx.close();
          return;
        }
        pending++;
        pendingPerSource.merge(from, 1, Integer::sum);
        counted = from;
      }
      timeout = ctx.executor().schedule(() -> fail(ctx, "no token within 5 s"), PREFACE_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
      ctx.fireChannelActive();
    }

    /** The connection no longer counts as pending (it presented its token, or it is gone). */
    private void uncount() {
      if (counted == null) return;
      synchronized (lock) {
        pending--;
        pendingPerSource.computeIfPresent(counted, (k, n) -> n == 1 ? null : n - 1);
      }
      counted = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      if (counted == null) { // refused at activation; anything read meanwhile is dropped
        in.release();
        return;
      }
      if (buffer == null) buffer = ctx.alloc().buffer(RelayPreface.LENGTH);
      if (buffer.readableBytes() + in.readableBytes() > RelayPreface.LENGTH + MAX_EARLY_BYTES) {
        in.release();
        fail(ctx, "more than " + MAX_EARLY_BYTES + " bytes before the other side came");
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
        fail(ctx, "not a relay preface");
        return;
      }
      ByteBuf early = buffer; // the rest: the node's first TLS bytes
      buffer = null;
      Ticket t;
      Channel other;
      ByteBuf otherEarly;
      int side = -1;
      String over = null;
      synchronized (lock) {
        t = byToken.get(new Key(token));
        side = t == null ? -1 : Arrays.equals(t.tokens[0], token) ? 0 : 1;
        if (t == null || t.closed || t.channels[side] != null) {
          t = null;
          other = null;
          otherEarly = null;
        } else if (t.channels[1 - side] == null) {
          t.channels[side] = ctx.channel();
          t.early[side] = early;
          other = null;
          otherEarly = null;
        } else {
          t.channels[side] = ctx.channel();
          t.joined = true;
          other = t.channels[1 - side];
          otherEarly = t.early[1 - side];
          t.early[1 - side] = null;
          // Carried too, and charged as such (their rate debt makes the first reads wait).
          long now = clock.getAsLong();
          boolean crossed = charge(t, side, early.readableBytes(), now) == OVER
              | charge(t, 1 - side, otherEarly.readableBytes(), now) == OVER; // both charged
          if (crossed) over = over(t, side, now) != null ? over(t, side, now) : over(t, 1 - side, now);
          if (over == null && !other.isActive()) over = "the other end left before this one came";
          if (over != null) release(t); // both ends close below; the first end has no handler left to do it
        }
      }
      if (t == null) {
        early.release();
        fail(ctx, "an unknown or used token");
        return;
      }
      timeout.cancel(false);
      uncount();
      if (over != null) {
        early.release();
        otherEarly.release();
        if (!over.startsWith("the other end") && countClose(t)) closedOverBytes.incrementAndGet();
        log.info("relayed link {} <-> {} closed as it joined: {}", t.ids[0], t.ids[1], over);
        ctx.close();
        other.close();
        return;
      }
      if (other == null) { // the first end: nothing more until the other is here
        ctx.channel().config().setAutoRead(false);
        ctx.pipeline().remove(this);
        return;
      }
      linked.incrementAndGet();
      bytesRelayed.addAndGet(early.readableBytes() + otherEarly.readableBytes());
      Channel self = ctx.channel();
      ctx.pipeline().replace(this, "splice", new Splice(t, other, side));
      other.pipeline().addLast("splice", new Splice(t, self, 1 - side));
      synchronized (lock) {
        t.lastActivity = clock.getAsLong();
      }
      checkIdle(t, self, other);
      // Each side's early bytes go to the other, then both read.
      if (early.isReadable()) other.writeAndFlush(early);
      else early.release();
      if (otherEarly.isReadable()) self.writeAndFlush(otherEarly);
      else otherEarly.release();
      self.config().setAutoRead(true);
      other.config().setAutoRead(true);
    }

    private void fail(ChannelHandlerContext ctx, String why) {
      badPrefaces.incrementAndGet();
      logRefused(why, ctx.channel());
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
      uncount();
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
    /** Which end of the ticket this channel is: the one whose identity sends what it reads. */
    private final int side;
    /** Until when this channel's reading waits out a rate; each direction its own (on the relay's one thread). */
    private long pausedUntil;

    Splice(Ticket ticket, Channel other, int side) {
      this.ticket = ticket;
      this.other = other;
      this.side = side;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      int n = b.readableBytes();
      long wait;
      String over;
      long now;
      synchronized (lock) {
        now = clock.getAsLong();
        wait = charge(ticket, side, n, now);
        over = wait == OVER ? over(ticket, side, now) : null;
      }
      if (wait > 0) pausedUntil = now + wait;
      if (over != null) {
        b.release();
        if (countClose(ticket)) closedOverBytes.incrementAndGet();
        log.info("relayed link {} <-> {} closed: {}", ticket.ids[0], ticket.ids[1], over);
        ctx.close();
        return;
      }
      bytesRelayed.addAndGet(n);
      // The void promise: no promise and no listener a relayed record. A failed write fires
      // exceptionCaught on the other end, which closes it, and its close closes this end.
      other.writeAndFlush(b, other.voidPromise());
      if (!other.isWritable()) ctx.channel().config().setAutoRead(false); // resumed by the other's writability
      if (wait > 0) {
        pausesForRate.incrementAndGet();
        ctx.channel().config().setAutoRead(false);
        resumeLater(ctx.channel(), wait);
      }
    }

    /**
     * Reading on {@code ch} (this direction) resumes in {@code nanos}, when its rate pause is
     * over and the other end can take bytes; a later pause moves the moment, and the timer then
     * waits again rather than letting reads through early. Not writable then: the other end's
     * writability change resumes it.
     */
    private void resumeLater(Channel ch, long nanos) {
      ch.eventLoop().schedule(() -> {
        if (!ch.isActive()) return;
        long left = pausedUntil - clock.getAsLong();
        if (left > 0) resumeLater(ch, left);
        else if (other.isWritable()) ch.config().setAutoRead(true);
      }, nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      // This side drained: the other side may read again, unless it waits out its rate pause
      // (its own timer resumes it then; this side is writable by that time, or says so again).
      if (ctx.channel().isWritable()) {
        Splice from = other.pipeline().get(Splice.class);
        if (from == null || from.pausedUntil - clock.getAsLong() <= 0) other.config().setAutoRead(true);
      }
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
