package dev.overlay;

import dev.overlay.NodeIdentity;
import dev.overlay.broadcast.Plumtree;
import dev.overlay.config.NodeConfig;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StartAt;
import dev.overlay.core.StreamId;
import dev.overlay.identity.TlsContexts;
import dev.overlay.protocol.Message;
import dev.overlay.runtime.ApplicationIntroducer;
import dev.overlay.runtime.IntroductionSource;
import dev.overlay.runtime.NodeRuntime;
import dev.overlay.runtime.StaticSeeds;
import dev.overlay.spi.Introducer;
import dev.overlay.spi.IntroducerContext;
import dev.overlay.stream.StreamState;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A node of the overlay: join streams, publish to them, subscribe to them.
 *
 * <pre>{@code
 * try (OverlayNode node = OverlayNode.builder().listen("0.0.0.0", 30301).advertise("10.0.0.5")
 *     .seeds("10.0.0.1:30301").build()) {
 *   node.start();
 *   node.subscribe("sensors/temperature", m -> System.out.println(m.seq() + ": " + m.payloadSize() + " bytes"));
 *   node.awaitNeighbors("sensors/temperature", 1, Duration.ofSeconds(10));
 *   node.publish("sensors/temperature", "21.5".getBytes()).join();
 * }
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread. The node's protocol runs on one
 * event-loop thread that no call here ever blocks.
 */
public final class OverlayNode implements AutoCloseable {

  // What start() and the API need of the builder, copied: a builder changed or reused after
  // build() must not change a node already built.
  private final InetSocketAddress listenAt;
  private final String advertiseHost;
  private final List<InetSocketAddress> stunServers;
  private final Duration stunRefresh;
  private final int subscriptionQueueCapacity;
  private final int maxStreams;
  private final NodeIdentity identity;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final ExecutorService ownedDelivery;
  private final NodeRuntime runtime;
  private final java.nio.file.Path storageDir;
  private final List<String> storageStreams;
  private final Duration storageMaxAge;
  private final long storageMaxBytes;
  private final List<PeerInfo> storageNodes;
  /** Which I/O and TLS the node runs on: a modular application without Netty's native modules gets NIO and the JDK's TLS. */
  private final String stack;
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(OverlayNode.class);
  /** Said once per process, not once per node: a gateway may run many. */
  private static final java.util.concurrent.atomic.AtomicBoolean FALLBACK_TOLD = new java.util.concurrent.atomic.AtomicBoolean();
  private final boolean fellBack;
  private final Map<String, StreamId> streamIds = new ConcurrentHashMap<>();
  private volatile PeerInfo self;
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicBoolean starting = new java.util.concurrent.atomic.AtomicBoolean();

  private OverlayNode(Builder b) {
    // LAN discovery's interface, before any thread is made, so that a refusal leaves none behind;
    // here, not on the loop, because naming it may look a host name up.
    java.net.NetworkInterface lanInterface = null;
    if (b.lanDiscovery) {
      if (isLoopback(b.listenHost)) {
        throw new IllegalStateException("LAN discovery needs the node to listen on a LAN address (listen(\"0.0.0.0\", port) or the LAN's), not "
            + b.listenHost);
      }
      try {
        lanInterface = dev.overlay.lan.LanDiscovery.pickInterface(b.lanInterface, b.listenHost);
      } catch (java.net.SocketException e) {
        throw new IllegalStateException("LAN discovery: " + e.getMessage(), e);
      }
    }
    this.listenAt = InetSocketAddress.createUnresolved(b.listenHost, b.listenPort);
    this.advertiseHost = b.advertiseHost;
    this.subscriptionQueueCapacity = b.transport.subscriptionQueueCapacity();
    this.maxStreams = b.config.maxStreams();
    this.identity = b.identity != null ? b.identity : NodeIdentity.generate();
    TlsContexts tls; // before any thread is made, so that a failure leaves none behind
    try {
      tls = new TlsContexts(identity, b.transport.nativeTls());
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("no TLS context could be made from the node's key: " + e.getMessage(), e);
    }
    boolean epoll = b.transport.nativeTransport() && Epoll.isAvailable();
    boolean nativeTls = tls.provider() == io.netty.handler.ssl.SslProvider.OPENSSL;
    this.stack = (epoll ? "epoll" : "NIO") + ", " + (nativeTls ? "BoringSSL" : "JDK") + " TLS";
    this.fellBack = (b.transport.nativeTransport() && !epoll && System.getProperty("os.name", "").startsWith("Linux"))
        || (b.transport.nativeTls() && !nativeTls);
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends SocketChannel> socket = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    Class<? extends ServerSocketChannel> server = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    if (b.group != null) {
      this.group = b.group;
      this.ownsGroup = false;
    } else {
      this.group = new MultiThreadIoEventLoopGroup(1, io);
      this.ownsGroup = true;
    }
    if (b.deliveryExecutor != null) {
      this.ownedDelivery = null;
    } else {
      // A pool, not one thread: each subscription drains on its own, one message at a time, so a
      // handler that blocks holds one thread and its own subscription lags; the others go on.
      // Threads exist only while there is work (60 s idle), so a quiet gateway keeps none.
      java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
      this.ownedDelivery = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "overlay-delivery-" + identity.peerId() + "-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }
    List<dev.overlay.runtime.HostPort> seeds = List.copyOf(b.seedAddresses);
    List<PeerInfo> seedPeers = List.copyOf(b.seedPeers);
    List<String> trackers = List.copyOf(b.trackers);
    this.stunServers = List.copyOf(b.stunServers);
    this.stunRefresh = b.stunRefresh;
    Duration heartbeat = b.trackerHeartbeat;
    Duration maxRetryAfter = b.trackerMaxRetryAfter;
    Function<IntroducerContext, Introducer> custom = b.introducer;
    Function<dev.overlay.runtime.IntroductionHost, IntroductionSource> introducer = custom != null
        ? rt -> {
          PeerInfo me = rt.self(); // the factory runs in start(), on the loop, once the node knows its address
          return new ApplicationIntroducer(rt, Objects.requireNonNull(custom.apply(() -> me), "the introducer factory returned null"));
        }
        : !trackers.isEmpty() ? rt -> new dev.overlay.runtime.TrackerIntroducer(rt, trackers, heartbeat, maxRetryAfter)
        : rt -> new StaticSeeds(rt, seeds, seedPeers);
    EventLoop loop = group.next();
    if (lanInterface != null) {
      Function<dev.overlay.runtime.IntroductionHost, IntroductionSource> other = introducer;
      String type = b.lanServiceType;
      java.net.NetworkInterface ni = lanInterface;
      String listenHost = b.listenHost;
      introducer = rt -> new dev.overlay.lan.LanIntroducer(rt, other.apply(rt), loop, epoll, type, ni, listenHost);
    }
    OverlayListener listener = b.listener;
    this.runtime = new NodeRuntime(loop, b.config, b.transport, identity, tls, socket, server, introducer,
        b.deliveryExecutor != null ? b.deliveryExecutor : ownedDelivery, listener::onEvent, listener::onTransportEvent);
    if (b.channelHook != null) runtime.channelHook(b.channelHook);
    this.storageDir = b.storageDir;
    this.storageStreams = List.copyOf(b.storageStreams);
    this.storageMaxAge = b.storageMaxAge;
    this.storageMaxBytes = b.storageMaxBytes;
    this.storageNodes = List.copyOf(b.storageNodes);
  }

  /** Whether the host is a loopback address (a name is looked up: this runs in build(), on the caller's thread). */
  private static boolean isLoopback(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    try {
      return java.net.InetAddress.getByName(h).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false; // the bind will say what is wrong with it
    }
  }

  /** {@return a builder with the defaults: a new key, 127.0.0.1 on a free port, no seeds} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds the listening socket and starts the protocol. On failure the node is closed. With
   * {@link Builder#stunServers STUN servers}, it first asks them where the node's traffic comes
   * from: up to 2.75 s per server that does not answer, plus the system resolver's time for one
   * given by name (not when listening on loopback).
   *
   * @return this node
   * @throws java.io.IOException if the listening socket cannot be bound: the port is taken, or
   *     the address is not this machine's
   * @throws InterruptedException if interrupted while waiting for the node's loop
   * @throws IllegalStateException if the node was started or closed before, is called on the
   *     node's own loop, or the loop did not answer within 30 s; if it listens on :: and the host
   *     or JVM has no IPv6 (the message says to listen on 0.0.0.0); or if it listens on a wildcard
   *     with no {@link Builder#advertise advertised host} and the host has no address at all
   */
  public OverlayNode start() throws java.io.IOException, InterruptedException {
    if (closed) throw new IllegalStateException("the node is closed; build a new one");
    // One start only, even from two threads at once: a second bind would fail and close the first.
    if (!starting.compareAndSet(false, true)) throw new IllegalStateException("the node is started already");
    try {
      runtime.history(openStorage(), storageNodes);
      self = runtime.start(new InetSocketAddress(listenAt.getHostString(), listenAt.getPort()), advertiseHost, stunServers, stunRefresh);
      for (String stream : storageStreams) join(stream); // a node keeps what it delivers
      var at = self.candidates().get(0);
      log.debug("node {} started on {}:{} ({})", identity.peerId(), at.host(), at.port(), stack);
      if (fellBack && FALLBACK_TOLD.compareAndSet(false, true)) {
        log.info("Netty's native transport or TLS is not available, so nodes run on {} (on the module path, add the "
            + "modules io.netty.transport.epoll.linux.<arch> and io.netty.internal.tcnative.openssl.linux.<arch>; docs/api.md)", stack);
      }
      return this;
    } catch (Exception e) {
      closed = true;
      io.netty.util.concurrent.Future<Void> linksClosed = null;
      try {
        linksClosed = runtime.crash(); // a failure after the bind (an introducer factory that threw) leaves no socket open
      } catch (Exception | Error ignored) {
        // the loop may be gone already
      }
      shutdownThreads(linksClosed);
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof java.io.IOException io) throw io;
      if (cause instanceof InterruptedException ie) throw ie;
      throw unchecked("start", cause);
    }
  }

  /** The store this node keeps history in, or null; opened here, in start(), since it touches the disk. */
  private dev.overlay.storage.StorageService openStorage() throws java.io.IOException {
    if (storageDir == null) return null;
    Map<StreamId, String> names = new java.util.HashMap<>();
    for (String s : storageStreams) names.put(id(s), s);
    try {
      NodeRuntime rt = runtime;
      return new dev.overlay.storage.StorageService(storageDir,
          new dev.overlay.storage.MessageStore.Retention(storageMaxAge.toMillis(), storageMaxBytes), names.keySet(),
          System::currentTimeMillis, (stream, n, reason) -> rt.report(new TransportEvent.HistoryNotStored(names.get(stream), n, reason)));
    } catch (LinkageError e) { // no RocksDB on the class path, or none with this platform's native library
      throw new IllegalStateException("storage needs RocksDB with a native library for this platform: add org.rocksdb:rocksdbjni "
          + "to the application (classifier linux64 on x86-64 Linux, or the unclassified jar, which has every platform's) (" + e + ")", e);
    }
  }

  /** What a failure on the node's loop becomes for the caller: unchecked, saying what did not happen. */
  private static RuntimeException unchecked(String what, Throwable cause) {
    if (cause instanceof RuntimeException r) return r;
    if (cause instanceof Error err) throw err;
    if (cause instanceof TimeoutException) {
      return new IllegalStateException(what + ": the node's loop did not answer within 30 s", cause);
    }
    return new IllegalStateException(what + " failed: " + cause, cause);
  }

  /** {@return this node's id, derived from its key} */
  public PeerId peerId() {
    return identity.peerId();
  }

  /** {@return our id, incarnation and the address peers reach us at; null before {@link #start}} */
  public PeerInfo info() {
    return self;
  }

  /**
   * {@return the first address the node advertises: the listening address, the advertised host,
   * or, on a wildcard, the host address its default route leaves from (all of them: {@link #info()})}
   */
  public InetSocketAddress address() {
    PeerInfo me = self;
    if (me == null) throw new IllegalStateException("start() the node first");
    var c = me.candidates().get(0);
    return new InetSocketAddress(c.host(), c.port());
  }

  /**
   * Joins the stream if needed, and delivers its messages to {@code handler} on the node's
   * delivery executor.
   *
   * @param stream the stream's name
   * @param handler receives each message once
   * @return the subscription, to close when done
   * @throws IllegalStateException if the node is not started or is closed
   */
  public Subscription subscribe(String stream, MessageHandler handler) {
    return subscribe(stream, handler, null);
  }

  /**
   * Runs a subscription's handler on the node's own loop thread, with no queue in between: the
   * cheapest delivery there is, for handlers that only hand the message on (to a queue, a
   * counter) and never block. A slow handler here slows the whole node.
   */
  public static final java.util.concurrent.Executor ON_NODE_LOOP = dev.overlay.runtime.NodeRuntime.ON_LOOP;

  /**
   * As {@link #subscribe(String, MessageHandler)}, with the handler run on {@code executor}.
   *
   * @param stream the stream's name
   * @param handler receives each message once
   * @param executor where the handler runs: an executor of the application's, {@link #ON_NODE_LOOP},
   *     or null for the node's delivery executor
   * @return the subscription, to close when done
   * @throws IllegalStateException if the node is not started or is closed
   */
  public Subscription subscribe(String stream, MessageHandler handler, java.util.concurrent.Executor executor) {
    return subscribe(stream, handler, executor, StartAt.live());
  }

  /**
   * As {@link #subscribe(String, MessageHandler, java.util.concurrent.Executor)}, starting where
   * {@code start} says: after positions the application kept ({@link StartAt#after}, e.g. the
   * {@link StreamMessage#position()} of the last message it processed before a restart), some
   * messages back ({@link StartAt#latest}), or from a time ({@link StartAt#since}). The history
   * comes from the neighbours' message caches (30 s by default) and from the storage nodes given
   * ({@link Builder#storageNode}); what none of them holds is reported
   * ({@link dev.overlay.core.OverlayEvent.GapUnrecoverable}, {@link TransportEvent.HistoryUnavailable}). A start applies to the node's stream:
   * given when the node is already in the stream, it fetches only what the node has not delivered
   * yet, and every subscription of the stream receives it. docs/api.md, "Starting from a position".
   *
   * @param stream the stream's name
   * @param handler receives each message once
   * @param executor where the handler runs, as for the three-argument form
   * @param start where the stream starts
   * @return the subscription, to close when done
   * @throws IllegalStateException if the node is not started or is closed
   */
  public Subscription subscribe(String stream, MessageHandler handler, java.util.concurrent.Executor executor, StartAt start) {
    ensureOpen();
    Objects.requireNonNull(handler, "handler");
    Objects.requireNonNull(start, "start");
    StreamId id = id(stream);
    // The handler sees an API message of its own, without the wire's fields (hops, seal).
    return runtime.subscribe(id, stream, executor,
        m -> handler.onMessage(new StreamMessage(stream, m.publisher(), m.session(), m.seq(), m.payload())), handler::onLagged,
        subscriptionQueueCapacity, start);
  }

  /**
   * Publishes a payload, joining the stream first if needed. The future says what happened:
   * pushed to k neighbours ({@code SENT}), numbered but no neighbours yet ({@code NO_PEERS}),
   * or refused ({@code TOO_LARGE}; {@code QUEUE_FULL} when the node is swamped or backpressured:
   * see {@link #publishable()}). A message accepted is delivered to every subscriber the overlay
   * reaches; one refused was never sent.
   *
   * @param stream the stream's name
   * @param payload the bytes to send, at most {@code NodeConfig.maxPayloadBytes}; not copied, so
   *     do not change them afterwards
   * @return the result, once the node's loop has taken the publish (at once when it is refused
   *     at once)
   * @throws IllegalStateException if the node is not started or is closed
   */
  public CompletableFuture<PublishResult> publish(String stream, byte[] payload) {
    ensureOpen();
    return runtime.publish(id(stream), stream, Objects.requireNonNull(payload, "payload"));
  }

  /**
   * Completes when the node takes publishes again. While a neighbour cannot keep up with what
   * the node sends, {@link #publish} refuses with {@code QUEUE_FULL} (backpressure: the overlay
   * is saturated, and excess load is refused here rather than lost inside it). A publisher that
   * must not lose a message waits on this and publishes again. Completes at once when the node
   * is not backpressured; off the node's loop. Do not block on it from a handler running on the
   * node's loop ({@link #ON_NODE_LOOP}): the node could never catch up. A neighbour that reads
   * nothing holds it for at most {@code TransportConfig.slowPeerTimeout} (then it is
   * disconnected); a slow one for as long as it is slow (docs/architecture.md, "A neighbour
   * that stops reading").
   *
   * @return a future completed when publishes are taken again
   */
  public CompletableFuture<Void> publishable() {
    ensureOpen();
    return runtime.publishable();
  }

  /**
   * Joins a stream without subscribing (to publish only, for instance).
   *
   * @param stream the stream's name
   */
  public void join(String stream) {
    ensureOpen();
    runtime.join(id(stream), stream);
  }

  /**
   * Leaves a stream: neighbours are told, its state is dropped. Subscriptions stay but receive
   * nothing.
   *
   * @param stream the stream's name
   */
  public void leave(String stream) {
    ensureOpen();
    runtime.leave(id(stream));
  }

  /**
   * Completes once the stream has its first neighbour. Cancel it if you stop waiting: the node
   * keeps at most 1,024 waits per stream.
   *
   * @param stream the stream's name
   * @return a future completed off the node's loop
   */
  public CompletableFuture<Void> joined(String stream) {
    ensureOpen();
    return runtime.neighbors(id(stream), stream, 1);
  }

  /**
   * Waits until the stream has at least {@code n} neighbours; returns false on timeout. It
   * blocks, so it cannot be called on the node's own loop (a handler run with
   * {@link #ON_NODE_LOOP}): there it throws {@link IllegalStateException} at once, since the
   * neighbours it waits for could never arrive. Use {@link #joined} there.
   *
   * @param stream the stream's name
   * @param n how many neighbours
   * @param timeout how long to wait
   * @return true once there are {@code n}, false on timeout
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitNeighbors(String stream, int n, Duration timeout) throws InterruptedException {
    ensureOpen();
    if (runtime.loop().inEventLoop()) {
      throw new IllegalStateException("awaitNeighbors blocks, and was called on the node's own loop; use joined()");
    }
    CompletableFuture<Void> ready = runtime.neighbors(id(stream), stream, n);
    try {
      ready.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } finally {
      ready.cancel(false); // a wait given up is not kept by the node
    }
  }

  /**
   * Views, trees and counters, taken consistently on the node's loop.
   *
   * @return the snapshot
   * @throws InterruptedException if interrupted while waiting for the node's loop
   * @throws IllegalStateException if the node was not started, or its loop did not answer within 30 s
   */
  public NodeSnapshot snapshot() throws InterruptedException {
    if (self == null) throw new IllegalStateException("start() the node first");
    try {
      return takeSnapshot();
    } catch (InterruptedException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw unchecked("snapshot", e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e);
    }
  }

  private static List<NodeSnapshot.Score> scores(dev.overlay.node.NodeState core, StreamState s) {
    List<NodeSnapshot.Score> scores = new ArrayList<>();
    for (PeerInfo n : s.membership().activeView()) {
      long rtt = core.roundTripNanos(n.id());
      scores.add(new NodeSnapshot.Score(n.id(), s.broadcast().firstDeliveries(n.id()),
          rtt < 0 ? null : java.time.Duration.ofNanos(rtt)));
    }
    return List.copyOf(scores);
  }

  private NodeSnapshot takeSnapshot() throws Exception {
    return runtime.query(v -> {
      List<NodeSnapshot.Stream> streams = new ArrayList<>();
      for (StreamState s : v.core().streams()) {
        Plumtree p = s.broadcast();
        List<NodeSnapshot.Tree> trees = new ArrayList<>();
        List<PeerId> keys = new ArrayList<>(p.treeKeys());
        if (keys.isEmpty()) keys.add(null);
        for (PeerId pub : keys) trees.add(new NodeSnapshot.Tree(pub, p.eagerPeers(pub), p.lazyPeers(pub)));

        streams.add(new NodeSnapshot.Stream(v.streamName(s.id()),
            s.membership().activeView().stream().map(PeerInfo::id).toList(),
            s.membership().passiveView().stream().map(PeerInfo::id).toList(), trees,
            v.streamCounters(s.id()),
            p.stats(), s.membership().stats(), scores(v.core(), s)));
      }
      List<NodeSnapshot.Link> links = new ArrayList<>();
      for (var l : v.links()) {
        links.add(new NodeSnapshot.Link(l.peer(), l.local(), l.remote(), l.dialledByUs(), l.incarnation(), l.queuedBytes(),
            l.writable(), l.framesIn(), l.framesOut()));
      }
      return new NodeSnapshot(v.self(), streams, List.copyOf(links), java.util.Collections.unmodifiableMap(v.nodeCounters()), v.nat());
    });
  }

  /**
   * Says goodbye to every neighbour, closes every link, and stops the node's threads. Idempotent.
   * The threads are stopped even when the goodbyes fail. Returns once every connection is closed,
   * within about two seconds: a neighbour that does not take the goodbye within a second is closed
   * without it. Called on the node's own loop it cannot wait, and the loop stops after the closes.
   *
   * @throws IllegalStateException if the node's loop did not answer within 30 s (the threads are
   *     stopped all the same); an interrupt is kept on the thread and the threads stopped
   */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    io.netty.util.concurrent.Future<Void> linksClosed = null;
    try {
      if (self != null) linksClosed = runtime.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      throw unchecked("close", e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e);
    } finally {
      shutdownThreads(linksClosed);
    }
  }

  /**
   * Stops at once without telling anyone, as a crash would: connections close, neighbours find
   * out from their sockets. For failure tests and drills.
   */
  public void abort() {
    if (closed) return;
    closed = true;
    io.netty.util.concurrent.Future<Void> linksClosed = null;
    try {
      if (self != null) linksClosed = runtime.crash();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      throw unchecked("abort", e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e);
    } finally {
      shutdownThreads(linksClosed);
    }
  }

  /**
   * Once every connection is closed ({@code linksClosed}, null when there were none), stops the
   * threads the node owns. Not before: Netty 4.2 may end a loop without closing its channels when
   * the stop arrives while it runs tasks, and a channel left open keeps the buffers it was writing.
   * On its own loop (close() from a handler run there) it cannot wait, so the stop follows the
   * closes. Off it, the wait is bounded: the closes take {@code LinkManager.CLOSE_FLUSH_MILLIS}
   * and a second's backstop at most, unless the loop is stuck, and then stopping it is all that is left.
   */
  private void shutdownThreads(io.netty.util.concurrent.Future<Void> linksClosed) {
    boolean onLoop = runtime.loop().inEventLoop();
    if (linksClosed != null && !onLoop && !linksClosed.awaitUninterruptibly(dev.overlay.transport.LinkManager.CLOSE_FLUSH_MILLIS + 4_000)) {
      log.warn("node {}: its connections were not all closed within {} ms (its loop is busy or stuck); stopping it anyway",
          identity.peerId(), dev.overlay.transport.LinkManager.CLOSE_FLUSH_MILLIS + 4_000);
    }
    if (onLoop && linksClosed != null && !linksClosed.isDone()) {
      linksClosed.addListener(f -> stopThreads(false)); // events of the closes still reach the listener
    } else {
      stopThreads(!onLoop);
    }
  }

  private void stopThreads(boolean wait) {
    if (ownsGroup) {
      var done = group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
      if (wait) done.syncUninterruptibly();
    }
    if (ownedDelivery != null) ownedDelivery.shutdown(); // completions and events already handed over still run
  }

  private StreamId id(String stream) {
    StreamId id = streamIds.get(stream);
    if (id != null) return id;
    if (streamIds.size() >= maxStreams * 2) streamIds.clear(); // a cache, bounded
    id = StreamId.of(stream);
    streamIds.put(stream, id);
    return id;
  }

  private void ensureOpen() {
    if (closed) throw new IllegalStateException("the node is closed");
    if (self == null) throw new IllegalStateException("start() the node first");
  }

  /**
   * Everything a node can be configured with. Defaults: a new identity; listen on 127.0.0.1 on
   * a free port (set {@link #listen} and {@link #advertise} for a real network); no seeds; the
   * core's and the transport's documented defaults; no listener; its own event loop and a
   * delivery pool that keeps no thread while idle.
   */
  public static final class Builder {
    private NodeIdentity identity;
    private String listenHost = "127.0.0.1";
    private int listenPort;
    private String advertiseHost;
    private final List<dev.overlay.runtime.HostPort> seedAddresses = new ArrayList<>();
    private final List<PeerInfo> seedPeers = new ArrayList<>();
    private final List<String> trackers = new ArrayList<>();
    private final List<InetSocketAddress> stunServers = new ArrayList<>();
    private Duration stunRefresh = Duration.ofMinutes(5);
    private Duration trackerHeartbeat = Duration.ofSeconds(30);
    private NodeConfig config = NodeConfig.defaults();
    private TransportConfig transport = TransportConfig.defaults();
    private OverlayListener listener = new OverlayListener() {};
    /** Tests in this package only (not API): sees every connection's channel before TLS. */
    java.util.function.Consumer<io.netty.channel.Channel> channelHook;
    private EventLoopGroup group;
    private java.util.concurrent.Executor deliveryExecutor;
    private Function<IntroducerContext, Introducer> introducer;
    private Duration trackerMaxRetryAfter = dev.overlay.runtime.TrackerIntroducer.MAX_RETRY_AFTER;
    private boolean lanDiscovery;
    private String lanInterface;
    private String lanServiceType = dev.overlay.lan.LanDiscovery.DEFAULT_SERVICE;
    private java.nio.file.Path storageDir;
    private final List<String> storageStreams = new ArrayList<>();
    private Duration storageMaxAge = Duration.ofDays(7);
    private long storageMaxBytes = 10L << 30;
    private final List<PeerInfo> storageNodes = new ArrayList<>();

    /**
     * Makes this node keep the history of {@code streams}: it joins them, and stores every message
     * it delivers, with its seal, in RocksDB in {@code dir}; it answers other nodes' resend
     * requests from there (a storage node, or a gateway keeping its own history). Needs
     * {@code org.rocksdb:rocksdbjni} on the class path (classifier {@code linux64} on x86-64 Linux,
     * or the unclassified jar with every platform's library). Its own publishes are not kept: a
     * node does not deliver its own messages. Retention:
     * {@link #storageRetention}.
     *
     * @param dir the store's directory (created if missing; one node at a time)
     * @param streams the streams kept
     * @return this builder
     */
    public Builder storage(java.nio.file.Path dir, String... streams) {
      Objects.requireNonNull(dir, "dir");
      if (streams.length == 0) throw new IllegalArgumentException("name at least one stream to keep");
      for (String s : streams) {
        if (s == null || s.isEmpty()) throw new IllegalArgumentException("a stream name must not be empty");
      }
      storageDir = dir;
      storageStreams.clear();
      storageStreams.addAll(List.of(streams));
      return this;
    }

    /**
     * How much history a storage node keeps: default 7 days and 10 GiB, whichever comes first (a
     * guess: a week of one stream at 100 msg/s of 100-byte messages takes 8 GB when its publisher
     * seals three or more messages at a time, and up to 14 GB when it seals each alone;
     * docs/operations.md "Storage nodes"). Every 10 s (as the node writes) the seconds older than
     * {@code maxAge} are deleted, and while the store is larger than {@code maxBytes} (RocksDB's
     * estimate, which counts deleted data until compaction reclaims it) the oldest tenth of the
     * seconds kept.
     *
     * @param maxAge the oldest history kept, at least 1 s
     * @param maxBytes the store's size in bytes, at least 1 MiB
     * @return this builder
     */
    public Builder storageRetention(Duration maxAge, long maxBytes) {
      Objects.requireNonNull(maxAge, "maxAge");
      if (maxAge.compareTo(Duration.ofSeconds(1)) < 0) throw new IllegalArgumentException("maxAge must be at least 1 s, not " + maxAge);
      if (maxBytes < (1 << 20)) throw new IllegalArgumentException("maxBytes must be at least 1 MiB, not " + maxBytes);
      storageMaxAge = maxAge;
      storageMaxBytes = maxBytes;
      return this;
    }

    /**
     * A storage node to ask for the history a subscription's {@link StartAt} names (see
     * {@link OverlayNode#subscribe(String, MessageHandler, java.util.concurrent.Executor, StartAt)}):
     * each stream's requests go to one of the storage nodes given, and to the next when it fails.
     *
     * @param node the storage node, as its {@link OverlayNode#info()}
     * @return this builder
     */
    public Builder storageNode(PeerInfo node) {
      storageNodes.add(Objects.requireNonNull(node, "storage node"));
      return this;
    }

    /**
     * Storage nodes, as {@link #storageNode(PeerInfo)}, each as {@code <peer-id>@host:port} (what a
     * storage node prints when it starts): the key is pinned, so only that node can answer.
     *
     * @param pinnedHostPorts the storage nodes; added to any given before
     * @return this builder
     * @throws IllegalArgumentException if one is not {@code <64 hex digits>@host:port}
     */
    public Builder storageNodes(String... pinnedHostPorts) {
      for (String text : pinnedHostPorts) {
        dev.overlay.runtime.HostPort hp = dev.overlay.runtime.HostPort.parse(text, "storage node");
        if (hp.pinned() == null) throw new IllegalArgumentException("a storage node is <peer-id>@host:port, got '" + text + "'");
        storageNodes.add(new PeerInfo(hp.pinned(), 0,
            List.of(new dev.overlay.core.Candidate(dev.overlay.core.Candidate.Kind.LOCAL, hp.host(), hp.port()))));
      }
      return this;
    }

    /**
     * The node's key, which is its identity (default: a new key, so a new id, for each node built; see
     * {@code NodeIdentity.loadOrCreate} to keep one).
     *
     * @param v the key pair
     * @return this builder
     */
    public Builder identity(NodeIdentity v) {
      identity = Objects.requireNonNull(v);
      return this;
    }

    /**
     * Where to listen (default 127.0.0.1, port 0).
     *
     * @param host a local address, 0.0.0.0 for every IPv4 interface, or :: for every interface of both families
     * @param port 0..65535; 0 picks a free one
     * @return this builder
     */
    public Builder listen(String host, int port) {
      if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
      listenHost = Objects.requireNonNull(host);
      listenPort = port;
      return this;
    }

    /**
     * The host other nodes should dial (default: the listening host; on a wildcard, 0.0.0.0 or
     * ::, the host's own addresses a peer elsewhere could dial, of IPv4 only or of both families,
     * listed once at start, up to 6, those of the default routes first; container bridges only
     * when there is nothing else; docs/nat.md). Every peer and tracker the node meets is told
     * them. Name one when only it works from elsewhere (a forwarded public address), or to keep
     * the others to the host.
     *
     * @param host a host name or an IP literal
     * @return this builder
     */
    public Builder advertise(String host) {
      advertiseHost = host;
      return this;
    }

    /**
     * Seeds by address, {@code host:port}, or {@code <peer-id>@host:port} to pin the seed's key:
     * dialled to learn who they are (a pinned one must prove that key). Every stream's joiners
     * are introduced to the seeds, so a seed must itself be a member of the streams it seeds (a
     * JOIN sent to a node outside the stream is refused with a DISCONNECT).
     *
     * @param hostPorts the seeds; added to any given before
     * @return this builder
     * @throws IllegalArgumentException if one is not {@code host:port} or {@code <id>@host:port}
     */
    public Builder seeds(String... hostPorts) {
      for (String hp : hostPorts) seedAddresses.add(dev.overlay.runtime.HostPort.parse(hp, "seed"));
      return this;
    }

    /**
     * Finds other nodes on the LAN, and lets them find this one, with multicast DNS service
     * discovery (RFC 6762, 6763): the node advertises itself as an instance of
     * {@code _overlay._tcp.local} whose TXT record carries its peer id, wire version and streams,
     * and browses for the others. A node found that is in a stream is introduced to the stream's
     * joiners beside what the trackers, seeds or introducer say; it is dialled and must prove its
     * key like any peer. Runs on the node's loop (no thread); IPv4 only. The node must listen on an
     * address of the LAN ({@link #listen}, e.g. 0.0.0.0 or the LAN address), and UDP port 5353
     * must be free or shared (SO_REUSEADDR, as Avahi allows). The TXT record also names the
     * node's incarnation, and the streams it is in as their 64-bit ids: everyone on the LAN can
     * read which streams a node is in. See docs/api.md, "LAN discovery". Default: off.
     *
     * <p>{@link #build()} throws {@code IllegalStateException} when the node listens on loopback, or
     * no interface fits (see {@link #lanDiscoveryInterface}).
     *
     * @param on whether to advertise and browse
     * @return this builder
     */
    public Builder lanDiscovery(boolean on) {
      lanDiscovery = on;
      return this;
    }

    /**
     * The interface LAN discovery uses (default: the one the listening address is on, or else the
     * first that is up, multicast-capable, not loopback and has an IPv4 address).
     *
     * @param name the interface's name, e.g. {@code eth0}; null for the default. The node's
     *     listening address, if not 0.0.0.0, must be one of its addresses.
     * @return this builder
     */
    public Builder lanDiscoveryInterface(String name) {
      lanInterface = name;
      return this;
    }

    /**
     * The DNS-SD service type LAN discovery advertises and browses (default {@code _overlay._tcp}):
     * networks that must not meet on one LAN use different types.
     *
     * @param type {@code _name._tcp}, the name 1 to 15 letters, digits and hyphens with at least
     *     one letter and no hyphen at either end or next to another (RFC 6763 7.2)
     * @return this builder
     * @throws IllegalArgumentException if it is not of that form
     */
    public Builder lanServiceType(String type) {
      if (type == null || !type.matches("_(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:-?[A-Za-z0-9]){0,14}\\._tcp")) {
        throw new IllegalArgumentException("a service type is _name._tcp, the name 1 to 15 letters, digits and hyphens, with a letter"
            + " and no hyphen at an end or next to another (RFC 6763 7.2): " + type);
      }
      lanServiceType = type;
      return this;
    }

    /**
     * Trackers, {@code host:port}, or {@code <peer-id>@host:port} to pin the tracker's key (one
     * presenting another key is refused, with a {@code ConnectionRejected} event): each stream's
     * introductions come from the tracker rendezvous hashing picks for it, or the next one when
     * it is down. Every node of a network must list the same trackers, written the same way.
     * Takes precedence over seeds.
     *
     * @param hostPorts the trackers; added to any given before
     * @return this builder
     * @throws IllegalArgumentException if one is not {@code host:port} or {@code <id>@host:port}
     */
    public Builder trackers(String... hostPorts) {
      for (String hp : hostPorts) {
        dev.overlay.runtime.HostPort.parse(hp, "tracker");
        trackers.add(hp);
      }
      return this;
    }

    /**
     * STUN servers ({@code host:port}; every tracker runs one, on port 3478 by default): giving
     * them turns NAT traversal on (docs/nat.md). {@link OverlayNode#start} asks them, in order
     * until one gives a usable answer, where the node's traffic comes from (over UDP, up to
     * 2.75 s per server unreachable, plus the lookup of its name), binds the listening port so
     * that hole punches can leave from it, and asks over TCP from that port (up to 2 s per
     * server): the NAT's mapping of it is advertised as a {@code REFLEXIVE} candidate when it
     * differs from the local address, and asked again every {@link #stunRefresh}. Dials that fail
     * then ask the trackers for a hole punch and, failing that, a relay; and the node asks its
     * tracker whether it can reach it ({@link NodeSnapshot#nat()}). An answer naming a loopback,
     * link-local, multicast or wildcard address is not advertised. Not asked when the node
     * listens on loopback. Default: none (no STUN traffic, no NAT traversal).
     *
     * @param hostPorts the servers; added to any given before
     * @return this builder
     * @throws IllegalArgumentException if one is not {@code host:port}
     */
    public Builder stunServers(String... hostPorts) {
      for (String hp : hostPorts) {
        dev.overlay.runtime.HostPort p = dev.overlay.runtime.HostPort.parse(hp, "STUN server");
        if (p.pinned() != null) throw new IllegalArgumentException("a STUN server has no key to pin: " + hp);
        stunServers.add(p.address());
      }
      return this;
    }

    /**
     * How often a node traversing NATs (given {@link #stunServers}) asks the first of them again,
     * over TCP from its listening port, where its NAT maps that port; a new mapping is advertised
     * from then on (to trackers at their next heartbeat, to peers in what the node sends next).
     * Default 5 minutes: one small TCP exchange, while home routers change their public address
     * rarely (on a reboot or a lease renewal).
     *
     * @param v at least one second
     * @return this builder
     */
    public Builder stunRefresh(Duration v) {
      if (v.compareTo(Duration.ofSeconds(1)) < 0) throw new IllegalArgumentException("stunRefresh must be at least 1 s");
      stunRefresh = v;
      return this;
    }

    /**
     * How often the node re-sends its registrations to its trackers (default 30 s; a tracker
     * forgets a registration after 90 s without one by default, so it survives two lost ones).
     *
     * @param v a positive interval
     * @return this builder
     */
    public Builder trackerHeartbeat(Duration v) {
      if (v.isNegative() || v.isZero()) throw new IllegalArgumentException("trackerHeartbeat must be positive");
      trackerHeartbeat = v;
      return this;
    }

    /**
     * A seed whose id and addresses are known (no dial is needed to learn who it is).
     *
     * @param peer the seed
     * @return this builder
     */
    public Builder seed(PeerInfo peer) {
      seedPeers.add(Objects.requireNonNull(peer));
      return this;
    }

    /**
     * The protocol's configuration (default {@code NodeConfig.defaults()}).
     *
     * @param v the configuration
     * @return this builder
     */
    public Builder config(NodeConfig v) {
      config = Objects.requireNonNull(v);
      return this;
    }

    /**
     * The transport's configuration (default {@code TransportConfig.defaults()}).
     *
     * @param v the configuration
     * @return this builder
     */
    public Builder transport(TransportConfig v) {
      transport = Objects.requireNonNull(v);
      return this;
    }

    /**
     * Where the node's events go (default: nowhere; they are counted in the snapshot anyway).
     *
     * @param v the listener, run on the delivery executor
     * @return this builder
     */
    public Builder listener(OverlayListener v) {
      listener = Objects.requireNonNull(v);
      return this;
    }

    /**
     * Runs the node on one loop of a group the caller owns (and shuts down), for many nodes in
     * one process (default: a one-thread group of the node's own). The group's I/O must match the
     * channels the node picks: epoll ({@code EpollIoHandler}) when
     * {@code TransportConfig.nativeTransport} is on and epoll is available, NIO otherwise.
     *
     * @param v the group
     * @return this builder
     */
    public Builder eventLoopGroup(EventLoopGroup v) {
      group = v;
      return this;
    }

    /**
     * Where handlers and the listener run by default (default: a cached pool of the node's own,
     * which keeps no thread while idle).
     *
     * @param v an executor the caller owns (and shuts down)
     * @return this builder
     */
    public Builder deliveryExecutor(java.util.concurrent.Executor v) {
      deliveryExecutor = v;
      return this;
    }

    /**
     * How the node learns members of a stream, when neither trackers nor seeds fit. The factory
     * is called once, in {@link OverlayNode#start} on the node's loop (so it must not block),
     * with what the introducer may know of the node; if it throws, {@code start} fails with its
     * exception and the node is closed. Takes precedence over trackers and seeds.
     *
     * @param v makes the introducer from its context
     * @return this builder
     */
    public Builder introducer(Function<IntroducerContext, Introducer> v) {
      introducer = Objects.requireNonNull(v);
      return this;
    }

    /**
     * The longest the node waits when a tracker refuses it and says when to come back (default
     * 60 s): a tracker, misconfigured or hostile, cannot keep the node out of a stream for longer.
     *
     * @param v 1 ms to 1 day
     * @return this builder
     */
    public Builder trackerMaxRetryAfter(Duration v) {
      Objects.requireNonNull(v, "trackerMaxRetryAfter");
      if (v.compareTo(Duration.ofMillis(1)) < 0 || v.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException("trackerMaxRetryAfter must be between 1 ms and 1 day, not " + v);
      }
      trackerMaxRetryAfter = v;
      return this;
    }

    /**
     * A node with this builder's settings, copied (changing the builder afterwards changes
     * nothing here). Opens no socket: see {@link OverlayNode#start}.
     *
     * @return the node, not started
     * @throws IllegalStateException if no TLS context can be made from the node's key (a
     *     platform without the needed algorithms)
     */
    public OverlayNode build() {
      return new OverlayNode(this);
    }
  }
}
