package dev.overlay.transport;

import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.identity.TlsContexts;
import dev.overlay.protocol.Message;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.proto.Frame;
import dev.overlay.wire.proto.Hello;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's links: at most one per peer, shared by every stream. Runs on the node's event loop
 * only; every channel of the node is registered on that loop, so nothing here is shared with
 * another thread.
 *
 * <p>It carries out the core's {@code connect}, {@code send} and {@code disconnect}, and reports
 * back {@link Listener#linkUp}, {@link Listener#linkDown} (only for links the core did not close)
 * and {@link Listener#dialFailed}.
 *
 * <p>This class keeps the link table: which connection is a peer's link, what waits to be
 * written to it, and the slow-peer policy. Its helpers each do one job: {@link Dialer} (which
 * addresses to dial, under which budget, seeds), {@link TcpConnector} (opening connections,
 * names resolved without blocking), {@link FlushScheduler} (when batches are flushed) and
 * {@link Backpressure} (when reading pauses and publishes are refused).
 */
public final class LinkManager {

  private static final Logger log = LoggerFactory.getLogger(LinkManager.class);

  /**
   * Every buffer of the node comes from Netty's pooled allocator. Netty 4.2's default adaptive
   * allocator made a new NIO view object for each TLS wrap and unwrap, which showed up as
   * allocation and page faults in the demo profile; the pooled one caches them per chunk.
   */
  public static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

  /**
   * How long a closing connection may take to hand over its last bytes and TLS's close_notify
   * before it is closed without them (Netty's default is 3 s). A node's close() waits for it, and
   * a peer that reads nothing for a second at a goodbye has nothing left to lose.
   */
  public static final long CLOSE_FLUSH_MILLIS = 1_000;

  /** What the node runtime hears from its links. All calls are on the node's loop. */
  public interface Listener {
    void linkUp(PeerId peer, PeerInfo info);

    void linkDown(PeerId peer, String reason);

    void dialFailed(PeerId peer, String reason);

    void received(PeerId peer, Message message, int frameBytes);

    /** The peer's link has stayed unwritable for maxPause: take it off the eager path. */
    default void peerSlow(PeerId peer) {}

    /** The link of a peer reported slow can be written to again. */
    default void peerDrained(PeerId peer) {}

    /** No link is congested any more: publishes are taken again. */
    default void uncongested() {}

    /** The node stopped reading from its links (backpressure), or started again. May be called while a send is under way. */
    default void saturated(boolean saturated) {}

    /** One of our PINGs on the peer's ready link was answered after {@code nanos}. */
    default void roundTrip(PeerId peer, long nanos) {}

    /** A seed dialled by address turned out to be this peer. */
    default void seedFound(InetSocketAddress address, PeerInfo info) {}

    default void seedFailed(InetSocketAddress address, String reason) {}

    void event(TransportEvent event);
  }

  /** One peer's link: its ready channel (or none yet; {@link Dialer} has the dial under way), what waits to be written. */
  private static final class Link {
    final PeerId peer;
    PeerInfo info;
    LinkHandler ready;
    /**
     * A newer connection that won over {@link #ready}, waiting for the peer to be heard on it
     * ({@link #heard}); what it carries is delivered meanwhile. Null when none.
     */
    LinkHandler pending;
    /**
     * The connection the link switched away from ({@link #switchTo}), kept open a while: frames
     * the peer sent over it before it switched too are still delivered. Null when none.
     */
    LinkHandler previous;
    long incarnation;
    final OutboundQueue queue;
    long shed;
    long lastShedReport;
    /** Whether this link counts as congested for {@link Backpressure}: unwritable (and the node pauses at all). */
    boolean congested;
    /** Whether Netty holds more than its high water mark for the link, and since when. */
    boolean unwritable;
    long unwritableSince;
    /** While unwritable: when its backlog in Netty last shrank (the peer read something), and how big it was. */
    long drainedAt;
    long lastBacklog;
    /** Its peer was taken off the eager path for this backlog (reported once per backlog). */
    boolean demoted;
    /** Time it alone held the node paused in the minute from {@code heldWindowStart} ({@link #PAUSE_WINDOW_NANOS}). */
    long heldNanos;
    long heldWindowStart;
    /** It spent its pause budget: it counts for no pause until its minute ends (its data lane sheds instead). */
    boolean exempt;

    Link(PeerId peer, TransportConfig config, LongSupplier clock) {
      this.peer = peer;
      this.heldWindowStart = clock.getAsLong();
      this.queue = new OutboundQueue(config.dataQueueBytes(), config.controlQueueBytes(), ALLOCATOR, clock);
    }
  }

  private final EventLoop loop;
  private final TransportConfig config;
  private final TlsContexts tls;
  private final Class<? extends ServerSocketChannel> serverChannel;
  private final Listener listener;
  private final IdCache ids = new IdCache();
  private final Map<PeerId, Link> links = new HashMap<>();
  private final Dialer dialer;
  private final LongSupplier clock;
  /**
   * PING nonces: unguessable, so a PONG cannot be sent before the PING it answers (a made-up short
   * round trip). Not the node's seeded generator: a peer sees every nonce we send it, and a
   * SplittableRandom's state follows from two of its outputs. A few per link a minute.
   */
  private final java.security.SecureRandom pingNonces = new java.security.SecureRandom();
  private final int maxPayloadBytes;
  private final LogBudget logBudget;
  private final EnumMap<CloseReason, Long> closes = new EnumMap<>(CloseReason.class);
  /** Connections in their TLS or HELLO handshake, against {@code maxHandshakes}. */
  private int handshaking;
  private final FlushScheduler<LinkHandler> flushes;
  private long linksRefused;
  private PeerInfo self;
  private Frame hello;
  private Channel server;
  private boolean closed;
  /**
   * Every connection from its first handler to its close, with its handler: dials, punches,
   * inbound handshakes and links alike; see {@link #allClosed}.
   */
  private final Map<Channel, LinkHandler> open = new HashMap<>();
  private io.netty.util.concurrent.Promise<Void> allClosed;
  /** The listening address, when bound for hole punching; null otherwise. */
  private volatile InetSocketAddress punchFrom;

  private long framesDropped;
  private long framesRejected;
  private long framesShed;
  private long slowPeerDisconnects;
  private long keepAlivesDropped;
  private long framesOverPeerLimit;
  private long slowPeerDemotions;
  private long slowPeerExemptions;
  /** The link that alone holds the node paused (the only congested one), and since when it is charged; null when none. */
  private Link soleHolder;
  private long soleSince;
  private final Backpressure backpressure;

  public LinkManager(EventLoop loop, TransportConfig config, TlsContexts tls, Class<? extends SocketChannel> socketChannel,
      Class<? extends ServerSocketChannel> serverChannel, RandomGenerator random, Listener listener) {
    this(loop, config, tls, socketChannel, serverChannel, random, listener, dev.overlay.wire.WireCodec.MAX_PAYLOAD_BYTES, System::nanoTime);
  }

  /**
   * @param maxPayloadBytes the largest payload a peer may send us; larger ones close its link
   * @param clock the monotonic clock every timeout and budget here reads
   */
  public LinkManager(EventLoop loop, TransportConfig config, TlsContexts tls, Class<? extends SocketChannel> socketChannel,
      Class<? extends ServerSocketChannel> serverChannel, RandomGenerator random, Listener listener, int maxPayloadBytes,
      LongSupplier clock) {
    this(loop, config, tls, socketChannel, serverChannel, random, listener, maxPayloadBytes, clock, null);
  }

  /** With the connector dials use (null: TCP); tests connect embedded channels instead. */
  LinkManager(EventLoop loop, TransportConfig config, TlsContexts tls, Class<? extends SocketChannel> socketChannel,
      Class<? extends ServerSocketChannel> serverChannel, RandomGenerator random, Listener listener, int maxPayloadBytes,
      LongSupplier clock, Connector connector) {
    this.loop = loop;
    this.clock = clock;
    this.maxPayloadBytes = maxPayloadBytes;
    this.logBudget = new LogBudget(log, TimeUnit.SECONDS.toNanos(10), clock);
    this.backpressure = new Backpressure(config.maxPauseNanos(), clock, this::reading);
    this.flushes = new FlushScheduler<>(loop, (task, delay) -> loop.schedule(task, delay, TimeUnit.NANOSECONDS), clock,
        config.flushCoalescingNanos(), this::flushNow);
    this.config = config;
    this.tls = tls;
    this.serverChannel = serverChannel;
    this.listener = listener;
    this.dialer = new Dialer(config, random, clock, loop, (task, delay) -> loop.schedule(task, delay, TimeUnit.NANOSECONDS),
        connector != null ? connector : new TcpConnector(loop, config, tls, socketChannel, this::initPipeline, this::closed),
        listener, new Dialer.Links() {
          @Override
          public boolean closed() {
            return closed;
          }

          @Override
          public LinkHandler handler(PeerId expected, boolean pinned, String remote) {
            return new LinkHandler(LinkManager.this, expected, pinned, true, remote);
          }

          @Override
          public LinkHandler punchHandler(PeerId peer, String remote) {
            // Both sides connected, so neither is the dialer by nature: the smaller id takes
            // TLS's client role and counts as the dialer, on both ends alike.
            return new LinkHandler(LinkManager.this, peer, false, self.id().compareTo(peer) < 0, remote);
          }

          @Override
          public InetSocketAddress punchFrom() {
            return punchFrom;
          }

          @Override
          public boolean relayedTo(PeerId peer) {
            Link l = links.get(peer);
            return l != null && l.ready != null && l.ready.relayed && (l.pending == null || l.pending.relayed);
          }

          @Override
          public void exhausted(PeerId peer) {
            Link link = links.get(peer);
            if (link != null && link.ready == null) {
              framesDropped += link.queue.releaseAll();
              links.remove(peer);
              uncongest(link);
            }
          }
        });
  }

  // ---- Lifecycle ----------------------------------------------------------------------------

  /** Binds the listening socket; call from outside the loop (it waits for the bind). Returns the bound address. */
  public InetSocketAddress bind(InetSocketAddress address) throws InterruptedException {
    return bind(address, false);
  }

  /**
   * As {@link #bind(InetSocketAddress)}; with {@code punching}, the socket is bound with
   * SO_REUSEPORT, so that hole punches can connect out from the listening port (the port the
   * node's NAT mapping and its reflexive candidate are for).
   */
  public InetSocketAddress bind(InetSocketAddress address, boolean punching) throws InterruptedException {
    if (punching && address.getPort() != 0) {
      // With SO_REUSEPORT a second process could bind the same port and the kernel would share
      // the connections between the two, silently: a plain bind first finds a port in use.
      try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
        probe.bind(address);
      } catch (java.io.IOException inUse) {
        throw new IllegalStateException("cannot listen on " + address + ": " + inUse.getMessage(), inUse);
      }
    }
    ServerBootstrap b = new ServerBootstrap()
        .group(loop, loop)
        .channel(serverChannel)
        .option(ChannelOption.SO_REUSEADDR, true)
        .option(TcpConnector.reusePort(serverChannel), punching ? true : null)
        .option(ChannelOption.ALLOCATOR, ALLOCATOR)
        .childOption(ChannelOption.ALLOCATOR, ALLOCATOR)
        .childOption(ChannelOption.TCP_NODELAY, true)
        // Set on the listening socket, so that accepted ones start with it (the window scale is
        // agreed in the handshake).
        .option(ChannelOption.SO_RCVBUF, config.socketReceiveBufferBytes() > 0 ? config.socketReceiveBufferBytes() : null)
        .childOption(io.netty.channel.epoll.EpollChannelOption.TCP_NOTSENT_LOWAT, TcpConnector.unsentLowWater(config, serverChannel))
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(config.writeBufferLowWaterMark(), config.writeBufferHighWaterMark()))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            String remote = String.valueOf(ch.remoteAddress());
            if (!admitInbound(ch, remote)) return;
            PeerId punching = punchFrom == null ? null : dialer.punchingTo(Dialer.addressKey((InetSocketAddress) ch.remoteAddress()));
            if (punching != null && self.id().compareTo(punching) < 0) {
              // A punch's SYN met our listening socket rather than our punch socket: this is the
              // punch, and the smaller id is TLS's client on both ends, as on a punched connection.
              LinkHandler h = new LinkHandler(LinkManager.this, punching, false, true, Dialer.addressKey((InetSocketAddress) ch.remoteAddress()));
              h.punched = true;
              initPipeline(ch, tls.client().newHandler(ch.alloc()), h);
              return;
            }
            LinkHandler h = new LinkHandler(LinkManager.this, punching, false, remote);
            h.punched = punching != null;
            initPipeline(ch, tls.server().newHandler(ch.alloc()), h);
          }
        });
    try {
      server = b.bind(address).sync().channel();
    } catch (Exception e) {
      if (address.getAddress() instanceof java.net.Inet6Address && !(e instanceof InterruptedException)) {
        throw new IllegalStateException("cannot listen on [" + address.getHostString() + "]:" + address.getPort() + ": " + e
            + " (if this host or JVM has no IPv6, listen on 0.0.0.0 for IPv4 only)", e);
      }
      throw e;
    }
    InetSocketAddress bound = (InetSocketAddress) server.localAddress();
    if (punching) punchFrom = bound;
    return bound;
  }

  /** Our own PeerInfo, as sent in every HELLO. Set once the listening address is known. */
  public void self(PeerInfo self) {
    this.self = self;
    this.hello = Frame.newBuilder().setHello(Hello.newBuilder()
        .setProtocolVersion(WireCodec.PROTOCOL_VERSION)
        .setMinProtocolVersion(WireCodec.MIN_PROTOCOL_VERSION)
        .setSender(WireCodec.peerInfo(self))
        .setMaxFrameBytes(config.maxFrameBytes())).build();
  }

  /**
   * Says goodbye properly: flushes and closes every link, then the listening socket.
   *
   * @return done when every connection is closed: for a connection whose peer does not take its
   *     last bytes, {@link #CLOSE_FLUSH_MILLIS} after this call, and a second later at the latest
   *     (the backstop), unless the loop is stuck
   */
  public io.netty.util.concurrent.Future<Void> shutdownGracefully() {
    closed = true;
    for (PeerId peer : new ArrayList<>(links.keySet())) disconnect(peer);
    if (server != null) server.close();
    dialer.close();
    return allClosed();
  }

  /**
   * Closes every link and the listening socket at once, as a crash would.
   *
   * @return done when every connection is closed (as {@link #shutdownGracefully})
   */
  public io.netty.util.concurrent.Future<Void> shutdown() {
    closed = true;
    for (Link link : new ArrayList<>(links.values())) {
      drop(link);
      if (link.ready != null) link.ready.close(CloseReason.SHUTDOWN, "node shutting down");
      closeOthers(link, CloseReason.SHUTDOWN, "node shutting down");
      for (LinkHandler attempt : dialer.attempts(link.peer)) attempt.close(CloseReason.SHUTDOWN, "node shutting down");
      uncongest(link);
    }
    links.clear();
    if (server != null) server.close();
    dialer.close();
    return allClosed();
  }

  /**
   * Done once no connection of this node is open. Whoever stops the loop waits for it: Netty 4.2
   * may end a loop without closing its channels when the stop arrives while it runs tasks, and a
   * channel left open then keeps the buffers it was writing for good (seen as a leak report).
   */
  private io.netty.util.concurrent.Future<Void> allClosed() {
    // What no link holds: handshakes in either direction, dials by address, punches for others.
    for (LinkHandler h : new ArrayList<>(open.values())) {
      if (h.closeKind() == null) h.close(CloseReason.SHUTDOWN, "node shutting down");
    }
    if (allClosed == null) {
      allClosed = loop.newPromise();
      var backstop = loop.schedule(this::closeWhatIsLeft, CLOSE_FLUSH_MILLIS + 1_000, TimeUnit.MILLISECONDS);
      allClosed.addListener(f -> backstop.cancel(false)); // on a shared loop it would hold this node for 2 s
    }
    if (open.isEmpty()) allClosed.trySuccess(null);
    return allClosed;
  }

  /**
   * The backstop: TLS closes every connection within {@link #CLOSE_FLUSH_MILLIS}, so one still
   * open a second later is closed at the socket, which frees what it was writing.
   */
  private void closeWhatIsLeft() {
    if (open.isEmpty()) return;
    log.warn("{} connection(s) still open {} ms after the shutdown began: closed without TLS's goodbye", open.size(),
        CLOSE_FLUSH_MILLIS + 1_000);
    for (Channel ch : new ArrayList<>(open.keySet())) ch.unsafe().close(ch.voidPromise());
  }

  // ---- The core's commands ------------------------------------------------------------------

  /** Starts a link to the peer unless one exists or is being dialled. */
  public void connect(PeerInfo info) {
    if (closed) return;
    PeerId peer = intern(info.id());
    Link link = links.get(peer);
    if (link == null) {
      if (links.size() >= config.maxLinks()) {
        linksRefused++;
        String reason = "link limit reached (" + config.maxLinks() + " links)";
        listener.event(new TransportEvent.DialFailed(peer, "-", reason));
        loop.execute(() -> listener.dialFailed(peer, reason)); // not from inside the core's own call
        return;
      }
      link = new Link(peer, config, clock);
      links.put(peer, link);
    }
    if (!info.candidates().isEmpty()) link.info = info;
    if (link.ready != null) return;
    dialer.dial(peer, link.info != null ? link.info : info);
  }

  /**
   * Where dials that failed at every address of a peer behind a NAT ask a tracker to arrange a
   * hole punch: {@code request} sends the request and says whether one could be sent.
   */
  public void punchVia(java.util.function.Predicate<PeerId> request) {
    dialer.punchVia(request);
  }

  /**
   * A tracker's signal: connect to {@code info}'s reflexive candidates from the listening port
   * in {@code delayNanos}, as the peer does to ours (our own request's answer, or the peer's).
   * Ignored when linked already, when the link table is full, or when not bound for punching.
   */
  public void punch(PeerInfo info, long delayNanos) {
    if (closed) return;
    PeerId peer = intern(info.id());
    Link link = links.get(peer);
    if (link != null && link.ready != null && (!link.ready.relayed || (link.pending != null && !link.pending.relayed))) {
      // A relayed link may still become direct: not one that is becoming direct already.
      dialer.signalIgnored();
      return;
    }
    if (link == null && links.size() >= config.maxLinks()) {
      linksRefused++;
      dialer.signalIgnored();
      listener.event(new TransportEvent.DialFailed(peer, "-", "hole punch not started: link limit reached ("
          + config.maxLinks() + " links)"));
      return;
    }
    dialer.punch(info, delayNanos);
  }

  /** The tracker would not arrange the punch (or relay) our dial to {@code peer} asked for. */
  public void punchRefused(PeerId peer, String detail) {
    dialer.punchRefused(peer, detail);
  }

  /** Where dials whose punch failed ask a tracker to relay them: {@code request} says whether one was asked. */
  public void relayVia(java.util.function.Predicate<PeerId> request) {
    dialer.relayVia(request);
  }

  /**
   * A tracker's signal: reach {@code info} through the relay at {@code relay}, presenting
   * {@code token}. Ignored when linked already or when the link table is full.
   */
  public void relay(PeerInfo info, InetSocketAddress relay, byte[] token) {
    if (closed) return;
    PeerId peer = intern(info.id());
    Link link = links.get(peer);
    if (link != null && link.ready != null) {
      dialer.signalIgnored();
      return;
    }
    if (link == null && links.size() >= config.maxLinks()) {
      linksRefused++;
      dialer.signalIgnored();
      listener.event(new TransportEvent.DialFailed(peer, "-", "relay not started: link limit reached ("
          + config.maxLinks() + " links)"));
      return;
    }
    dialer.relay(info, relay, token);
  }

  /** The newest protocol version the peer's ready link speaks, or 0 when not linked. */
  public int version(PeerId peer) {
    Link l = links.get(peer);
    return l == null || l.ready == null ? 0 : l.ready.version();
  }

  /** Dials a seed known only by address; its id is learnt from the handshake. */
  public void dialSeed(InetSocketAddress address) {
    dialSeed(address, null);
  }

  /**
   * Dials a seed or tracker by address. With {@code pinned}, the peer must prove that key, or
   * the connection is refused ({@link CloseReason#PINNED_KEY_MISMATCH}).
   */
  public void dialSeed(InetSocketAddress address, PeerId pinned) {
    dialer.dialSeed(address, pinned);
  }

  /**
   * Sends a frame to the peer: copies it into the link's batch (or shares it, when large); the
   * caller keeps its reference. Returns false when there is no link to the peer at all.
   */
  public boolean send(PeerId peer, ByteBuf frame, boolean control) {
    Link link = links.get(peer);
    if (link == null) {
      framesDropped++;
      return false;
    }
    LinkHandler h = link.ready;
    Channel ch = h == null ? null : h.channel();
    if (h != null && frame.readableBytes() > h.peerMaxFrameBytes()) {
      framesDropped++;
      framesOverPeerLimit++; // it would close the link at the other end
      return true;
    }
    switch (link.queue.offer(frame, control, ch)) {
      case ACCEPTED -> {
        if (h != null) {
          h.framesOut++;
          markDirty(h);
        }
        if (!control) congestion(link);
      }
      case DATA_FULL -> {
        framesDropped++;
        framesShed++;
        link.shed++;
        long now = clock.getAsLong();
        if (now - link.lastShedReport > TimeUnit.SECONDS.toNanos(1)) { // an event a second, not one a frame
          link.lastShedReport = now;
          listener.event(new TransportEvent.DataShed(peer, link.shed, link.queue.queuedBytes()));
        }
      }
      case CONTROL_FULL -> {
        framesDropped++;
        disconnectSlow(link, "control queue full (" + config.controlQueueBytes() + " bytes)");
      }
    }
    return true;
  }

  /**
   * Sends bulk data that another mechanism paces (history, under the asker's credit): queued
   * like data, but it never makes the link count as congested, so a slow asker cannot pause this
   * node's reading of every other link. The sender checks {@link #writable} before each frame.
   * Returns false when there is no link to the peer.
   */
  public boolean sendBulk(PeerId peer, ByteBuf frame) {
    Link link = links.get(peer);
    if (link == null) {
      framesDropped++;
      return false;
    }
    LinkHandler h = link.ready;
    if (h != null && frame.readableBytes() > h.peerMaxFrameBytes()) {
      framesDropped++;
      framesOverPeerLimit++;
      return true;
    }
    Channel ch = h == null ? null : h.channel();
    switch (link.queue.offer(frame, false, ch)) {
      case ACCEPTED -> {
        if (h != null) {
          h.framesOut++;
          markDirty(h);
        }
      }
      default -> {
        framesDropped++;
        framesShed++;
        link.shed++;
      }
    }
    return true;
  }

  /** Whether the link to the peer is up and its channel takes more without queueing past its high-water mark. */
  public boolean writable(PeerId peer) {
    Link link = links.get(peer);
    LinkHandler h = link == null ? null : link.ready;
    return h != null && h.channel().isWritable();
  }

  /** Flushes what was written to the peer, then closes the link; the core hears nothing back. */
  public void disconnect(PeerId peer) {
    Link link = links.remove(peer);
    if (link == null) return;
    uncongest(link);
    dialer.cancel(peer);
    LinkHandler h = link.ready;
    link.ready = null;
    closeOthers(link, CloseReason.CLOSED_BY_US, "closed by this node");
    if (h != null) {
      dialer.linkClosed(h);
      Channel ch = h.channel();
      link.queue.drainAll(ch);
      h.closing(CloseReason.CLOSED_BY_US, "closed by this node");
      // TLS encrypts what waits at the flush, and its close sends close_notify after it and
      // closes once that is written, or after CLOSE_FLUSH_MILLIS to a peer that takes nothing.
      // (Closing when the write completes instead, as this did, held the connection and its
      // buffers for as long as such a peer liked.)
      ch.flush();
      ch.close();
    } else {
      framesDropped += link.queue.releaseAll();
    }
  }

  /**
   * Every {@code maxPause / 4}: a link that alone has held the node's pause for {@code maxPause}
   * is its bottleneck: its peer is taken off the eager path (the core stops pushing to it), so
   * that once the backlog drains it no longer sets the stream's pace. The link still counts for
   * backpressure: letting the publisher go on would only turn the backlog into repair traffic
   * (measured: OverloadBurstTest then saw thousands of GRAFTs and seconds of latency). A link
   * still unwritable after {@code slowPeerTimeout} belongs to a peer that does not read: it is
   * closed, so a peer that never reads holds the node for at most that long. A pause that
   * outlasts ten times {@code maxPause} anyway ends (reading resumes; publishes stay refused
   * while links are congested).
   */
  public void checkSlowPeers() {
    backpressure.check();
    long now = clock.getAsLong();
    chargeSoleHolder(now);
    for (Link link : new ArrayList<>(links.values())) {
      spendPauseBudget(link, now);
    }
    for (Link link : new ArrayList<>(links.values())) {
      if (link.ready == null || !link.unwritable || link.ready.closeReason() != null) continue; // closing: TLS may wait to flush
      long stuck = now - link.unwritableSince;
      // Nothing more is written to Netty while the link is unwritable, so a backlog that shrinks
      // means the peer reads, however slowly: under honest saturation a link can stay above the
      // low water mark for seconds (the sweep at 200,000 msg/s disconnected one after 5.1 s, and
      // the torn tree lost 4 % of the messages). Only a peer that reads nothing is closed.
      long backlog = link.ready.channel().bytesBeforeWritable();
      if (backlog < link.lastBacklog) link.drainedAt = now;
      link.lastBacklog = backlog;
      long stalled = now - Math.max(link.unwritableSince, link.drainedAt);
      if (stalled >= config.slowPeerTimeoutNanos()) {
        disconnectSlow(link, "did not read for " + TimeUnit.NANOSECONDS.toMillis(stalled) + " ms");
      } else if (stuck >= config.maxPauseNanos() && !link.demoted && (!link.congested || backpressure.congestedLinks() == 1)) {
        // It alone holds the node. When several links are congested at once, that is overload,
        // which backpressure to the publisher answers; demoting them all would leave no tree.
        link.demoted = true;
        slowPeerDemotions++;
        listener.event(new TransportEvent.SlowPeerDemoted(link.peer, link.queue.queuedBytes(), TimeUnit.NANOSECONDS.toMillis(stuck)));
        listener.peerSlow(link.peer);
      }
    }
  }

  /**
   * A window of the pause budget: a link may hold the node paused on its own (the only congested
   * link) for at most {@code slowPeerTimeout} in it, the longest a peer that reads nothing at
   * all holds it before it is closed.
   */
  static final long PAUSE_WINDOW_NANOS = TimeUnit.MINUTES.toNanos(1);

  /**
   * The pause budget. A neighbour that reads a trickle (its backlog shrinks now and then, so it
   * is never closed for not reading) would otherwise hold the node's reading paused and its
   * publishes refused for as long as it likes, one short episode after another. Past
   * {@code slowPeerTimeout} of holding the node alone within a minute, the link counts for no
   * pause until the minute ends: what it cannot take is shed from its data lane (DataShed), its
   * own loss, and the node reads and publishes again. Only a sole holder spends: when several
   * links are congested at once, that is overload, which backpressure to the publisher answers
   * (exempting them all turned overload into repair traffic, measured).
   */
  private void spendPauseBudget(Link link, long now) {
    if (now - link.heldWindowStart >= PAUSE_WINDOW_NANOS) {
      link.heldWindowStart = now;
      link.heldNanos = 0;
      if (link.exempt) {
        link.exempt = false;
        congestion(link); // counts again, with a new budget
      }
    }
    if (!link.exempt && link.heldNanos >= config.slowPeerTimeoutNanos()) {
      link.exempt = true;
      slowPeerExemptions++;
      log.warn("peer {} held this node paused alone for {} ms within a minute: it no longer pauses the node until the minute ends "
          + "(what it cannot take is shed)", link.peer, TimeUnit.NANOSECONDS.toMillis(link.heldNanos));
      setCongested(link, false);
    }
  }

  /** Whether some link is congested, so that the node's publishes are refused. Any thread. */
  public boolean congested() {
    return backpressure.congested();
  }

  /** Updates the link's congestion: whether Netty holds more than the high water mark for it. */
  private void congestion(Link link) {
    // A link being closed counts for nothing: its close may wait seconds for TLS to flush.
    boolean unwritable = link.ready != null && link.ready.closeReason() == null && !link.ready.channel().isWritable();
    if (unwritable != link.unwritable) {
      link.unwritable = unwritable;
      if (unwritable) {
        link.unwritableSince = clock.getAsLong();
        link.drainedAt = Long.MIN_VALUE;
        link.lastBacklog = link.ready.channel().bytesBeforeWritable();
      } else if (link.demoted) {
        link.demoted = false;
        listener.peerDrained(link.peer);
      }
    }
    setCongested(link, unwritable && config.pauseReading() && !link.exempt);
  }

  private void setCongested(Link link, boolean congested) {
    boolean was = link.congested;
    int before = backpressure.congestedLinks();
    link.congested = backpressure.update(was, congested);
    if (backpressure.congestedLinks() != before) soleHolderMayHaveChanged(before, link);
    if (was != link.congested) applyReading(link);
    if (was && !link.congested && !backpressure.congested()) listener.uncongested();
  }

  /**
   * Reads from the link unless the node is paused; a link we are congested towards is read from
   * even then. Its peer may be paused itself, waiting for us to read what it sends (a cycle of
   * links eager both ways): reading from it lets it drain towards us, read again, and so drain
   * our backlog towards it. Reading it adds nothing to that backlog (nothing is forwarded back
   * to its sender); what it forwards to other links is bounded by the pause's short life.
   */
  private void applyReading(Link link) {
    LinkHandler h = link.ready;
    if (h == null) return;
    boolean on = !backpressure.paused() || link.congested;
    if (h.channel().config().isAutoRead() != on) h.channel().config().setAutoRead(on); // on also reads
    // What a held connection still carries is load like any other. A pending one is always read:
    // the peer's first frame on it is what switches the link, and a pause can outlast the wait.
    LinkHandler p = link.previous;
    on = !backpressure.paused();
    if (p != null && p.channel().config().isAutoRead() != on) p.channel().config().setAutoRead(on);
  }

  /** The link's backlog is gone with it (the link closed, or its connection was replaced). */
  private void uncongest(Link link) {
    link.unwritable = false;
    if (link.demoted) {
      link.demoted = false;
      listener.peerDrained(link.peer);
    }
    if (!link.congested) return;
    link.congested = false;
    int before = backpressure.congestedLinks();
    backpressure.forget(true);
    soleHolderMayHaveChanged(before, link);
    if (!backpressure.congested()) listener.uncongested();
  }

  /**
   * The number of congested links changed from {@code before}: the link that held the node alone
   * until now is charged for it, and the one that holds it alone from now on, if one does, is
   * noted. Charged at every change, not sampled, so a link is charged only for the time it really
   * was the only one (the last of several to drain is not charged for the others' time).
   */
  private void soleHolderMayHaveChanged(int before, Link changed) {
    long now = clock.getAsLong();
    if (before == 1) chargeSoleHolder(now);
    soleHolder = null;
    if (backpressure.congestedLinks() == 1) {
      if (before == 0) {
        soleHolder = changed; // it became congested, alone
      } else {
        for (Link l : links.values()) { // the count fell to 1: which one is left (a scan, only then)
          if (l.congested) {
            soleHolder = l;
            break;
          }
        }
      }
      soleSince = now;
    }
  }

  /** Charges the link holding the node alone, if one does, up to {@code now}. */
  private void chargeSoleHolder(long now) {
    if (soleHolder == null) return;
    soleHolder.heldNanos += now - soleSince;
    soleSince = now;
  }

  /** How often {@link #checkSlowPeers} should run: a quarter of {@code maxPause}. */
  public long slowPeerCheckNanos() {
    return Math.max(TimeUnit.MILLISECONDS.toNanos(10), config.maxPauseNanos() / 4);
  }

  /** Turns reading on or off for every ready link (Backpressure decides when; see applyReading). */
  private void reading(boolean on) {
    listener.saturated(!on);
    for (Link link : links.values()) applyReading(link);
  }

  // ---- From the channels --------------------------------------------------------------------

  void ready(LinkHandler h) {
    if (closed) { // a handshake that ended after the goodbyes makes no new link
      h.close(CloseReason.SHUTDOWN, "node shutting down");
      return;
    }
    handshakeDone(h);
    dialer.finished(h, true);
    PeerId peer = h.peer();
    PeerInfo info = h.peerInfo();
    Link link = links.get(peer);
    dialer.seedReady(h, info);
    if (link == null) {
      if (links.size() >= config.maxLinks()) { // no one gets a new entry in a full table
        linksRefused++;
        h.close(CloseReason.LINK_LIMIT, "link limit reached (" + config.maxLinks() + " links)");
        return; // closed() counts and reports it
      }
      link = new Link(peer, config, clock);
      links.put(peer, link);
    }
    LinkHandler current = link.ready;
    if (current != null) {
      if (info.incarnation() > link.incarnation) {
        // The peer restarted: its old connection belongs to a node that no longer exists.
        link.ready = null;
        framesDropped += link.queue.releaseAll();
        uncongest(link);
        current.close(CloseReason.PEER_RESTARTED, "replaced by the peer's new incarnation");
        closeOthers(link, CloseReason.PEER_RESTARTED, "replaced by the peer's new incarnation");
        listener.linkDown(peer, "peer restarted");
      } else if (info.incarnation() < link.incarnation) {
        h.close(CloseReason.EARLIER_INCARNATION, "from an earlier incarnation of the peer");
        return;
      } else if (keepsExisting(current, h) || (link.pending != null && keepsExisting(link.pending, h))) {
        // It may be the peer's link, for now (the ends need not agree on which came first):
        // closed at once, its close could take the peer's link down before the peer has ours.
        // Compared with a pending one too: with three connections up, each end must pick the
        // same one, and the peer may have switched to the pending one already.
        if (dialer.isAttempt(peer, h)) { // our dial is over: we are linked
          for (LinkHandler attempt : dialer.detach(peer)) {
            if (attempt != h) attempt.close(CloseReason.SUPERSEDED, "superseded: linked by another connection");
          }
        }
        if (link.previous == null) keepAWhile(link, h);
        else h.close(CloseReason.SUPERSEDED, "superseded: a simultaneous dial already linked us");
        return;
      } else {
        if (h.punched && !dialer.isAttempt(peer, h)) dialer.punchAccepted(peer, h);
        for (LinkHandler attempt : dialer.detach(peer)) { // a punch that replaces a relayed link ends its dial here
          if (attempt != h) attempt.close(CloseReason.SUPERSEDED, "superseded: linked by another connection");
        }
        if (link.pending != null) link.pending.close(CloseReason.SUPERSEDED, "superseded: a newer connection linked us");
        link.pending = h;
        applyReading(link);
        awaitHeard(link, h);
        return; // the core already knows the link is up
      }
    }
    if (dialer.dialling(peer) && !dialer.isAttempt(peer, h)) {
      List<LinkHandler> ours = dialer.attempts(peer);
      boolean oursConnected = ours.stream().anyMatch(o -> o.channel() != null && o.channel().isActive());
      if (oursConnected && !h.dialer() && self.id().compareTo(peer) < 0) {
        // Both dialled at once and ours reached the peer: the peer keeps the connection dialled
        // by the smaller id, which is ours, so this one would be closed at its end anyway.
        h.close(CloseReason.SUPERSEDED, "superseded: our own dial, from the smaller id, is under way");
        return;
      }
      if (h.punched) dialer.punchAccepted(peer, h);
      // Detached first: closing it may call closed() at once, which would take it for a failed
      // dial, try the next address or, with none left, remove this link before it is up.
      dialer.detach(peer);
      for (LinkHandler o : ours) o.close(CloseReason.SUPERSEDED, "superseded: the peer dialled us first");
    }
    for (LinkHandler attempt : dialer.detach(peer)) { // raced ones, if the winner's connection was not seen to come up
      if (attempt != h) attempt.close(CloseReason.DIAL_CANCELLED, "another address of the peer linked first");
    }
    link.ready = h;
    applyReading(link); // a new link waits with the others
    link.info = info;
    link.incarnation = info.incarnation();
    dialer.linked(peer);
    listener.event(new TransportEvent.LinkUp(peer, h.remote(), !h.dialer()));
    listener.linkUp(peer, info);
    drainAndFlush(link);
    if (h.relayed && h.dialer()) dialer.upgradeLater(peer, info); // one side tries to punch again, now and then
  }

  /**
   * The peer sent its first frame over {@code h} (its PING as its end became ready): if {@code h}
   * waits to replace the link's connection, the link switches to it now.
   *
   * <p>Make before break. The two ends of a new connection become ready at different moments,
   * and the link switched, and closed the old connection, as soon as its own end was ready. The
   * NAT lab showed what that breaks: a relay closes the peer's half of a relayed connection as
   * soon as ours closes, which could reach the peer before its end of the direct connection was
   * ready; its link went down and its core dropped us as a neighbour while ours kept the peer,
   * and the stream stopped between us. Now each end goes on sending over the old connection
   * until it hears the peer on the new one (so a new connection that fails before both ends are
   * ready costs nothing), and keeps the old one open for {@code handshakeTimeout} after the
   * switch, delivering what the peer still sends over it.
   */
  void heard(LinkHandler h) {
    Link link = links.get(h.peer());
    if (link != null && link.pending == h) switchTo(link, h);
  }

  /** A pending connection the peer does not use within the handshake timeout goes; the link stays as it is. */
  private void awaitHeard(Link link, LinkHandler h) {
    loop.schedule(() -> {
      if (link.pending != h) return; // in use, or closed, meanwhile
      link.pending = null;
      h.close(CloseReason.SUPERSEDED, "superseded: the peer did not use this connection within the handshake timeout");
    }, config.handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  private void switchTo(Link link, LinkHandler h) {
    LinkHandler old = link.ready;
    if (link.previous != null) link.previous.close(CloseReason.SUPERSEDED, "superseded twice: a third connection linked us");
    promote(link, h);
    keepAWhile(link, old);
  }

  /** The link's pending connection {@code h} becomes its connection. */
  private void promote(Link link, LinkHandler h) {
    link.pending = null;
    uncongest(link); // the old connection's backlog and clocks are not the new one's
    link.ready = h;
    applyReading(link);
    drainAndFlush(link);
  }

  /**
   * Keeps {@code old}, a connection the link does not use, open for {@code handshakeTimeout}:
   * the peer may still be sending over it, until it too uses the link's connection.
   */
  private void keepAWhile(Link link, LinkHandler old) {
    link.previous = old;
    applyReading(link);
    loop.schedule(() -> {
      if (link.previous != old) return; // closed meanwhile
      link.previous = null;
      old.close(CloseReason.SUPERSEDED, "superseded: both ends use another connection");
    }, config.handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  /** Closes the connections a link holds besides its ready one. */
  private void closeOthers(Link link, CloseReason kind, String why) {
    LinkHandler p = link.previous;
    LinkHandler q = link.pending;
    link.previous = null;
    link.pending = null;
    if (p != null) p.close(kind, why);
    if (q != null) q.close(kind, why);
  }

  /**
   * Of two ready connections between the same pair, both ends keep the one dialled by the
   * smaller peer id, so they agree without talking. Two dialled by the same side: the one whose
   * HELLO carried the smaller connection number, which both ends know, where both connections
   * speak a version that has it (both ends then apply the rule); otherwise the first one ready,
   * which the two ends may see in different orders.
   */
  private boolean keepsExisting(LinkHandler existing, LinkHandler incoming) {
    // A direct connection beats a relayed one (the relay is the fallback, and costs a third party).
    if (existing.relayed != incoming.relayed) return !existing.relayed;
    if (existing.dialer() == incoming.dialer()) {
      if (Math.min(existing.version(), incoming.version()) < WireCodec.CONNECTION_NONCE_PROTOCOL_VERSION) return true;
      long e = existing.connectionNonce;
      long i = incoming.connectionNonce;
      return e == 0 || i == 0 || e == i || Long.compareUnsigned(e, i) < 0;
    }
    boolean keepOurDial = self.id().compareTo(existing.peer()) < 0;
    return existing.dialer() == keepOurDial;
  }

  /** A dialled connection's TCP handshake is done: the dial stops racing other addresses against it. */
  void connected(LinkHandler h) {
    if (h.expected() != null) dialer.connected(h.expected(), h);
  }

  void closed(LinkHandler h) {
    handshakeDone(h);
    dialer.finished(h, false);
    count(h.closeKind());
    PeerId peer = h.peer();
    Link link = peer == null ? null : links.get(peer);
    if (link == null && h.expected() != null) link = links.get(h.expected());
    // Our dial's attempt, found by whom it was meant to reach: the peer it proved may be another
    // one (already linked, even), and then the dial must still end, or its slot stays taken.
    PeerId dialled = h.expected();
    if (dialled != null && dialer.isAttempt(dialled, h)) {
      dialer.attemptFailed(dialled, h, h.closeReason());
      if (h.closeKind().rejected()) reject(h);
      dialer.tryNext(dialled);
      return;
    }
    if (link != null && (link.previous == h || link.pending == h)) {
      if (link.previous == h) link.previous = null;
      else link.pending = null;
      if (h.closeKind().rejected()) {
        reject(h);
        if ((h.closeKind() == CloseReason.MALFORMED_FRAME || h.closeKind() == CloseReason.PROTOCOL_ERROR) && link.ready != null) {
          // The peer's own frames, past TLS, broke the protocol: its link goes, as for the ready
          // connection. (Not for a TLS failure: a relay or a path can cause that, not the peer.)
          link.ready.close(CloseReason.CLOSED_BY_US, "its other connection broke the protocol: " + h.closeReason());
        }
        return;
      }
    }
    if (link != null && link.ready == h && link.pending != null && link.pending.ready() && !h.closeKind().rejected()) {
      // The peer closed the old connection before we heard it on the new one (it switched
      // without waiting, or its wait ended first): the new one is its link now, and ours.
      dialer.linkClosed(h);
      promote(link, link.pending);
      return;
    }
    if (link != null && link.ready == h) {
      closeOthers(link, CloseReason.SUPERSEDED, "the link's connection closed: " + h.closeReason());
      dialer.linkClosed(h);
      link.ready = null;
      framesDropped += link.queue.releaseAll();
      links.remove(link.peer);
      uncongest(link);
      log.debug("link to {} down: {}", peer, h.closeReason());
      if (h.closeKind().rejected()) reject(h); // a protocol error on a working link: refused, and down
      listener.event(new TransportEvent.LinkDown(peer, h.closeReason()));
      listener.linkDown(peer, h.closeReason());
      return;
    }
    dialer.seedClosed(h);
    if (h.closeKind().rejected()) reject(h);
  }

  /**
   * Whether an inbound connection may start its handshake; if not, it is closed at once, before
   * TLS (a ClientHello costs an ECDHE and a signature on this loop), counted and reported.
   */
  boolean admitInbound(Channel ch, String remote) {
    if (hello == null) {
      // Bound, but the node does not know its own addresses yet (it may be asking STUN servers):
      // it has no HELLO to answer with.
      listener.event(new TransportEvent.ConnectionRejected(remote, null, "the node is still starting"));
      ch.close();
      return false;
    }
    if (handshaking < config.maxHandshakes()) return true;
    count(CloseReason.HANDSHAKE_LIMIT);
    String why = "handshake limit reached (" + config.maxHandshakes() + " in progress)";
    listener.event(new TransportEvent.ConnectionRejected(remote, null, why));
    logBudget.warn(CloseReason.HANDSHAKE_LIMIT, "refused connection " + remote + ": " + why);
    ch.close();
    return false;
  }

  /** A connection left its handshake: ready, or closed before it got there. */
  private void handshakeDone(LinkHandler h) {
    if (h.handshaking) {
      h.handshaking = false;
      handshaking--;
    }
  }

  private void count(CloseReason reason) {
    if (reason != null) closes.merge(reason, 1L, Long::sum);
  }

  void received(LinkHandler h, Message m, int frameBytes) {
    Link link = links.get(h.peer());
    if (link == null || (link.ready != h && link.previous != h && link.pending != h)) { // a superseded connection's last frames
      framesDropped++;
      return;
    }
    h.framesIn++;
    listener.received(h.peer(), m, frameBytes);
  }

  void writable(LinkHandler h) {
    Link link = links.get(h.peer());
    if (link != null && link.ready == h) {
      if (link.queue.drainTo(h.channel())) markDirty(h);
      congestion(link);
    }
  }

  void unwritable(LinkHandler h) {
    Link link = links.get(h.peer());
    if (link != null && link.ready == h) congestion(link);
  }

  void frameRejected(LinkHandler h, String reason) {
    framesRejected++;
    logBudget.warn(CloseReason.MALFORMED_FRAME, "closing connection " + h.remote() + " (" + h.peer() + "): "
        + LogBudget.quote(reason, 200));
  }

  /** The HELLO: written at once, it opens the link. */
  void sendLinkFrame(LinkHandler h, Frame frame) {
    Channel ch = h.channel();
    ch.write(WireFrames.encode(ch.alloc(), frame), ch.voidPromise());
    markDirty(h);
  }

  /**
   * A PING or PONG. Dropped while the channel is not writable: a peer that sends PINGs and never
   * reads must not grow our outbound buffer, and a link that busy needs no keep-alive anyway.
   */
  boolean sendKeepAlive(LinkHandler h, Frame frame) {
    if (!h.channel().isWritable()) {
      keepAlivesDropped++;
      return false;
    }
    sendLinkFrame(h, frame);
    return true;
  }

  /** Where a connection we dial gets its HELLO number; a test fixes the numbers to choose the winner. */
  private java.util.function.LongSupplier connectionNonces = this::pingNonce;

  long connectionNonce() {
    return connectionNonces.getAsLong();
  }

  /** For tests: the numbers the connections we dial carry in their HELLO (never 0). */
  void connectionNonces(java.util.function.LongSupplier source) {
    this.connectionNonces = source;
  }

  /** A random number, never 0: a timed PING's nonce (0 means none outstanding), a dialled connection's HELLO number. */
  long pingNonce() {
    long n = pingNonces.nextLong();
    return n == 0 ? 1 : n;
  }

  long now() {
    return clock.getAsLong();
  }

  /** A PING of {@code h}'s was answered: the core hears of it if {@code h} is its peer's link. */
  void roundTrip(LinkHandler h, long nanos) {
    Link link = links.get(h.peer());
    if (link != null && link.ready == h && nanos >= 0) listener.roundTrip(h.peer(), nanos);
  }

  int maxPayloadBytes() {
    return maxPayloadBytes;
  }

  Frame hello() {
    return hello;
  }

  /** Our HELLO with the number the dialling side gives its connection. */
  Frame hello(long connectionNonce) {
    if (!hello.hasHello()) return hello; // a test's replacement, sent as it is
    return hello.toBuilder().setHello(hello.getHello().toBuilder().setConnectionNonce(connectionNonce)).build();
  }

  /** Replaces the HELLO this node sends; for tests of what a peer does with a bad one. */
  void hello(Frame replacement) {
    this.hello = replacement;
  }

  PeerInfo self() {
    return self;
  }

  TransportConfig config() {
    return config;
  }

  IdCache ids() {
    return ids;
  }

  public PeerId intern(PeerId id) {
    return ids.intern(id);
  }

  // ---- Introspection ------------------------------------------------------------------------

  /** The address a linked peer's connection comes from (a literal), or "" when it has no ready link. */
  public String remoteHost(PeerId peer) {
    Link l = links.get(peer);
    if (l == null || l.ready == null) return "";
    java.net.SocketAddress a = l.ready.channel().remoteAddress();
    return a instanceof InetSocketAddress isa && isa.getAddress() != null ? isa.getAddress().getHostAddress() : "";
  }

  /** The connection the link to the peer uses now, or null; for tests. */
  LinkHandler readyConnection(PeerId peer) {
    Link link = links.get(peer);
    return link == null ? null : link.ready;
  }

  /** Whether a ready link to the peer exists. */
  public boolean isLinked(PeerId peer) {
    Link l = links.get(peer);
    return l != null && l.ready != null;
  }

  /** One ready connection as seen from here, for the node's snapshot (which copies it into its own type). */
  public record LinkInfo(PeerId peer, String local, String remote, boolean dialledByUs, long incarnation,
      long queuedBytes, boolean writable, long framesIn, long framesOut) {}

  public List<LinkInfo> readyLinks() {
    List<LinkInfo> out = new ArrayList<>();
    for (Link l : links.values()) {
      LinkHandler h = l.ready;
      if (h == null) continue;
      Channel ch = h.channel();
      out.add(new LinkInfo(l.peer, String.valueOf(ch.localAddress()), String.valueOf(ch.remoteAddress()), h.dialer(),
          l.incarnation, l.queue.queuedBytes(), ch.isWritable(), h.framesIn, h.framesOut));
    }
    return out;
  }

  /**
   * The links' counters at one moment, as immutable values. The node's snapshot lists them by the
   * names {@link #addTo} gives (the names are documented in docs/operations.md and stay stable).
   */
  public record Counters(int links, long framesDropped, long framesRejected, long framesShed, long slowPeerDisconnects,
      long linksRefused, long keepAlivesDropped, long framesOverPeerLimit, int handshakesInProgress,
      Backpressure.Counters backpressure, long linksCongestedNow, long slowPeerDemotions, long slowPeerExemptions,
      Dialer.Counters dials, Map<CloseReason, Long> closes) {

    public Counters {
      closes = java.util.Collections.unmodifiableMap(new EnumMap<>(closes));
    }

    /** Adds every counter, by name, in a stable order. */
    public void addTo(Map<String, Long> out) {
      out.put("links", (long) links);
      out.put("frames_dropped", framesDropped);
      out.put("frames_rejected", framesRejected);
      out.put("frames_shed", framesShed);
      out.put("slow_peer_disconnects", slowPeerDisconnects);
      out.put("links_refused", linksRefused);
      out.put("keepalives_dropped", keepAlivesDropped);
      out.put("frames_over_peer_limit", framesOverPeerLimit);
      out.put("handshakes_in_progress", (long) handshakesInProgress);
      backpressure.addTo(out);
      out.put("links_congested_now", linksCongestedNow);
      out.put("slow_peer_demotions", slowPeerDemotions);
      out.put("slow_peer_exemptions", slowPeerExemptions);
      dials.addTo(out);
      for (CloseReason r : CloseReason.values()) out.put(r.counterName(), closes.getOrDefault(r, 0L));
    }

    /** The counters by name, in a stable order. */
    public Map<String, Long> byName() {
      Map<String, Long> out = new LinkedHashMap<>();
      addTo(out);
      return out;
    }
  }

  public Counters counters() {
    return new Counters(links.size(), framesDropped, framesRejected, framesShed, slowPeerDisconnects, linksRefused,
        keepAlivesDropped, framesOverPeerLimit, handshaking, backpressure.counters(),
        links.values().stream().filter(l -> l.congested).count(), slowPeerDemotions, slowPeerExemptions, dialer.counters(), closes);
  }

  // ---- Internals ----------------------------------------------------------------------------

  /** Tests only: sees every connection's channel before TLS is added (to cut links between groups of nodes). */
  private java.util.function.Consumer<Channel> channelHook;

  /** Tests only: see {@link #channelHook}. Set before the node starts. */
  public void channelHook(java.util.function.Consumer<Channel> hook) {
    this.channelHook = hook;
  }

  /** Every connection's pipeline: TLS, framing, keep-alive, then the link's own handler. */
  void initPipeline(Channel ch, SslHandler ssl, LinkHandler handler) {
    handshaking++;
    handler.handshaking = true;
    open.put(ch, handler);
    ch.closeFuture().addListener(f -> {
      open.remove(ch); // on the loop: a channel's listeners run on its own loop, which is ours
      if (allClosed != null && open.isEmpty()) allClosed.trySuccess(null);
    });
    ssl.setCloseNotifyFlushTimeoutMillis(CLOSE_FLUSH_MILLIS);
    if (closed) handler.close(CloseReason.SHUTDOWN, "node shutting down"); // closes the channel once added
    if (channelHook != null) channelHook.accept(ch);
    ch.pipeline()
        .addLast("tls", ssl)
        .addLast("frames", new FrameDecoder(config.maxFrameBytes()))
        .addLast("keepalive", new KeepAliveHandler(config.keepAliveIntervalNanos(), config.idleTimeoutNanos()))
        .addLast("link", handler);
  }

  /** Something was written to the connection: flushed at the end of this turn or a little later ({@link FlushScheduler}). */
  private void markDirty(LinkHandler h) {
    flushes.markDirty(h.flushState);
  }

  /** Hands Netty the link's batch (and whatever waits in its lanes, while writable), then flushes. */
  private void flushNow(LinkHandler h) {
    PeerId peer = h.peer();
    Link link = peer == null ? null : links.get(peer);
    if (link != null && link.ready == h) {
      link.queue.drainTo(h.channel());
      congestion(link);
    }
    h.channel().flush();
  }

  private void drainAndFlush(Link link) {
    if (link.ready != null && link.queue.drainTo(link.ready.channel())) markDirty(link.ready);
    congestion(link);
  }

  private void disconnectSlow(Link link, String why) {
    long queued = link.queue.queuedBytes();
    slowPeerDisconnects++;
    listener.event(new TransportEvent.SlowPeerDisconnected(link.peer, queued, why));
    log.warn("disconnecting slow peer {}: {}", link.peer, why);
    uncongest(link); // TLS may take CLOSE_FLUSH_MILLIS to flush its close to a peer that does not read: it holds nothing meanwhile
    LinkHandler h = link.ready;
    if (h != null) h.close(CloseReason.SLOW_PEER, "slow peer: " + why); // closed() reports the link down to the core
  }

  private void drop(Link link) {
    framesDropped += link.queue.releaseAll();
  }

  private void reject(LinkHandler h) {
    if (h.closeKind() != CloseReason.MALFORMED_FRAME && !closed) { // frame errors were logged already; a closing node's handshakes fail by design
      logBudget.warn(h.closeKind(), "refused connection " + h.remote() + " (" + h.peer() + "): " + LogBudget.quote(h.closeReason(), 300));
    }
    listener.event(new TransportEvent.ConnectionRejected(h.remote(), h.peer(), h.closeReason()));
  }
}
