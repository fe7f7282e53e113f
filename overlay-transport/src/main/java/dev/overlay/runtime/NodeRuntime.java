package dev.overlay.runtime;

import dev.overlay.NodeIdentity;
import dev.overlay.TransportEvent;
import dev.overlay.config.NodeConfig;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.identity.TlsContexts;
import dev.overlay.node.NodeState;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.stream.StreamState;
import dev.overlay.transport.LinkManager;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node at run time: its protocol core, driven on one Netty event loop, and the node's
 * operations as the application and the introducers call them.
 *
 * <p>The node's channels are registered on the same loop, so frames reach the core without a
 * thread hop, and the core's sends reach the channels the same way. Other threads (the
 * application's publishes and subscriptions) hand work over through a bounded queue. The loop
 * never waits: deliveries go to each subscription's bounded queue, events to the listener's,
 * and flushes are made once per loop turn.
 *
 * <p>The parts, one job each: {@link PublishQueue} (the application's publishes on their way
 * to the loop), {@link TurnDriver} (turns, the clock, timers), {@link CoreOutbox} (the core's
 * commands carried out), {@link StreamRegistry} (subscriptions, neighbour waits and counters per
 * stream) and {@link LinkManager} (the links). This class wires them together, translates the
 * links' news into the core's events, and serves the introducers ({@link IntroductionHost}).
 */
public final class NodeRuntime implements LinkManager.Listener, IntroductionHost {

  private static final Logger log = LoggerFactory.getLogger(NodeRuntime.class);

  /** See {@code OverlayNode.ON_NODE_LOOP}. */
  public static final Executor ON_LOOP = SubscriptionQueue.ON_LOOP;

  private final EventLoop loop;
  private final NodeConfig config;
  private final TransportConfig transport;
  private final NodeIdentity identity;
  private final LinkManager links;
  private final Function<IntroductionHost, IntroductionSource> introducerFactory;
  private final Executor deliveryExecutor;
  private final EventDispatcher<Object> events;
  private final Completions completions;
  private final TurnDriver turns;
  private final StreamRegistry streams;
  private final CoreOutbox outbox;
  private final PublishQueue publishes;
  /** The datagram channel the loop takes (epoll's on an epoll loop), for STUN. */
  private final Class<? extends io.netty.channel.socket.DatagramChannel> datagramChannel;
  private final Class<? extends io.netty.channel.socket.SocketChannel> socketChannel;
  // What the node knows of its NAT: set by start() and by trackers' answers, read by snapshots.
  private volatile boolean natTraversal;
  private volatile String mapping;
  private volatile String reached;
  private volatile String reachDetail;
  private volatile Message.Reachability.Outcome verdict; // REACHED or NOT_REACHED; null before any
  private volatile java.time.Instant checkedAt;
  private InetSocketAddress listening; // where punches and STUN refreshes leave from
  private InetSocketAddress refreshServer; // the first STUN server, resolved at start
  private long mappingChanges;
  private final AtomicLong subscriptionsFailed = new AtomicLong();
  private final Consumer<PublishQueue.Publish> publishOnLoop = this::publish;
  private final Runnable drainPublishes = this::drainPublishes;

  // Loop-confined state.
  private NodeState core;
  private IntroductionSource introducer;
  private volatile PeerInfo self; // its candidates change when the NAT's mapping does (refreshMapping)
  private volatile boolean closing;

  // Counted off the loop too.
  private final AtomicLong publishRefused = new AtomicLong();
  private final AtomicLong backpressureRefusals = new AtomicLong();
  /** Whether this pause's refusals were reported (reset when the node takes publishes again). */
  private final AtomicBoolean refusalReported = new AtomicBoolean();
  /** Waiting for the node to take publishes again (loop-confined). */
  private final List<CompletableFuture<Void>> publishWaiters = new ArrayList<>();

  /** This node's store of history (null: it keeps none), and the storage nodes it asks for history. */
  private dev.overlay.storage.StorageService storage;
  private List<PeerInfo> storageNodes = List.of();
  private ResendServer resendServer;
  private HistoryClient historyClient;

  public NodeRuntime(EventLoop loop, NodeConfig config, TransportConfig transport, NodeIdentity identity, TlsContexts tls,
      Class<? extends SocketChannel> socketChannel, Class<? extends ServerSocketChannel> serverChannel,
      Function<IntroductionHost, IntroductionSource> introducerFactory, Executor deliveryExecutor,
      Consumer<OverlayEvent> overlayListener, Consumer<TransportEvent> transportListener) {
    this(loop, config, transport, identity, tls, socketChannel, serverChannel, introducerFactory, deliveryExecutor,
        overlayListener, transportListener, System::nanoTime);
  }

