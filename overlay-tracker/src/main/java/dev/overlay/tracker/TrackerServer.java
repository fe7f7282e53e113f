package dev.overlay.tracker;

import dev.overlay.NodeIdentity;
import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.identity.TlsContexts;
import dev.overlay.protocol.Message;
import dev.overlay.transport.LinkManager;
import dev.overlay.transport.WireFrames;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tracker on the network: {@link TrackerState} behind the nodes' own link layer (TLS 1.3
 * with the tracker's identity, HELLO, framing, keep-alives), plus an HTTP port for
 * {@code /metrics} and {@code /health}. One event-loop thread owns everything; the HTTP handler
 * runs on it too, so it reads the state without locks.
 */
public final class TrackerServer implements LinkManager.Listener, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TrackerServer.class);

  private final TrackerState state;
  private final NodeIdentity identity;
  private final EventLoopGroup group;
  private final EventLoop loop;
  private final LinkManager links;
  private final TrackerHttp http;
  private final TrackerState.Replies outbox = new TrackerState.Replies() {
    @Override
    public void send(PeerId to, Message.TrackerMessage message) {
      TrackerServer.this.send(to, message);
    }

    @Override
    public int version(PeerId node) {
      return links.version(node); // the state refuses punches and relays with a node that cannot take them
    }
  };
  /** The clock the tracker's soft state (TTLs, rate limits) runs on; tests freeze it. */
  private final java.util.function.LongSupplier clock;
  private final java.util.List<java.util.concurrent.Future<?>> scheduled = new java.util.ArrayList<>();
  private PeerInfo self;
  private InetSocketAddress address;
  private InetSocketAddress httpAddress;
  // Counters beyond the state's, all on the loop.
  private volatile dev.overlay.nat.StunServer stun;
  private volatile RelayServer relay;
  final TrackerDialBack dialBack;
  long linksOpen;
  long connectionsRefused;
  long notForTracker;
  private final long startedAt = System.nanoTime();

  public TrackerServer(TrackerConfig config, NodeIdentity identity, TransportConfig transport) throws javax.net.ssl.SSLException {
    this(config, identity, transport, System::nanoTime);
  }

  /** With the clock that {@link TrackerState} reads (registrations' TTLs, rate limits). */
  public TrackerServer(TrackerConfig config, NodeIdentity identity, TransportConfig transport,
      java.util.function.LongSupplier clock) throws javax.net.ssl.SSLException {
    this.identity = identity;
    this.clock = clock;
    this.state = new TrackerState(config, new SplittableRandom(new SecureRandom().nextLong()));
    boolean epoll = transport.nativeTransport() && Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends SocketChannel> socket = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    Class<? extends ServerSocketChannel> server = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    this.group = new MultiThreadIoEventLoopGroup(1, io);
    this.loop = group.next();
    TlsContexts tls = new TlsContexts(identity, transport.nativeTls());
    // A tracker forwards nothing: pausing its reading for one slow client would only stall the
    // others. Its slow clients are closed after slowPeerTimeout instead.
    TransportConfig links = transport.toBuilder().pauseReading(false).build();
    this.links = new LinkManager(loop, links, tls, socket, server, new SplittableRandom(new SecureRandom().nextLong()), this);
    this.dialBack = new TrackerDialBack(loop, socket, tls);
    state.dialBack(dialBack);
    this.http = new TrackerHttp(this, server);
  }

  /**
   * Binds the tracker port, and the HTTP port on 127.0.0.1 (0 for any free port; a negative
   * HTTP port turns HTTP off), and starts answering. {@code advertiseHost} is the address given
   * in HELLO.
   */
  public TrackerServer start(InetSocketAddress bind, String advertiseHost, int httpPort) throws Exception {
    return start(bind, advertiseHost, new InetSocketAddress("127.0.0.1", Math.max(0, httpPort)), httpPort >= 0);
  }

  /**
   * As above, with the HTTP address given: {@code /metrics} and {@code /health} listen on
   * loopback unless told otherwise, so that a tracker on a public address does not publish its
   * internals (or an HTTP server) to the world by default.
   */
  public TrackerServer start(InetSocketAddress bind, String advertiseHost, InetSocketAddress httpBind, boolean httpOn) throws Exception {
    address = links.bind(bind);
    String host = advertiseHost != null ? advertiseHost : address.getHostString();
    self = new PeerInfo(identity.peerId(), System.currentTimeMillis(), List.of(new Candidate(Candidate.Kind.LOCAL, host, address.getPort())));
    onLoop(() -> {
      links.self(self);
      long period = Math.max(TimeUnit.MILLISECONDS.toNanos(100), state.config().registrationTtlNanos() / 10);
      scheduled.add(loop.scheduleAtFixedRate(() -> state.expire(clock.getAsLong()), period, period, TimeUnit.NANOSECONDS));
      scheduled.add(loop.scheduleAtFixedRate(links::checkSlowPeers, links.slowPeerCheckNanos(), links.slowPeerCheckNanos(), TimeUnit.NANOSECONDS));
      return null;
    });
    if (httpOn) httpAddress = http.bind(httpBind, loop);
    log.info("tracker {} listening on {} (HTTP {})", identity.peerId(), address, httpAddress == null ? "off" : httpAddress);
    return this;
  }

  public InetSocketAddress address() {
    return address;
  }

  /** The tracker's STUN server, whose counters /metrics shows (null: STUN is off). */
  void stun(dev.overlay.nat.StunServer stun) {
    this.stun = stun;
  }

  dev.overlay.nat.StunServer stun() {
    return stun;
  }

  /** The tracker's relay: relay requests are served through it, and /metrics shows its counters (null: no relay). */
  void relay(RelayServer relay) {
    this.relay = relay;
    state.relay(relay);
  }

  RelayServer relay() {
    return relay;
  }

  /** The HTTP address, or null when HTTP is off. */
  public InetSocketAddress httpAddress() {
    return httpAddress;
  }

  public PeerId peerId() {
    return identity.peerId();
  }

  /** Runs {@code task} on the tracker's loop and waits for its result: for tests and metrics. */
  public <T> T onLoop(Callable<T> task) throws Exception {
    if (loop.inEventLoop()) return task.call();
    return loop.submit(task).get(10, TimeUnit.SECONDS);
  }

  TrackerState state() {
    return state;
  }

  /** The link layer's counters: links, closes by reason, handshakes, dials. On the loop. */
  LinkManager.Counters linkCounters() {
    return links.counters();
  }

  long uptimeNanos() {
    return System.nanoTime() - startedAt;
  }

  /**
   * Closes every link (nodes see the tracker go away and turn to the next one), its HTTP and
   * reachability connections, then the loop, once they are all closed (see LinkManager.allClosed;
   * 5 s at most). Called on its own loop it cannot wait: the loop stops after the closes.
   */
  @Override
  public void close() throws Exception {
    boolean onLoop = loop.inEventLoop();
    List<io.netty.util.concurrent.Future<Void>> closes = List.of();
    try {
      closes = onLoop(() -> {
        for (var f : scheduled) f.cancel(false);
        return List.of(links.shutdownGracefully(), http.close(), dialBack.close());
      });
      if (!onLoop) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LinkManager.CLOSE_FLUSH_MILLIS + 4_000);
        for (var c : closes) c.awaitUninterruptibly(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (!closes.stream().allMatch(io.netty.util.concurrent.Future::isDone)) {
          log.warn("tracker {}: its connections were not all closed within {} ms; stopping its loop anyway", identity.peerId(),
              LinkManager.CLOSE_FLUSH_MILLIS + 4_000);
        }
      }
    } finally {
      if (onLoop) {
        var pending = new java.util.concurrent.atomic.AtomicInteger(closes.size() + 1);
        Runnable last = () -> {
          if (pending.decrementAndGet() == 0) group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        };
        for (var c : closes) c.addListener(f -> last.run());
        last.run();
      } else {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
      }
    }
    log.info("tracker {} stopped", identity.peerId());
  }

  private void send(PeerId to, Message.TrackerMessage m) {

    ByteBuf frame = WireFrames.encode(LinkManager.ALLOCATOR, m);
    try {
      links.send(to, frame, true);
    } finally {
      frame.release();
    }
  }

  // ---- LinkManager.Listener, on the loop ----------------------------------------------------

  @Override
  public void linkUp(PeerId peer, PeerInfo info) {
    linksOpen++;
  }

  @Override
  public void linkDown(PeerId peer, String reason) {
    linksOpen--; // registrations stay until they expire: soft state
  }

  @Override
  public void dialFailed(PeerId peer, String reason) {} // a tracker never dials

  /** For tests of what nodes do when a tracker stops answering: the next {@code n} requests get no answer. */
  void mute(int n) {
    muted = n;
  }

  private int muted;

  @Override
  public void received(PeerId peer, Message message, int frameBytes) {
    if (muted > 0 && message instanceof Message.TrackerRegister) {
      muted--;
      return;
    }
    if (message instanceof Message.TrackerMessage m) {
      state.handle(clock.getAsLong(), peer, links.remoteHost(peer), m, outbox);
    } else {
      notForTracker++; // a node mistook us for a peer; its core will time the request out
      outbox.send(peer, new Message.TrackerRefused(message.stream(), Message.RefusalReason.INVALID, 0,
          "this is a tracker: it takes registrations only, not " + message.getClass().getSimpleName()));
    }
  }

  @Override
  public void event(TransportEvent event) {
    if (event instanceof TransportEvent.ConnectionRejected) connectionsRefused++;
  }
}
