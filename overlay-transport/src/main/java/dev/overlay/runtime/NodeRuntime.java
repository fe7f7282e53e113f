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
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import dev.overlay.stream.StreamState;
import dev.overlay.transport.LinkManager;
import dev.overlay.transport.WireFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscGrowableArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node at run time: its protocol core, driven on one Netty event loop.
 *
 * <p>The node's channels are registered on the same loop, so frames reach the core without a
 * thread hop, and the core's sends reach the channels the same way. Other threads (the
 * application's publishes and subscriptions) hand commands over through a bounded queue. The
 * loop never waits: deliveries go to each subscription's bounded queue, events to the
 * listener's, and flushes are made once per loop turn.
 */
public final class NodeRuntime implements Outbox, LinkManager.Listener {

  private static final Logger log = LoggerFactory.getLogger(NodeRuntime.class);

  /** See {@code OverlayNode.ON_NODE_LOOP}. */
  public static final Executor ON_LOOP = SubscriptionQueue.ON_LOOP;

  /** Per-stream traffic, kept on the loop. */
  static final class StreamStats {
    final String name;
    long dataIn;
    long dataInBytes;
    long dataOut;
    long dataOutBytes;
    long controlIn;
    long controlInBytes;
    long controlOut;
    long controlOutBytes;
    long delivered;
    long published;
    long missedBySubscribers;
    int neighbors;
    final List<Waiter> waiters = new ArrayList<>();
    final List<SubscriptionQueue> subscriptions = new ArrayList<>();

    StreamStats(String name) {
      this.name = name;
    }
  }

  private record Waiter(int neighbors, CompletableFuture<Void> done) {}

  /** Futures waiting for neighbours, per stream: abandoned ones must not pile up. */
  private static final int MAX_WAITERS = 1024;

  /** What the application asks of the loop. */
  private interface Command {
    void run(NodeRuntime rt);
  }

  private record Publish(StreamId stream, String name, byte[] payload, CompletableFuture<PublishResult> result) implements Command {
    @Override
    public void run(NodeRuntime rt) {
      rt.publish(this);
    }
  }

  private final EventLoop loop;
  private final NodeConfig config;
  private final TransportConfig transport;
  private final NodeIdentity identity;
  private final LinkManager links;
  private final Function<NodeRuntime, IntroductionSource> introducerFactory;
  private final Executor deliveryExecutor;
  private final EventDispatcher<Object> events;
  private final Completions completions;
  /** Everything this node scheduled on its loop, cancelled when it stops: the loop may be shared and live on. */
  private final List<java.util.concurrent.Future<?>> scheduledTasks = new ArrayList<>();
  private java.util.concurrent.Future<?> timerWake;
  private final java.util.concurrent.atomic.AtomicLong subscriptionsFailed = new java.util.concurrent.atomic.AtomicLong();
  private final MessagePassingQueue<Command> commands;
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final Runnable drainCommands = this::drainCommands;
  private final Runnable pollTimers = this::pollTimers;
  private final Runnable closeTurn = this::closeTurn;
  private final Consumer<Timer> fireTimer = this::fireTimer;
  private final ByteBufAllocator alloc = LinkManager.ALLOCATOR;

  // Loop-confined state.
  private NodeState core;
  private TimerWheel timers;
  private IntroductionSource introducer;
  private PeerInfo self;
  private final Map<StreamId, StreamStats> streams = new HashMap<>();
  private final EnumMap<OverlayEvent.DropReason, Long> drops = new EnumMap<>(OverlayEvent.DropReason.class);
  private long now;
  /** A batch of received frames is being handled; it ends once the loop has read what was ready. */
  private boolean turnOpen;
  private long wakeAt = Long.MAX_VALUE;
  private final List<SubscriptionQueue> toWake = new ArrayList<>();
  private Message lastEncoded;
  /** The encoding of lastEncoded; reused for the next message unless a link still shares it. */
  private ByteBuf scratch;
  private Publish publishing;
  private long noLinkDrops;
  private volatile boolean closing;
  /** Closed or crashed: the core takes no more input (the loop may be shared and live on). Loop-confined. */
  private boolean stopped;