  /**
   * @param clock the monotonic clock, in nanoseconds, that the core's {@code now}, the timers,
   *     the links' timeouts and budgets and the introducers all read: one clock, injected, so
   *     that runtime classes can be tested without real time
   */
  public NodeRuntime(EventLoop loop, NodeConfig config, TransportConfig transport, NodeIdentity identity, TlsContexts tls,
      Class<? extends SocketChannel> socketChannel, Class<? extends ServerSocketChannel> serverChannel,
      Function<IntroductionHost, IntroductionSource> introducerFactory, Executor deliveryExecutor,
      Consumer<OverlayEvent> overlayListener, Consumer<TransportEvent> transportListener, LongSupplier clock) {
    this.loop = loop;
    this.config = config;
    this.transport = transport;
    this.identity = identity;
    this.introducerFactory = introducerFactory;
    this.deliveryExecutor = deliveryExecutor;
    this.publishes = new PublishQueue(transport.commandQueueCapacity(), loop, drainPublishes);
    this.socketChannel = socketChannel;
    this.datagramChannel = socketChannel == io.netty.channel.epoll.EpollSocketChannel.class
        ? io.netty.channel.epoll.EpollDatagramChannel.class : io.netty.channel.socket.nio.NioDatagramChannel.class;
    this.links = new LinkManager(loop, transport, tls, socketChannel, serverChannel, new SplittableRandom(new SecureRandom().nextLong()), this,
        dev.overlay.wire.WireCodec.MAX_PAYLOAD_BYTES, clock);
    this.completions = new Completions(deliveryExecutor);
    this.events = new EventDispatcher<>(transport.eventQueueCapacity(), deliveryExecutor, e -> {
      if (e instanceof OverlayEvent oe) overlayListener.accept(oe);
      else transportListener.accept((TransportEvent) e);
    }, lost -> transportListener.accept(new TransportEvent.EventsDropped(lost)));
    this.streams = new StreamRegistry(completions);
    this.turns = new TurnDriver(loop, clock, this::endOfTurn, this::fire);
    LinkManager l = links;
    this.outbox = new CoreOutbox(new CoreOutbox.Links() {
      @Override
      public boolean send(PeerId to, io.netty.buffer.ByteBuf frame, boolean control) {
        return l.send(to, frame, control);
      }

      @Override
      public void connect(PeerInfo peer) {
        l.connect(peer);
      }

      @Override
      public void disconnect(PeerId peer) {
        l.disconnect(peer);
        // The link manager tells no one of a link this node closes; history state must hear it.
        turns.later(() -> historyLinkDown(peer, "closed by this node"));
      }

      @Override
      public boolean sendBulk(PeerId to, io.netty.buffer.ByteBuf frame) {
        return l.sendBulk(to, frame);
      }
    }, streams, turns, events, completions, this::requestIntroductions);
  }

  // ---- Lifecycle (call from any thread) -----------------------------------------------------

  /** From any thread: an event for the application's listener. */
  public void report(TransportEvent event) {
    events.offer(event);
  }

  /**
   * Before {@link #start}: the store this node keeps its streams' history in (null for none; the
   * runtime closes it), and the storage nodes it asks for a subscription's history.
   */
  public void history(dev.overlay.storage.StorageService storage, List<PeerInfo> storageNodes) {
    this.storage = storage;
    this.storageNodes = List.copyOf(storageNodes);
  }

  /** Binds, then starts the core. Returns our own PeerInfo, with the address we listen on. Not on the loop. */
  public PeerInfo start(InetSocketAddress bind, String advertiseHost) throws Exception {
    return start(bind, advertiseHost, List.of());
  }

  /**
   * As {@link #start(InetSocketAddress, String)}, first asking {@code stunServers} (in order,
   * until one answers) where this node's traffic comes from. Not asked when listening on
   * loopback: no one outside could reach the node anyway. Otherwise the listening socket is
   * bound for hole punching (SO_REUSEPORT), the servers are asked over TCP from the listening
   * port, and its mapping (the reflexive IP and port a peer's punch connects to) is advertised
   * as a REFLEXIVE candidate when it differs from the LOCAL one. When only the UDP question is
   * answered, the reflexive IP is advertised with the listening port (right for a host with a
   * public IP, or behind a NAT that preserves ports).
   */
  public PeerInfo start(InetSocketAddress bind, String advertiseHost, List<InetSocketAddress> stunServers) throws Exception {
    return start(bind, advertiseHost, stunServers, Duration.ofMinutes(5));
  }

