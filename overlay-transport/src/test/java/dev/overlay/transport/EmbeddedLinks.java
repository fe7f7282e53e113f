package dev.overlay.transport;

import dev.overlay.NodeIdentity;
import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.identity.TlsContexts;
import dev.overlay.protocol.Message;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Nodes whose connections are pairs of EmbeddedChannels, with real TLS between them and bytes
 * moved across by {@link #pump}: the whole link handshake and frame handling, with no sockets
 * and no threads. Everything runs on the test's thread.
 */
final class EmbeddedLinks implements org.junit.jupiter.api.extension.AfterEachCallback {

  /** Registered as a test's extension: everything is closed and released after each test. */
  @Override
  public void afterEach(org.junit.jupiter.api.extension.ExtensionContext context) {
    close();
  }

  /** One node: a LinkManager on its own embedded loop, and what it told its listener. */
  static final class Node implements LinkManager.Listener {
    final NodeIdentity identity;
    final EmbeddedChannel loop = new EmbeddedChannel(); // its event loop runs the manager's tasks
    final LinkManager manager;
    final TlsContexts tls;
    final List<String> log = new ArrayList<>();
    final List<Message> received = new ArrayList<>();
    final List<TransportEvent> events = new ArrayList<>();
    /** Round trips timed, as "peer nanos". */
    final List<String> roundTrips = new ArrayList<>();

    Node(TransportConfig config) throws Exception {
      this(config, null);
    }

    /** With a certificate of our choosing (null: a fresh one). */
    Node(TransportConfig config, java.security.cert.X509Certificate cert) throws Exception {
      this(config, NodeIdentity.generate(), cert);
    }

    Node(TransportConfig config, NodeIdentity identity, java.security.cert.X509Certificate cert) throws Exception {
      this(config, identity, cert, System::nanoTime);
    }

    /** With the clock the manager's timeouts and budgets read. */
    Node(TransportConfig config, NodeIdentity identity, java.security.cert.X509Certificate cert,
        java.util.function.LongSupplier clock) throws Exception {
      this(config, identity, cert, clock, 1, null);
    }

    /** Listening (as far as {@code connector} knows) at 127.0.0.1:{@code port}. */
    Node(TransportConfig config, NodeIdentity identity, java.security.cert.X509Certificate cert,
        java.util.function.LongSupplier clock, int port, Connector connector) throws Exception {
      this.identity = identity;
      tls = cert == null ? new TlsContexts(identity, true) : new TlsContexts(identity, true, cert);
      manager = new LinkManager(loop.eventLoop(), config, tls, NioSocketChannel.class, NioServerSocketChannel.class,
          new SplittableRandom(1), this, dev.overlay.wire.WireCodec.MAX_PAYLOAD_BYTES, clock, connector);
      manager.self(new PeerInfo(identity.peerId(), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", port))));
    }

    /** This node as a peer's candidates name it. */
    PeerInfo info() {
      return manager.self();
    }

    PeerId id() {
      return identity.peerId();
    }

    @Override
    public void linkUp(PeerId peer, PeerInfo info) {
      log.add("up " + peer);
    }

    @Override
    public void linkDown(PeerId peer, String reason) {
      log.add("down " + peer + ": " + reason);
    }

    @Override
    public void dialFailed(PeerId peer, String reason) {
      log.add("dial failed " + peer + ": " + reason);
    }

    @Override
    public void received(PeerId peer, Message message, int frameBytes) {
      received.add(message);
    }

    @Override
    public void event(TransportEvent event) {
      events.add(event);
    }

    @Override
    public void roundTrip(PeerId peer, long nanos) {
      roundTrips.add(peer + " " + nanos);
    }

    @Override
    public void peerSlow(PeerId peer) {
      log.add("slow " + peer);
    }

    @Override
    public void saturated(boolean saturated) {
      log.add(saturated ? "saturated" : "unsaturated");
    }
  }

  /** One connection: the dialler's channel and the acceptor's. */
  static final class Connection {
    final EmbeddedChannel dialer;
    final EmbeddedChannel acceptor;
    final LinkHandler dialerLink;
    final LinkHandler acceptorLink;
    final List<Integer> dialerFrames = new ArrayList<>();
    final List<Integer> acceptorFrames = new ArrayList<>();
    /** Through a relay: when one end closes, the relay closes the other end's half. */
    boolean relay;
    /** Bytes stay where they are, in both directions, while set (a slow path). */
    boolean held;
    /** Bytes this end writes stay where they are while set (null: none held). */
    EmbeddedChannel heldFrom;

    Connection(EmbeddedChannel dialer, EmbeddedChannel acceptor, LinkHandler dialerLink, LinkHandler acceptorLink) {
      this.dialer = dialer;
      this.acceptor = acceptor;
      this.dialerLink = dialerLink;
      this.acceptorLink = acceptorLink;
    }

    /** Both channels' embedded time stands still (their waits run only when a test moves it). */
    Connection freezeTime() {
      dialer.freezeTime();
      acceptor.freezeTime();
      return this;
    }
  }

  final List<Node> nodes = new ArrayList<>();
  final List<Connection> connections = new ArrayList<>();

  /** Flush coalescing reads the real clock, which embedded time does not move: flush every turn. */
  Node node() throws Exception {
    return node(TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).build());
  }

  /** A node whose loop's embedded time stands still. */
  Node frozenNode() throws Exception {
    Node n = node();
    n.loop.freezeTime();
    return n;
  }

  /** Every node's waits of {@code handshakeTimeout} run out (frozen time moved on by that much). */
  void afterHandshakeTimeout() {
    for (Node n : nodes) n.loop.advanceTimeBy(n.manager.config().handshakeTimeoutNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    for (Node n : nodes) n.loop.runScheduledPendingTasks();
  }

  /** Sends one small Data frame of {@code stream} from one node to the other, which must be linked. */
  static void sendData(Node from, Node to, dev.overlay.core.StreamId stream, long seq) {
    ByteBuf f = io.netty.buffer.Unpooled.buffer();
    WireFrames.encodeInto(f, new Message.Data(stream, from.id(), 1, seq, 0, new byte[] {(byte) seq}));
    org.assertj.core.api.Assertions.assertThat(from.manager.send(to.id(), f, false)).isTrue();
    f.release();
  }

  Node node(TransportConfig config) throws Exception {
    Node n = new Node(config);
    nodes.add(n);
    return n;
  }

  /** A node whose manager reads {@code clock}. */
  Node node(TransportConfig config, java.util.function.LongSupplier clock) throws Exception {
    Node n = new Node(config, NodeIdentity.generate(), null, clock);
    nodes.add(n);
    return n;
  }

  /** A node whose certificate expired a week ago. */
  Node nodeWithExpiredCertificate() throws Exception {
    NodeIdentity id = NodeIdentity.generate();
    java.time.Instant now = java.time.Instant.now();
    Node n = new Node(TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).build(), id,
        id.certificate(now.minus(java.time.Duration.ofDays(400)), now.minus(java.time.Duration.ofDays(7))));
    nodes.add(n);
    return n;
  }

  /**
   * A node whose manager dials for real through its {@link Dialer}: a dial to 127.0.0.1:port
   * reaches the node listening there (as {@link #dialling} registers them) over embedded channels.
   */
  Node dialling() throws Exception {
    int port = 10_000 + nodes.size();
    Node[] self = new Node[1];
    Node n = new Node(TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).build(), NodeIdentity.generate(), null,
        System::nanoTime, port, (address, handler) -> {
          Node to = null;
          for (Node x : nodes) {
            if (x.info().candidates().get(0).port() == address.getPort()) to = x;
          }
          if (to == null) throw new AssertionError("nobody listens at " + address);
          wire(self[0], to, handler);
        });
    self[0] = n;
    nodes.add(n);
    return n;
  }

  /** {@code from} dials {@code to}, expecting it to prove {@code expected} (null: a seed dialled by address). */
  Connection connect(Node from, Node to, PeerId expected) {
    return wire(from, to, new LinkHandler(from.manager, expected, true, "embedded:" + to.id()));
  }

  private Connection wire(Node from, Node to, LinkHandler dialerLink) {
    LinkHandler acceptorLink = new LinkHandler(to.manager, null, false, "embedded:" + from.id());
    EmbeddedChannel d = new EmbeddedChannel();
    EmbeddedChannel a = new EmbeddedChannel();
    Connection c = new Connection(d, a, dialerLink, acceptorLink);
    // The acceptor first, so its TLS is ready for the dialler's first bytes.
    if (to.manager.admitInbound(a, "embedded:" + from.id())) {
      to.manager.initPipeline(a, to.tls.server().newHandler(a.alloc()), acceptorLink);
    }
    from.manager.initPipeline(d, from.tls.client().newHandler(d.alloc()), dialerLink);
    d.pipeline().addBefore("link", "spy", spy(c.dialerFrames));
    if (a.pipeline().get("link") != null) a.pipeline().addBefore("link", "spy", spy(c.acceptorFrames));
    connections.add(c);
    return c;
  }

  /** Records the body field of each frame that reaches the link handler. */
  private static ChannelInboundHandlerAdapter spy(List<Integer> into) {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        into.add(WireFrames.bodyField((ByteBuf) msg));
        ctx.fireChannelRead(msg);
      }
    };
  }

  /**
   * {@code from} dials {@code to} through a relay: both ends mark the connection relayed (as the
   * dialer does for a relay's connections), and a close at one end closes the other.
   */
  Connection connectRelayed(Node from, Node to) {
    LinkHandler dialerLink = new LinkHandler(from.manager, to.id(), false, true, "relay:" + to.id());
    dialerLink.relayed = true;
    Connection c = wire(from, to, dialerLink);
    c.acceptorLink.relayed = true;
    c.relay = true;
    return c;
  }

  /**
   * As {@link #pump}, one frame at a time, until {@code done} holds (checked after each step);
   * fails if everything stops moving first.
   */
  void pumpUntil(java.util.function.BooleanSupplier done) {
    for (int step = 0; step < 100_000; step++) {
      if (done.getAsBoolean()) return;
      boolean moved = runTasks();
      if (done.getAsBoolean()) return;
      for (Connection c : connections) {
        if (!c.held && ((c.heldFrom != c.dialer && moveOne(c.dialer, c.acceptor))
            || (c.heldFrom != c.acceptor && moveOne(c.acceptor, c.dialer)))) {
          moved = true;
          break;
        }
      }
      if (!moved && !done.getAsBoolean()) throw new AssertionError("nothing moves, and the condition does not hold");
    }
    throw new AssertionError("the condition does not hold after 100,000 steps");
  }

  private static boolean moveOne(EmbeddedChannel from, EmbeddedChannel to) {
    Object o = from.readOutbound();
    if (o == null) return false;
    if (to.isActive()) {
      to.writeInbound(o);
    } else {
      io.netty.util.ReferenceCountUtil.release(o);
    }
    return true;
  }

  /** Runs every pending task of the nodes and the connections; says whether a relay closed anything. */
  private boolean runTasks() {
    boolean moved = false;
    for (Node n : nodes) n.loop.runPendingTasks();
    for (Connection c : connections) {
      c.dialer.runPendingTasks();
      c.acceptor.runPendingTasks();
      moved |= relayCloses(c);
    }
    return moved;
  }

  /** A relayed connection closed at one end is closed at the other by the relay. */
  private static boolean relayCloses(Connection c) {
    if (!c.relay || c.dialer.isActive() == c.acceptor.isActive()) return false;
    (c.dialer.isActive() ? c.dialer : c.acceptor).close();
    return true;
  }

  /** Moves bytes both ways and runs every pending task until nothing moves. */
  void pump() {
    for (int round = 0; round < 10_000; round++) {
      boolean moved = runTasks();
      for (Connection c : connections) {
        if (c.held) continue;
        if (c.heldFrom != c.dialer) moved |= move(c.dialer, c.acceptor);
        if (c.heldFrom != c.acceptor) moved |= move(c.acceptor, c.dialer);
      }
      if (!moved) return;
    }
    throw new AssertionError("still moving after 10,000 rounds");
  }

  private static boolean move(EmbeddedChannel from, EmbeddedChannel to) {
    boolean moved = false;
    for (Object o = from.readOutbound(); o != null; o = from.readOutbound()) {
      moved = true;
      if (to.isActive()) {
        to.writeInbound(o);
      } else {
        io.netty.util.ReferenceCountUtil.release(o);
      }
    }
    return moved;
  }

  /** Closes everything and releases what is left in the channels. */
  void close() {
    for (Connection c : connections) {
      c.dialer.finishAndReleaseAll();
      c.acceptor.finishAndReleaseAll();
    }
    for (Node n : nodes) {
      n.manager.shutdown();
      n.loop.runPendingTasks();
      n.loop.finishAndReleaseAll();
    }
  }
}