  // Counted off the loop too.
  private final java.util.concurrent.atomic.AtomicLong publishRefused = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong backpressureRefusals = new java.util.concurrent.atomic.AtomicLong();
  /** Whether this pause's refusals were reported (reset when the node takes publishes again). */
  private final AtomicBoolean refusalReported = new AtomicBoolean();
  private final java.util.function.LongSupplier clock;
  /** Waiting for the node to take publishes again (loop-confined). */
  private final List<CompletableFuture<Void>> publishWaiters = new ArrayList<>();

  public NodeRuntime(EventLoop loop, NodeConfig config, TransportConfig transport, NodeIdentity identity, TlsContexts tls,
      Class<? extends SocketChannel> socketChannel, Class<? extends ServerSocketChannel> serverChannel,
      Function<NodeRuntime, IntroductionSource> introducerFactory, Executor deliveryExecutor,
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
      Function<NodeRuntime, IntroductionSource> introducerFactory, Executor deliveryExecutor,
      Consumer<OverlayEvent> overlayListener, Consumer<TransportEvent> transportListener, java.util.function.LongSupplier clock) {
    this.clock = clock;
    this.loop = loop;
    this.config = config;
    this.transport = transport;
    this.identity = identity;
    this.introducerFactory = introducerFactory;
    this.deliveryExecutor = deliveryExecutor;
    // Grows (and stays grown) only as far as a burst of publishes needs; an idle node keeps a small array.
    int commandCapacity = transport.commandQueueCapacity();
    this.commands = commandCapacity >= 2048 ? new MpscGrowableArrayQueue<>(1024, commandCapacity) : new MpscArrayQueue<>(commandCapacity);
    this.links = new LinkManager(loop, transport, tls, socketChannel, serverChannel, new SplittableRandom(new SecureRandom().nextLong()), this,
        dev.overlay.wire.WireCodec.MAX_PAYLOAD_BYTES, clock);
    this.completions = new Completions(deliveryExecutor);
    this.events = new EventDispatcher<>(transport.eventQueueCapacity(), deliveryExecutor, e -> {
      if (e instanceof OverlayEvent oe) overlayListener.accept(oe);
      else transportListener.accept((TransportEvent) e);
    }, lost -> transportListener.accept(new TransportEvent.EventsDropped(lost)));
  }

  // ---- Lifecycle (call from any thread) -----------------------------------------------------

  /** Binds, then starts the core. Returns our own PeerInfo, with the address we listen on. Not on the loop. */
  public PeerInfo start(InetSocketAddress bind, String advertiseHost) throws Exception {
    if (loop.inEventLoop()) throw new IllegalStateException("start the node from outside its event loop");
    InetSocketAddress bound = links.bind(bind); // waits for the loop to bind, so not on it
    return onLoop(() -> {
      String host = advertiseHost != null ? advertiseHost : bound.getHostString();
      // The wall clock only orders this node's restarts; nothing else in the protocol reads it.
      self = new PeerInfo(identity.peerId(), System.currentTimeMillis(),
          List.of(new Candidate(Candidate.Kind.LOCAL, host, bound.getPort())));
      links.self(self);
      now = clock.getAsLong();
      timers = new TimerWheel(now);
      core = new NodeState(config, self, new SplittableRandom(new SecureRandom().nextLong()),
          new dev.overlay.identity.EcdsaSignatures(identity), this);
      introducer = introducerFactory.apply(this);
      core.start(now);
      scheduledTasks.add(loop.scheduleAtFixedRate(links::checkSlowPeers, links.slowPeerCheckNanos(), links.slowPeerCheckNanos(), TimeUnit.NANOSECONDS));
      endOfTurn();
      return self;
    });
  }