  /** As above, asking the first STUN server again every {@code stunRefresh} where the NAT maps the listening port. */
  public PeerInfo start(InetSocketAddress bind, String advertiseHost, List<InetSocketAddress> stunServers, Duration stunRefresh)
      throws Exception {
    if (loop.inEventLoop()) throw new IllegalStateException("start the node from outside its event loop");
    boolean nat = !stunServers.isEmpty() && !(bind.getAddress() != null && bind.getAddress().isLoopbackAddress());
    // Asked before the bind, off the loop. Once bound, inbound connections are refused until the
    // node knows its own addresses (LinkManager.admitInbound), which the TCP question needs.
    java.net.InetAddress reflexive = !nat ? null
        : dev.overlay.nat.ReflexiveDiscovery.discover(loop, datagramChannel, stunServers, dev.overlay.nat.ReflexiveDiscovery.TIMING);
    InetSocketAddress bound = links.bind(bind, nat); // waits for the loop to bind, so not on it
    InetSocketAddress mapped = !nat ? null : dev.overlay.nat.ReflexiveDiscovery.tcpMapping(loop, socketChannel,
        new InetSocketAddress(bind.getAddress(), bound.getPort()), stunServers, Duration.ofSeconds(2));
    natTraversal = nat;
    if (nat) {
      listening = new InetSocketAddress(bind.getAddress(), bound.getPort());
      for (InetSocketAddress s : stunServers) { // resolved here, off the loop: the refresh runs on it
        InetSocketAddress r = s.isUnresolved() ? new InetSocketAddress(s.getHostString(), s.getPort()) : s;
        if (!r.isUnresolved() && refreshServer == null) refreshServer = r;
      }
    }
    if (mapped != null) mapping = mapped.getAddress().getHostAddress() + ":" + mapped.getPort();
    else if (reflexive != null) mapping = reflexive.getHostAddress() + ":" + bound.getPort();
    if (nat) {
      links.punchVia(peer -> introducer != null && introducer.requestPunch(peer));
      links.relayVia(peer -> introducer != null && introducer.requestRelay(peer));
    }
    // A wildcard names nothing a peer could dial: without an advertised host, the host's own
    // addresses are offered (listed here, off the loop), of both families when bound to ::.
    List<String> hosts = advertiseHost != null ? List.of(advertiseHost)
        : bind.getAddress() != null && bind.getAddress().isAnyLocalAddress()
            ? dev.overlay.nat.LocalAddresses.gather(bind.getAddress() instanceof java.net.Inet6Address)
            : List.of(bound.getHostString());
    if (hosts.isEmpty()) throw new IllegalStateException("listening on " + bind.getHostString() + " but the host has no address to advertise; give advertise(host)");
    if (advertiseHost == null && bind.getAddress() != null && bind.getAddress().isAnyLocalAddress()) {
      if (dev.overlay.nat.LocalAddresses.allLoopback(hosts)) {
        log.warn("listening on {} but the host has no address other than loopback (its network not up yet?): advertising {}, "
            + "which only this host can dial, until the node restarts; give advertise(host) to name one", bind.getHostString(), hosts);
      } else {
        log.info("listening on {}: advertising the host's addresses {} (advertise(host) names one instead)", bind.getHostString(), hosts);
      }
    }
    return onLoop(() -> {
      List<Candidate> candidates = new ArrayList<>();
      for (String host : hosts) candidates.add(new Candidate(Candidate.Kind.LOCAL, host, bound.getPort()));
      boolean mappedIsLocal = mapped != null && hosts.stream().anyMatch(h -> sameAddress(mapped.getAddress(), h)) && mapped.getPort() == bound.getPort();
      if (mapped != null && !mappedIsLocal) {
        candidates.add(new Candidate(Candidate.Kind.REFLEXIVE, mapped.getAddress().getHostAddress(), mapped.getPort()));
      } else if (mapped == null && reflexive != null && hosts.stream().noneMatch(h -> sameAddress(reflexive, h))) {
        candidates.add(new Candidate(Candidate.Kind.REFLEXIVE, reflexive.getHostAddress(), bound.getPort()));
      }
      // The wall clock only orders this node's restarts; nothing else in the protocol reads it.
      self = new PeerInfo(identity.peerId(), System.currentTimeMillis(), List.copyOf(candidates));
      links.self(self);
      long now = turns.start();
      core = new NodeState(config, self, new SplittableRandom(new SecureRandom().nextLong()),
          new dev.overlay.identity.EcdsaSignatures(identity), outbox);
      introducer = introducerFactory.apply(this);
      resendServer = new ResendServer(storage, resendHost());
      historyClient = new HistoryClient(storageNodes, historyHost(), new SecureRandom().nextLong());
      outbox.history(storage, historyClient);
      core.start(now);
      turns.every(Duration.ofNanos(links.slowPeerCheckNanos()), links::checkSlowPeers);
      if (refreshServer != null) turns.every(stunRefresh, this::refreshMapping);
      turns.end();
      return self;
    });
  }