  /** Leaves every stream (telling neighbours), flushes and closes every link. */
  public void close() throws Exception {
    closing = true;
    onLoop(() -> {
      if (core != null) {
        now = clock.getAsLong();
        for (StreamState s : core.streams()) core.handle(now, new Event.LeaveStream(s.id()));
        introducer.closing();
        endOfTurn();
      }
      links.shutdownGracefully();
      for (StreamStats st : streams.values()) {
        for (SubscriptionQueue q : st.subscriptions) q.close();
      }
      stop();
      return null;
    });
  }

  /** Closes every connection at once without a word to anyone: a crash, for tests. */
  public void crash() throws Exception {
    closing = true;
    onLoop(() -> {
      links.shutdown();
      stop();
      return null;
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
    if (!commands.offer(new Publish(stream, name, payload, result))) {
      publishRefused.incrementAndGet();
      events.offer(new TransportEvent.PublishRefused(name, "command queue full (" + transport.commandQueueCapacity() + ")"));
      result.complete(PublishResult.refused(stream, PublishResult.Status.QUEUE_FULL));
      return result;
    }
    wake();
    return result;
  }

  /** Adds a subscription and joins the stream if needed. */
  public dev.overlay.Subscription subscribe(StreamId stream, String name, Executor executor, Consumer<Message.Data> handler,
      java.util.function.LongConsumer onLagged, int capacity) {
    SubscriptionQueue[] self = new SubscriptionQueue[1];
    SubscriptionQueue q = new SubscriptionQueue(capacity, executor != null ? executor : deliveryExecutor, handler, missed -> {
      events.offer(new TransportEvent.SubscriberLagged(name, missed));
      onLagged.accept(missed);
    }, refused -> {
      subscriptionsFailed.incrementAndGet();
      log.warn("closing a subscription to {}: its executor refused the handler ({})", name, refused.toString());
      events.offer(new TransportEvent.SubscriptionFailed(name, "executor refused the handler: " + refused));
      execute(() -> {
        StreamStats st = streams.get(stream);
        if (st != null) st.subscriptions.remove(self[0]);
      });
    });
    self[0] = q;
    execute(() -> {
      stats(stream, name).subscriptions.add(q);
      joinOnLoop(stream, name);
    });
    return new SubscriptionHandle(name, stream, q, this);
  }

  void unsubscribe(StreamId stream, SubscriptionQueue q) {
    q.close();
    execute(() -> {
      StreamStats st = streams.get(stream);
      if (st != null) st.subscriptions.remove(q);
      forgetIfUnused(stream);
    });
  }

  public void join(StreamId stream, String name) {
    execute(() -> joinOnLoop(stream, name));
  }

  public void leave(StreamId stream) {
    execute(() -> {
      now = clock.getAsLong();
      core.handle(now, new Event.LeaveStream(stream));
      introducer.left(stream);
      StreamStats st = streams.get(stream);
      if (st != null) st.neighbors = 0;
      forgetIfUnused(stream);
      endOfTurn();
    });
  }

  /** Completes when the stream has at least {@code n} neighbours. */
  public CompletableFuture<Void> neighbors(StreamId stream, String name, int n) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    execute(() -> {
      StreamStats st = stats(stream, name);
      st.waiters.removeIf(w -> w.done().isDone()); // given up (cancelled) or answered
      if (st.neighbors >= n) completions.complete(done, null);
      else if (st.waiters.size() >= MAX_WAITERS) done.completeExceptionally(new IllegalStateException(
          "more than " + MAX_WAITERS + " calls are waiting for neighbours of " + name + "; cancel the ones given up"));
      else st.waiters.add(new Waiter(n, done));
    });
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
      StreamStats st = streams.get(id);
      return st == null ? id.toString() : st.name;
    }

    /** Each stream's traffic, as the snapshot shows it (a stream with no traffic yet has no entry). */
    public Map<StreamId, dev.overlay.NodeSnapshot.Counters> streamCounters() {
      Map<StreamId, dev.overlay.NodeSnapshot.Counters> out = new HashMap<>();
      streams.forEach((id, st) -> out.put(id, new dev.overlay.NodeSnapshot.Counters(st.dataIn, st.dataInBytes, st.dataOut,
          st.dataOutBytes, st.controlIn, st.controlInBytes, st.controlOut, st.controlOutBytes, st.delivered, st.published,
          st.missedBySubscribers, st.neighbors)));
      return out;
    }

    public Map<String, Long> nodeCounters() {
      Map<String, Long> out = new java.util.LinkedHashMap<>(links.linkSummary());
      out.put("sends_without_link", noLinkDrops);
      out.put("publishes_refused", publishRefused.get());
      out.put("publishes_refused_backpressure", backpressureRefusals.get());
      out.put("events_dropped", events.dropped());
      out.put("subscriptions_failed", subscriptionsFailed.get());
      if (introducer != null) out.putAll(introducer.counters());
      out.put("futures_completed_on_loop", completions.completedOnLoop());
      drops.forEach((r, n) -> out.put("dropped_" + r.name().toLowerCase(java.util.Locale.ROOT), n));
      return out;
    }

    public List<LinkManager.LinkInfo> links() {
      return links.readyLinks();
    }
  }

  // ---- Outbox: the core's commands, on the loop ---------------------------------------------

  @Override
  public void send(PeerId to, Message message) {
    ByteBuf frame = encodeOnce(message);
    int bytes = frame.readableBytes();
    StreamStats st = streams.get(message.stream());
    boolean data = message instanceof Message.Data;
    if (st != null) {
      if (data) {
        st.dataOut++;
        st.dataOutBytes += bytes;
      } else {
        st.controlOut++;
        st.controlOutBytes += bytes;
      }
    }
    if (!links.send(to, frame, !data)) noLinkDrops++;
  }

  @Override
  public void connect(PeerInfo peer) {
    links.connect(peer);
  }

  @Override
  public void disconnect(PeerId peer) {
    links.disconnect(peer);
  }

  @Override
  public void schedule(Timer timer, long delayNanos) {
    timers.schedule(timer, now + delayNanos);
  }

  @Override
  public void deliver(Message.Data message) {
    StreamStats st = streams.get(message.stream());
    if (st == null) return;
    st.delivered++;
    List<SubscriptionQueue> subs = st.subscriptions;
    for (int i = 0; i < subs.size(); i++) {
      SubscriptionQueue q = subs.get(i);
      if (q.direct()) {
        q.handleNow(message);
        continue;
      }
      if (!q.offer(message)) st.missedBySubscribers++;
      if (!q.pendingWake) {
        q.pendingWake = true;
        toWake.add(q);
      }
    }
  }

  @Override
  public void emit(OverlayEvent event) {
    if (event instanceof OverlayEvent.NeighborUp e) {
      neighborsChanged(e.stream(), +1);
    } else if (event instanceof OverlayEvent.NeighborDown e) {
      neighborsChanged(e.stream(), -1);
    } else if (event instanceof OverlayEvent.Dropped d) {
      drops.merge(d.reason(), 1L, Long::sum);
    }
    events.offer(event);
  }

  @Override
  public void requestIntroductions(StreamId stream) {
    introducer.introduce(stream, peers -> execute(() -> {
      now = clock.getAsLong();
      core.handle(now, new Event.Introductions(stream, peers));
      endOfTurn();
    }));
  }

  @Override
  public void published(PublishResult result) {
    if (publishing != null) {
      StreamStats st = streams.get(result.stream());
      if (st != null && result.seq() > 0) st.published++;
      completions.complete(publishing.result(), result);
      publishing = null;
    }
  }

  // ---- LinkManager.Listener: the links' news, on the loop -----------------------------------

  @Override
  public void linkUp(PeerId peer, PeerInfo info) {
    introducer.linkUp(info);
    if (!introducer.isInfrastructure(peer)) handle(new Event.PeerConnected(peer)); // a tracker is no stream's peer
  }