  /**
   * Leaves every stream (telling neighbours), flushes and closes every link.
   *
   * @return done when every connection is closed (see {@link LinkManager#shutdownGracefully}):
   *     stop the loop only then
   */
  public io.netty.util.concurrent.Future<Void> close() throws Exception {
    closing = true;
    return onLoop(() -> {
      try {
        if (core != null) {
          long now = turns.begin();
          for (StreamState s : core.streams()) core.handle(now, new Event.LeaveStream(s.id(), true));
          introducer.closing();
          turns.end();
        }
      } catch (RuntimeException e) {
        log.warn("saying goodbye failed; closing every connection all the same", e);
      }
      var closed = links.shutdownGracefully();
      streams.closeSubscriptions();
      stop();
      return closed;
    });
  }

  /**
   * Closes every connection at once without a word to anyone: a crash, for tests.
   *
   * @return done when every connection is closed: stop the loop only then
   */
  public io.netty.util.concurrent.Future<Void> crash() throws Exception {
    closing = true;
    return onLoop(() -> {
      var closed = links.shutdown();
      if (introducer != null) introducer.crashed();
      stop();
      return closed;
    });
  }

  // ---- The application's side (any thread) --------------------------------------------------

  /** Queues a publish; joins the stream first if needed. Refused at once when the loop is swamped. */
  public CompletableFuture<PublishResult> publish(StreamId stream, String name, byte[] payload) {
    CompletableFuture<PublishResult> result = new CompletableFuture<>();
    if (closing) {
      result.completeExceptionally(new IllegalStateException("the node is closed"));
      return result;
    }
    if (links.congested()) {
      // Backpressure: a neighbour cannot take what we send. Refused here, visibly, rather than
      // accepted and shed inside the overlay; publishable() completes when it can go on.
      refuseForBackpressure(name);
      result.complete(PublishResult.refused(stream, PublishResult.Status.QUEUE_FULL));
      return result;
    }
    if (!publishes.offer(new PublishQueue.Publish(stream, name, payload, result))) {
      publishRefused.incrementAndGet();
      events.offer(new TransportEvent.PublishRefused(name, "command queue full (" + publishes.capacity() + ")"));
      result.complete(PublishResult.refused(stream, PublishResult.Status.QUEUE_FULL));
    }
    return result;
  }

  /** Adds a subscription and joins the stream if needed. */
  public dev.overlay.Subscription subscribe(StreamId stream, String name, Executor executor, Consumer<Message.Data> handler,
      java.util.function.LongConsumer onLagged, int capacity, dev.overlay.core.StartAt start) {
    SubscriptionQueue[] q = new SubscriptionQueue[1];
    q[0] = new SubscriptionQueue(capacity, executor != null ? executor : deliveryExecutor, handler, missed -> {
      events.offer(new TransportEvent.SubscriberLagged(name, missed));
      onLagged.accept(missed);
    }, refused -> {
      subscriptionsFailed.incrementAndGet();
      log.warn("closing a subscription to {}: its executor refused the handler ({})", name, refused.toString());
      events.offer(new TransportEvent.SubscriptionFailed(name, "executor refused the handler: " + refused));
      turns.execute(() -> streams.unsubscribe(stream, q[0]));
    });
    turns.execute(() -> {
      streams.subscribe(stream, name, q[0]);
      streams.add(stream, name);
      core.handle(turns.begin(), new Event.JoinStream(stream, null, start)); // joins, or applies the start to the stream joined
      if (!start.isLive()) historyClient.start(stream, start);
    });
    return new SubscriptionHandle(name, stream, q[0], this);
  }

  void unsubscribe(StreamId stream, SubscriptionQueue q) {
    q.close();
    turns.execute(() -> {
      streams.unsubscribe(stream, q);
      streams.forgetIfUnused(stream, core::isJoined);
    });
  }

  public void join(StreamId stream, String name) {
    turns.execute(() -> joinOnLoop(stream, name));
  }

  public void leave(StreamId stream) {
    turns.execute(() -> {
      core.handle(turns.begin(), new Event.LeaveStream(stream));
      if (historyClient != null) historyClient.left(stream);
      introducer.left(stream);
      streams.left(stream);
      streams.forgetIfUnused(stream, core::isJoined);
    });
  }