  @Override
  public void linkDown(PeerId peer, String reason) {
    if (introducer != null && introducer.isInfrastructure(peer)) {
      introducer.linkDown(peer, reason);
      return;
    }
    if (core != null) handle(new Event.PeerDisconnected(peer, reason));
  }

  @Override
  public void dialFailed(PeerId peer, String reason) {
    if (core != null) handle(new Event.DialFailed(peer, reason));
  }

  @Override
  public void saturated(boolean saturated) {
    // Reported from inside a send, which may be inside the core: handed to the core afterwards.
    if (core == null || stopped) return;
    try {
      loop.execute(() -> handle(new Event.Saturated(saturated)));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the loop is shutting down: nothing will ask the core anything any more
    }
  }

  @Override
  public void peerSlow(PeerId peer) {
    if (core != null && !introducer.isInfrastructure(peer)) handle(new Event.PeerSlow(peer));
  }

  @Override
  public void peerDrained(PeerId peer) {
    // Reported from inside a send or a disconnect, which may be inside the core: handed over afterwards.
    if (core == null || stopped || introducer.isInfrastructure(peer)) return;
    try {
      loop.execute(() -> handle(new Event.PeerDrained(peer)));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the loop is shutting down: nothing will ask the core anything any more
    }
  }

  @Override
  public void uncongested() {
    refusalReported.set(false);
    if (stopped) return;
    if (publishWaiters.isEmpty()) return;
    for (CompletableFuture<Void> w : publishWaiters) completions.complete(w, null);
    publishWaiters.clear();
    completions.endOfTurn(); // hand them over now: this may come from a channel event, outside any turn
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

  /** Completes when the node takes publishes again (at once if it does now). */
  public CompletableFuture<Void> publishable() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!links.congested()) {
      done.complete(null);
      return done;
    }
    try {
      loop.execute(() -> { // not execute(): a node closed meanwhile must still answer the wait
        if (stopped) {
          completions.fail(done, new IllegalStateException("the node is closed"));
        } else if (!links.congested()) {
          completions.complete(done, null);
        } else {
          publishWaiters.removeIf(CompletableFuture::isDone);
          if (publishWaiters.size() < MAX_WAITERS) publishWaiters.add(done);
          else completions.fail(done, new IllegalStateException("more than " + MAX_WAITERS + " waits for publishable()"));
        }
        completions.endOfTurn();
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      done.completeExceptionally(new IllegalStateException("the node is closed"));
    }
    return done;
  }

  @Override
  public void received(PeerId peer, Message message, int frameBytes) {
    if (stopped) return;
    if (message instanceof Message.TrackerMessage m) {
      introducer.received(peer, m);
      return;
    }
    StreamStats st = streams.get(message.stream());
    if (st != null) {
      if (message instanceof Message.Data) {
        st.dataIn++;
        st.dataInBytes += frameBytes;
      } else {
        st.controlIn++;
        st.controlInBytes += frameBytes;
      }
    }
    // Frames read in one pass of the loop share one clock reading and one end of turn: the
    // flushes, wake-ups and timer bookkeeping then cost once per batch, not once per frame.
    if (!turnOpen) {
      turnOpen = true;
      now = clock.getAsLong();
      loop.execute(closeTurn); // runs after the loop has handled every ready channel
    }
    core.handle(now, new Event.Received(peer, message));
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

  /** For introducers: sends a tracker message on one of their links. On the loop. */
  public void sendTracker(PeerId to, Message.TrackerMessage message) {
    ByteBuf frame = encodeOnce(message);
    if (!links.send(to, frame, true)) noLinkDrops++;
  }

  /** For introducers: runs {@code task} on the loop every {@code period}, until the node closes. */
  public void every(java.time.Duration period, Runnable task) {
    scheduledTasks.add(loop.scheduleAtFixedRate(() -> {
      if (stopped) return;
      task.run();
      endOfTurn();
    }, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS));
  }

  /** For introducers: runs {@code task} on the loop once, after {@code delay}. */
  public void after(java.time.Duration delay, Runnable task) {
    scheduledTasks.removeIf(java.util.concurrent.Future::isDone); // one-shots: keep the list short
    scheduledTasks.add(loop.schedule(() -> {
      if (stopped) return;
      task.run();
      endOfTurn();
    }, delay.toNanos(), TimeUnit.NANOSECONDS));
  }

  /** For introducers: the active view size of a joined stream, 0 if not joined. On the loop. */
  public int neighborCount(StreamId stream) {
    StreamStats st = streams.get(stream);
    return st == null ? 0 : st.neighbors;
  }

  /** For introducers: dial a seed known only by its address. On the loop. */
  public void dialSeed(InetSocketAddress address) {
    links.dialSeed(address, null);
  }

  /** For introducers: dial a seed or tracker by address, refusing any key but {@code pinned} (null: any). On the loop. */
  public void dialSeed(InetSocketAddress address, PeerId pinned) {
    links.dialSeed(address, pinned);
  }

  /** For introducers: whether a ready link to the peer exists. On the loop. */
  public boolean isLinked(PeerId peer) {
    return links.isLinked(peer);
  }

  /** For introducers: closes the link to one of their peers (a tracker that stopped answering). On the loop. */
  public void closeLink(PeerId peer) {
    links.disconnect(peer);
  }

  /** Runs a task on the loop, then the end-of-turn bookkeeping. From any thread. */
  public void execute(Runnable task) {
    loop.execute(() -> {
      if (stopped) return;
      task.run();
      endOfTurn();
    });
  }

  /** The name the application gave a stream (its id's text if the stream is not in the table). On the loop. */
  String streamName(StreamId id) {
    StreamStats st = streams.get(id);
    return st == null ? id.toString() : st.name;
  }

  public PeerInfo self() {
    return self;
  }

  /** The runtime's clock (monotonic nanoseconds), for the introducers. */
  public long nanoTime() {
    return clock.getAsLong();
  }

  public EventLoop loop() {
    return loop;
  }

  // ---- Internals ----------------------------------------------------------------------------

  private void handle(Event e) {
    if (stopped) return;
    now = clock.getAsLong();
    core.handle(now, e);
    endOfTurn();
  }

  private void joinOnLoop(StreamId stream, String name) {
    stats(stream, name);
    if (!core.isJoined(stream)) {
      now = clock.getAsLong();
      core.handle(now, new Event.JoinStream(stream));
    }
  }

  private void publish(Publish p) {
    if (links.congested()) {
      // Checked again here: publishes queued before the backlog showed would otherwise all be
      // sent into it (up to commandQueueCapacity of them) and overflow the lanes.
      refuseForBackpressure(p.name());
      completions.complete(p.result(), PublishResult.refused(p.stream(), PublishResult.Status.QUEUE_FULL));
      return;
    }
    joinOnLoop(p.stream(), p.name());
    publishing = p;
    now = clock.getAsLong();
    core.handle(now, new Event.Publish(p.stream(), p.payload()));
    if (publishing != null) { // the core always answers; this is only a safety net
      completions.fail(publishing.result(), new IllegalStateException("the core gave no publish result"));
      publishing = null;
    }
  }

  /**
   * A stream neither joined nor subscribed to leaves the table, so that an application cycling
   * through stream names does not grow it with uptime (its counters went with the stream).
   */
  private void forgetIfUnused(StreamId stream) {
    StreamStats st = streams.get(stream);
    if (st == null || !st.subscriptions.isEmpty() || core.isJoined(stream)) return;
    st.waiters.removeIf(w -> w.done().isDone());
    if (st.waiters.isEmpty()) streams.remove(stream);
  }

  private StreamStats stats(StreamId stream, String name) {
    return streams.computeIfAbsent(stream, k -> new StreamStats(name));
  }

  private void neighborsChanged(StreamId stream, int delta) {
    StreamStats st = streams.get(stream);
    if (st == null) return;
    st.neighbors = Math.max(0, st.neighbors + delta);
    if (delta > 0 && !st.waiters.isEmpty()) {
      st.waiters.removeIf(w -> {
        if (w.done().isDone()) return true;
        if (st.neighbors >= w.neighbors()) {
          completions.complete(w.done(), null);
          return true;
        }
        return false;
      });
    }
  }

  /**
   * Encodes a message once, however many peers it goes to: each link copies the bytes into its
   * batch (or, for a large frame, keeps a shared duplicate). The buffer is reused for the next
   * message unless a link still holds a duplicate of it, so small messages allocate nothing.
   */
  private ByteBuf encodeOnce(Message m) {
    if (m != lastEncoded) {
      if (scratch == null || scratch.refCnt() > 1) {
        if (scratch != null) scratch.release();
        scratch = alloc.directBuffer(512);
      }
      scratch.clear();
      WireFrames.encodeInto(scratch, m);
      lastEncoded = m;
    }
    return scratch;
  }

  /** From here on the core hears nothing: timers, frames and commands still reaching the loop are dropped. */
  private void stop() {
    stopped = true;
    for (java.util.concurrent.Future<?> f : scheduledTasks) f.cancel(false);
    scheduledTasks.clear();
    if (timerWake != null) timerWake.cancel(false);
    for (CompletableFuture<Void> w : publishWaiters) completions.fail(w, new IllegalStateException("the node is closed"));
    publishWaiters.clear();
    completions.endOfTurn();
    if (scratch != null) {
      scratch.release();
      scratch = null;
    }
    lastEncoded = null;
    failQueuedCommands();
  }

  private void failQueuedCommands() {
    for (Command c = commands.poll(); c != null; c = commands.poll()) {
      if (c instanceof Publish p) completions.fail(p.result(), new IllegalStateException("the node is closed"));
    }
    completions.endOfTurn();
  }

  private void wake() {
    if (drainScheduled.compareAndSet(false, true)) loop.execute(drainCommands);
  }

  private void drainCommands() {
    drainScheduled.set(false);
    if (stopped) {
      failQueuedCommands();
      return;
    }
    for (int i = 0; i < 4096; i++) { // then let IO have the loop
      Command c = commands.poll();
      if (c == null) break;
      c.run(this);
    }
    endOfTurn();
    if (!commands.isEmpty()) wake();
  }

  private void closeTurn() {
    turnOpen = false;
    if (!stopped) endOfTurn();
  }

  private void pollTimers() {
    if (stopped) return;
    wakeAt = Long.MAX_VALUE;
    now = clock.getAsLong();
    timers.poll(now, fireTimer);
    endOfTurn();
  }

  private void fireTimer(Timer t) {
    core.handle(now, new Event.TimerFired(t));
  }

  /** After every piece of work on the loop: wake consumers, drop the encode cache, arrange the next timer wake-up. */
  private void endOfTurn() {
    for (int i = 0; i < toWake.size(); i++) {
      SubscriptionQueue q = toWake.get(i);
      q.pendingWake = false;
      q.wake();
    }
    toWake.clear();
    completions.endOfTurn();
    lastEncoded = null; // a message object may be reused by the core; never trust an old encoding
    if (timers == null || stopped) return;
    long next = timers.nextDeadline();
    if (next < wakeAt) {
      wakeAt = next;
      if (timerWake != null) timerWake.cancel(false); // superseded by the earlier deadline
      timerWake = loop.schedule(pollTimers, Math.max(0, next - clock.getAsLong()), TimeUnit.NANOSECONDS);
    }
  }

  private <T> T onLoop(Callable<T> task) throws Exception {
    if (loop.inEventLoop()) return task.call();
    return loop.submit(task).get(30, TimeUnit.SECONDS);
  }
}