  /** Completes when the stream has at least {@code n} neighbours. */
  public CompletableFuture<Void> neighbors(StreamId stream, String name, int n) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    turns.execute(() -> streams.awaitNeighbors(stream, name, n, done));
    return done;
  }

  /** Completes when the node takes publishes again (at once if it does now). */
  public CompletableFuture<Void> publishable() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!links.congested()) {
      done.complete(null);
      return done;
    }
    try {
      loop.execute(() -> { // not turns.execute(): a node closed meanwhile must still answer the wait
        if (turns.stopped()) {
          completions.fail(done, new IllegalStateException("the node is closed"));
        } else if (!links.congested()) {
          completions.complete(done, null);
        } else {
          publishWaiters.removeIf(CompletableFuture::isDone);
          if (publishWaiters.size() < StreamRegistry.MAX_WAITERS) publishWaiters.add(done);
          else completions.fail(done, new IllegalStateException("more than " + StreamRegistry.MAX_WAITERS + " waits for publishable()"));
        }
        completions.endOfTurn();
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      done.completeExceptionally(new IllegalStateException("the node is closed"));
    }
    return done;
  }

  /** Runs {@code query} on the loop and waits for its answer (a snapshot, counters). */
  public <T> T query(Function<View, T> query) throws Exception {
    return onLoop(() -> query.apply(new View()));
  }

  /** A read-only look at loop state, valid only inside {@link #query}. */
  public final class View {
    public NodeState core() {
      return core;
    }

    public PeerInfo self() {
      return self;
    }

    public String streamName(StreamId id) {
      return streams.name(id);
    }

    /** How the node is reached from outside, as far as it knows. */
    public dev.overlay.NodeSnapshot.Nat nat() {
      dev.overlay.NodeSnapshot.Nat.Status status = !natTraversal ? dev.overlay.NodeSnapshot.Nat.Status.DISABLED
          : verdict == null ? dev.overlay.NodeSnapshot.Nat.Status.UNKNOWN
          : verdict == Message.Reachability.Outcome.REACHED ? dev.overlay.NodeSnapshot.Nat.Status.REACHABLE
          : dev.overlay.NodeSnapshot.Nat.Status.NOT_REACHABLE;
      String detail = !natTraversal ? "no STUN servers given (or listening on loopback)"
          : reachDetail == null ? (mapping == null ? "no STUN server answered; " : "") + "no tracker has checked yet" : reachDetail;
      return new dev.overlay.NodeSnapshot.Nat(status, mapping, reached, checkedAt, detail);
    }

    /** A stream's traffic, as the snapshot shows it (all zero for a stream with no traffic yet). */
    public dev.overlay.NodeSnapshot.Counters streamCounters(StreamId id) {
      return streams.counters(id);
    }

    /**
     * The node's counters by name: the links' ({@link LinkManager.Counters}), the runtime's
     * ({@link NodeRuntime.Counters}) and the introducer's, each taken as one immutable value.
     */
    public Map<String, Long> nodeCounters() {
      Map<String, Long> out = links.counters().byName();
      counters().addTo(out);
      out.put("nat_mapping_changes", mappingChanges);
      return out;
    }

    public List<LinkManager.LinkInfo> links() {
      return links.readyLinks();
    }
  }

  /** The runtime's own counters at one moment (the links and the core count their own). */
  public record Counters(long sendsWithoutLink, long publishesRefused, long publishesRefusedBackpressure, long eventsDropped,
      long subscriptionsFailed, Map<String, Long> introducer, long futuresCompletedOnLoop, long coreLinksRefused,
      Map<OverlayEvent.DropReason, Long> dropped, Map<String, Long> history) {

    public Counters {
      introducer = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(introducer));
      dropped = Map.copyOf(dropped);
      history = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(history));
    }

    /** Adds every counter, by name, in a stable order. */
    public void addTo(Map<String, Long> out) {
      out.put("sends_without_link", sendsWithoutLink);
      out.put("publishes_refused", publishesRefused);
      out.put("publishes_refused_backpressure", publishesRefusedBackpressure);
      out.put("events_dropped", eventsDropped);
      out.put("subscriptions_failed", subscriptionsFailed);
      out.putAll(introducer);
      out.put("futures_completed_on_loop", futuresCompletedOnLoop);
      out.put("links_refused_by_core", coreLinksRefused);
      out.putAll(history);
      // Every reason, 0 included, so that a dashboard's query has a series before the first drop.
      for (OverlayEvent.DropReason r : OverlayEvent.DropReason.values()) {
        out.put("dropped_" + r.name().toLowerCase(java.util.Locale.ROOT), dropped.getOrDefault(r, 0L));
      }
    }
  }

  /**
   * History: messages stored and not, resends served and refused here, history received from
   * storage nodes and their violations. All zero on a node that neither stores nor asks.
   */
  private Map<String, Long> historyCounters() {
    Map<String, Long> h = new java.util.LinkedHashMap<>();
    h.put("history_stored", storage == null ? 0 : storage.stored());
    h.put("history_not_stored", storage == null ? 0 : storage.notStored());
    h.put("resend_messages_served", resendServer == null ? 0 : resendServer.served());
    h.put("resend_requests_refused", resendServer == null ? 0 : resendServer.refused());
    h.put("resend_requests_open_now", resendServer == null ? 0 : (long) resendServer.open());
    h.put("history_received", historyClient == null ? 0 : historyClient.received());
    h.put("history_requests_open_now", historyClient == null ? 0 : (long) historyClient.open());
    h.put("history_violations", historyClient == null ? 0 : historyClient.violations());
    h.put("history_follows_refused", historyClient == null ? 0 : historyClient.followsRefused());
    return h;
  }

  /** On the loop. */
  private Counters counters() {
    return new Counters(outbox.sendsWithoutLink(), publishRefused.get(), backpressureRefusals.get(), events.dropped(),
        subscriptionsFailed.get(), introducer != null ? introducer.counters() : Map.of(), completions.completedOnLoop(),
        core != null ? core.linksRefused() : 0, outbox.drops(), historyCounters());
  }

  /** Tests only: every connection's channel is shown to {@code hook} before TLS (see LinkManager.channelHook). */
  public void channelHook(java.util.function.Consumer<io.netty.channel.Channel> hook) {
    links.channelHook(hook);
  }

  // ---- LinkManager.Listener: the links' news, on the loop -----------------------------------

  @Override
  public void linkUp(PeerId peer, PeerInfo info) {
    introducer.linkUp(info);
    if (!introducer.isInfrastructure(peer)) handle(new Event.PeerConnected(peer)); // a tracker is no stream's peer
    if (historyClient != null && !turns.stopped()) {
      historyClient.linkUp(peer);
      turns.end();
    }
  }

  @Override
  public void linkDown(PeerId peer, String reason) {
    if (introducer != null && introducer.isInfrastructure(peer)) {
      introducer.linkDown(peer, reason);
      return;
    }
    if (core != null) handle(new Event.PeerDisconnected(peer, reason));
    historyLinkDown(peer, reason);
  }

  @Override
  public void dialFailed(PeerId peer, String reason) {
    if (core != null) handle(new Event.DialFailed(peer, reason));
    historyLinkDown(peer, reason);
  }

  private void historyLinkDown(PeerId peer, String reason) {
    if (historyClient == null || turns.stopped()) return;
    resendServer.linkDown(peer);
    historyClient.linkDown(peer, reason);
    turns.end();
  }

  /** What the resend server may do: on the loop, inside a turn its caller ends. */
  private ResendServer.Host resendHost() {
    return new ResendServer.Host() {
      @Override
      public void send(PeerId to, Message message) {
        outbox.sendResend(to, (Message.ResendMessage) message);
      }

      @Override
      public boolean writable(PeerId peer) {
        return links.writable(peer);
      }

      @Override
      public void hold(PeerId peer, boolean hold) {
        if (!turns.stopped()) core.handle(turns.begin(), new Event.HoldLink(PeerInfo.of(peer, 0), hold));
      }

      @Override
      public void schedule(Runnable task, long millis) {
        loop.schedule(() -> turns.execute(task), millis, TimeUnit.MILLISECONDS);
      }

      @Override
      public void execute(Runnable task) {
        turns.execute(task);
      }
    };
  }

  /** What the history client may do: on the loop, inside a turn its caller ends. */
  private HistoryClient.Host historyHost() {
    return new HistoryClient.Host() {
      @Override
      public void handle(Event event) {
        if (!turns.stopped()) core.handle(turns.begin(), event);
      }

      @Override
      public void send(PeerId to, Message message) {
        outbox.sendResend(to, (Message.ResendMessage) message);
      }

      @Override
      public int protocolVersion(PeerId peer) {
        return NodeRuntime.this.protocolVersion(peer);
      }

      @Override
      public void event(TransportEvent event) {
        events.offer(event);
      }

      @Override
      public void schedule(Runnable task, long millis) {
        loop.schedule(() -> turns.execute(task), millis, TimeUnit.MILLISECONDS);
      }

      @Override
      public String name(StreamId stream) {
        return streams.name(stream);
      }

      @Override
      public boolean trackers() {
        return introducer != null && introducer.namesStorageNodes();
      }

      @Override
      public boolean joined(StreamId stream) {
        return core != null && core.isJoined(stream);
      }
    };
  }

  @Override
  public void roundTrip(PeerId peer, long nanos) {
    if (core != null && !introducer.isInfrastructure(peer)) handle(new Event.RoundTrip(peer, nanos));
  }

  @Override
  public void saturated(boolean saturated) {
    // Reported from inside a send, which may be inside the core: handed to the core afterwards.
    if (core != null) turns.later(() -> core.handle(turns.begin(), new Event.Saturated(saturated)));
  }

  @Override
  public void peerSlow(PeerId peer) {
    if (core != null && !introducer.isInfrastructure(peer)) handle(new Event.PeerSlow(peer));
  }

  @Override
  public void peerDrained(PeerId peer) {
    // Reported from inside a send or a disconnect, which may be inside the core: handed over afterwards.
    if (core == null || turns.stopped() || introducer.isInfrastructure(peer)) return;
    turns.later(() -> core.handle(turns.begin(), new Event.PeerDrained(peer)));
  }

  @Override
  public void uncongested() {
    refusalReported.set(false);
    if (turns.stopped()) return;
    if (publishWaiters.isEmpty()) return;
    for (CompletableFuture<Void> w : publishWaiters) completions.complete(w, null);
    publishWaiters.clear();
    completions.endOfTurn(); // hand them over now: this may come from a channel event, outside any turn
  }

  @Override
  public void received(PeerId peer, Message message, int frameBytes) {
    if (turns.stopped()) return;
    if (message instanceof Message.TrackerMessage m) {
      introducer.received(peer, m);
      return;
    }
    if (message instanceof Message.ResendMessage m) {
      if (protocolVersion(peer) < dev.overlay.wire.WireCodec.RESEND_PROTOCOL_VERSION) return; // a frame its version does not have
      turns.beginBatch();
      if (m instanceof Message.ResendRequest r) resendServer.onRequest(peer, r);
      else if (m instanceof Message.ResendCredit c) resendServer.onCredit(peer, c);
      else if (m instanceof Message.ResendBatch b) historyClient.onBatch(peer, b);
      else if (m instanceof Message.ResendEnd e) historyClient.onEnd(peer, e);
      return;
    }
    streams.countIn(message.stream(), message instanceof Message.Data, frameBytes);
    core.handle(turns.beginBatch(), new Event.Received(peer, message));
  }

  @Override
  public void event(TransportEvent event) {
    events.offer(event);
  }

  @Override
  public void seedFound(InetSocketAddress address, PeerInfo info) {
    introducer.seedFound(address, info);
  }

  @Override
  public void seedFailed(InetSocketAddress address, String reason) {
    introducer.seedFailed(address, reason);
  }

  // ---- IntroductionHost: what the introducers may ask, on the loop ---------------------------

  @Override
  public void sendTracker(PeerId to, Message.TrackerMessage message) {
    outbox.sendTracker(to, message);
  }

  /**
   * Asks the STUN server again, over TCP from the listening port, where the NAT maps that port;
   * on the loop, without blocking. A new mapping becomes the node's {@code REFLEXIVE} candidate:
   * in its HELLO, in what its streams send next, and at its trackers' next heartbeat.
   */
  private void refreshMapping() {
    if (turns.stopped()) return;
    dev.overlay.nat.StunClient.bindingTcp(loop, socketChannel, listening, refreshServer, Duration.ofSeconds(2))
        .whenComplete((r, e) -> loop.execute(() -> {
          if (e != null || turns.stopped() || core == null) {
            if (e != null) log.debug("STUN refresh from {} got no answer: {}", listening, e.toString());
            return;
          }
          InetSocketAddress seen = r.reflexive();
          String now = seen.getAddress().getHostAddress() + ":" + seen.getPort();
          if (now.equals(mapping) || dev.overlay.nat.ReflexiveDiscovery.unusableAddress(seen.getAddress()) != null) return;
          List<Candidate> candidates = new ArrayList<>();
          for (Candidate c : self.candidates()) if (c.kind() != Candidate.Kind.REFLEXIVE) candidates.add(c);
          if (candidates.stream().noneMatch(c -> sameAddress(seen.getAddress(), c.host()) && seen.getPort() == c.port())) {
            candidates.add(new Candidate(Candidate.Kind.REFLEXIVE, seen.getAddress().getHostAddress(), seen.getPort()));
          }
          log.info("the NAT maps this node's listening port to {} now (it was {}): advertised from now on", now, mapping);
          mapping = now;
          mappingChanges++;
          self = new PeerInfo(self.id(), self.incarnation(), List.copyOf(candidates));
          links.self(self);
          core.updateSelf(self);
        }));
  }

  @Override
  public boolean natTraversal() {
    return natTraversal;
  }

  @Override
  public boolean keepsHistory(StreamId stream) {
    return storage != null && storage.keeps(stream);
  }

  @Override
  public void storageNodesIntroduced(StreamId stream, List<PeerInfo> storageNodes) {
    if (historyClient != null && !turns.stopped()) historyClient.introduced(stream, storageNodes);
  }

  @Override
  public void reachability(Message.Reachability.Outcome outcome, String reachedAt, String detail) {
    if (outcome == Message.Reachability.Outcome.REFUSED) {
      reachDetail = (verdict == null ? "" : "still the last verdict; ") + "the tracker did not check: " + detail;
      return; // not a verdict: the last one stands
    }
    verdict = outcome;
    reached = reachedAt;
    reachDetail = detail;
    checkedAt = java.time.Instant.now();
    if (reached == null) log.info("a tracker could not reach this node: {}", detail);
    else log.info("a tracker reached this node at {}", reached);
  }

  @Override
  public String remoteHost(PeerId peer) {
    return links.remoteHost(peer);
  }

  @Override
  public int protocolVersion(PeerId peer) {
    return links.version(peer);
  }

  @Override
  public void punch(PeerInfo peer, Duration delay) {
    links.punch(peer, delay.toNanos());
  }

  @Override
  public void punchRefused(PeerId peer, String detail) {
    links.punchRefused(peer, detail);
  }

  @Override
  public void relay(PeerInfo peer, InetSocketAddress relay, byte[] token) {
    links.relay(peer, relay, token);
  }

  @Override
  public void every(Duration period, Runnable task) {
    turns.every(period, task);
  }

  @Override
  public void after(Duration delay, Runnable task) {
    turns.after(delay, task);
  }

  @Override
  public int neighborCount(StreamId stream) {
    return streams.neighbors(stream);
  }

  @Override
  public void dialSeed(InetSocketAddress address, PeerId pinned) {
    links.dialSeed(address, pinned);
  }

  @Override
  public boolean isLinked(PeerId peer) {
    return links.isLinked(peer);
  }

  @Override
  public void closeLink(PeerId peer) {
    links.disconnect(peer);
  }

  @Override
  public void execute(Runnable task) {
    turns.execute(task);
  }

  @Override
  public String streamName(StreamId id) {
    return streams.name(id);
  }

  @Override
  public PeerInfo self() {
    return self;
  }

  @Override
  public long nanoTime() {
    return turns.nanoTime();
  }

  public EventLoop loop() {
    return loop;
  }

  // ---- Internals ----------------------------------------------------------------------------

  private void handle(Event e) {
    if (turns.stopped()) return;
    core.handle(turns.begin(), e);
    turns.end();
  }

  /** Whether {@code host} (a literal, or a name) is {@code a}: compared as addresses, not as text. */
  private static boolean sameAddress(java.net.InetAddress a, String host) {
    // Only an IP literal is compared: a name (an advertised host may be one) would be looked up,
    // and this runs on the loop too.
    if (host.indexOf(':') < 0 && !host.chars().allMatch(ch -> ch == '.' || (ch >= '0' && ch <= '9'))) return false;
    try {
      return java.net.InetAddress.getByName(host).equals(a); // a literal parses without a lookup
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private void fire(dev.overlay.protocol.Timer timer) {
    core.handle(turns.now(), new Event.TimerFired(timer));
  }

  private void requestIntroductions(StreamId stream) {
    introducer.introduce(stream, peers -> turns.execute(() -> core.handle(turns.begin(), new Event.Introductions(stream, peers))));
  }

  private void joinOnLoop(StreamId stream, String name) {
    streams.add(stream, name);
    if (!core.isJoined(stream)) core.handle(turns.begin(), new Event.JoinStream(stream));
  }

  private void drainPublishes() {
    if (turns.stopped()) {
      publishes.failAll(completions);
      return;
    }
    boolean more = publishes.drain(publishOnLoop);
    turns.end();
    if (more) publishes.wake(); // then let IO have the loop
  }

  private void publish(PublishQueue.Publish p) {
    if (links.congested()) {
      // Checked again here: publishes queued before the backlog showed would otherwise all be
      // sent into it (up to commandQueueCapacity of them) and overflow the lanes.
      refuseForBackpressure(p.name());
      completions.complete(p.result(), PublishResult.refused(p.stream(), PublishResult.Status.QUEUE_FULL));
      return;
    }
    joinOnLoop(p.stream(), p.name());
    outbox.expectPublish(p.result());
    core.handle(turns.begin(), new Event.Publish(p.stream(), p.payload()));
    outbox.checkPublishAnswered();
  }

  /** Counts a publish refused for backpressure; the first of each pause is also an event (not one per refusal). */
  private void refuseForBackpressure(String stream) {
    publishRefused.incrementAndGet();
    backpressureRefusals.incrementAndGet();
    if (refusalReported.compareAndSet(false, true)) {
      events.offer(new TransportEvent.PublishRefused(stream, "backpressure: a neighbour cannot take what this node sends"
          + " (see OverlayNode.publishable())"));
    }
  }

  /** From here on the core hears nothing: timers, frames and publishes still reaching the loop are dropped. */
  private void stop() {
    turns.stop();
    if (historyClient != null) historyClient.stop();
    if (storage != null) storage.close(); // writes already handed over finish first
    for (CompletableFuture<Void> w : publishWaiters) completions.fail(w, new IllegalStateException("the node is closed"));
    publishWaiters.clear();
    completions.endOfTurn();
    outbox.release();
    publishes.failAll(completions);
  }

  /** After every turn: wake consumers, hand over futures, drop the encode cache. */
  private void endOfTurn() {
    streams.wakeSubscribers();
    completions.endOfTurn();
    outbox.endOfTurn();
  }

  private <T> T onLoop(Callable<T> task) throws Exception {
    if (loop.inEventLoop()) return task.call();
    return loop.submit(task).get(30, TimeUnit.SECONDS);
  }
}
