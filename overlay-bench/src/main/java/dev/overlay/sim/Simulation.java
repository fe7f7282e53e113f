package dev.overlay.sim;

import dev.overlay.broadcast.CacheLayout;
import dev.overlay.config.NodeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.core.testing.TestKeys;
import dev.overlay.node.NodeState;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Timer;
import java.util.AbstractList;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A deterministic discrete-event simulation of many nodes running the real
 * {@link NodeState}, over virtual links with latency, loss, partitions and crashes.
 *
 * <p>Everything random comes from the scenario's seed: the same {@link SimConfig} gives the
 * same run, event for event. Links follow the contract of {@link dev.overlay.protocol.Outbox}: a
 * dial takes a round trip, messages on a link arrive in order after the link's latency, a
 * closed or crashed end is noticed by the other end one latency later, and a partition is
 * noticed after the keep-alive timeout.
 */
public final class Simulation {

  private final SimConfig config;
  private final NodeConfig nodeConfig;
  private final TestKeys keys;
  private final LatencyModel latency;
  private final SplittableRandom rng;
  private final SimIntroducer introducer;
  private final EventQueue queue = new EventQueue();
  private final SimNode[] nodes;
  private final Map<PeerId, SimNode> byId = new HashMap<>();
  /** The streams; node i is in streams[i % streams.length]. One stream keeps the name "sim". */
  private final StreamId[] streams;
  private final Members[] members;
  private final SimMetrics metrics;
  private final IntroductionContext introductionContext = new IntroductionContext();
  private SimTracer tracer;

  private long now;
  private long events;
  private boolean quiescing;
  private byte[] partitionSide; // null when the network is whole
  private long publishStart;
  private long crashTime = -1;
  private long healTime = -1;
  private long cutTime = -1;
  private byte[] cutSides; // the partition's sides, kept after the heal for the report
  private int crashedForGood;
  private int churnCrashes;

  public Simulation(SimConfig config) {
    this(config, null);
  }

  /** @param introducer how nodes learn members; null for random live members. */
  public Simulation(SimConfig config, SimIntroducer introducer) {
    this.config = config;
    this.keys = new TestKeys(config.seed() ^ 0x5EA15L);
    this.nodeConfig = config.nodeConfig();
    this.latency = LatencyModel.parse(config.latency(), config.seed(), config.nodes());
    this.rng = new SplittableRandom(config.seed());
    this.introducer = introducer != null ? introducer
        : SimIntroducer.randomMembers(config.introductionCount(), 2 * config.introductionDelayMs() * 1_000_000);
    this.nodes = new SimNode[config.nodes()];
    this.streams = new StreamId[config.streams()];
    this.members = new Members[config.streams()];
    for (int i = 0; i < streams.length; i++) {
      streams[i] = StreamId.of(streams.length == 1 ? "sim" : "sim/" + i);
      members[i] = new Members(config.nodes());
    }
    SplittableRandom idRng = rng.split();
    for (int i = 0; i < nodes.length; i++) {
      SimNode n = new SimNode(i, PeerId.random(idRng), this);
      nodes[i] = n;
      byId.put(n.id, n);
    }
    this.metrics = new SimMetrics(this, config);
  }

  /** Watches every message and event; for debugging. Call before {@link #run()}. */
  public Simulation trace(SimTracer tracer) {
    this.tracer = tracer;
    return this;
  }

  /** The simulator index of the node with this id, or -1. */
  public int indexOf(PeerId id) {
    SimNode n = byId.get(id);
    return n == null ? -1 : n.index;
  }

  /** Runs the whole scenario and reports on it. */
  public SimReport run() {
    scheduleScenario();
    long quiesceAt = publishStart + config.publishingMs() * 1_000_000 + config.drainMs() * 1_000_000;
    runUntil(quiesceAt);
    // Quiesce: periodic timers stop rescheduling, so what is in flight can finish.
    quiescing = true;
    runUntil(quiesceAt + 120_000_000_000L);
    List<String> violations = InvariantChecker.check(this);
    return metrics.report(violations);
  }

  // ---- Accessors for metrics, invariants and introducers -----------------------------------

  SimConfig config() {
    return config;
  }

  SimMetrics metrics() {
    return metrics;
  }

  long now() {
    return now;
  }

  long events() {
    return events;
  }

  SimNode[] nodes() {
    return nodes;
  }

  SimNode node(PeerId id) {
    return byId.get(id);
  }

  /** The stream node {@code index} is in. */
  StreamId streamOf(int index) {
    return streams[index % streams.length];
  }

  int streamIndexOf(int index) {
    return index % streams.length;
  }

  LatencyModel latency() {
    return latency;
  }

  long publishStart() {
    return publishStart;
  }

  /** When the partition started, or -1. */
  long cutTime() {
    return cutTime;
  }

  /** Each node's side of the partition (0: the publishers'), or null when there was none. */
  byte[] cutSides() {
    return cutSides;
  }

  /** When the partition ended, or -1. */
  long healTime() {
    return healTime;
  }

  long crashTime() {
    return crashTime;
  }

  int crashedForGood() {
    return crashedForGood;
  }

  int churnCrashes() {
    return churnCrashes;
  }

  // ---- The scenario -----------------------------------------------------------------------

  private void scheduleScenario() {
    long ms = 1_000_000;
    long window = config.joinWindowMs() * ms;
    for (SimNode n : nodes) {
      long at = window == 0 ? 0 : (long) (rng.nextDouble() * window);
      at(at, () -> boot(n));
    }
    publishStart = window + config.settleMs() * ms;
    // Publishers: the first nodes by index; ids are random, so this is a random choice.
    for (int p = 0; p < config.publishers(); p++) nodes[p].publisher = true;
    byte[] payload = new byte[config.payloadBytes()];
    double interval = 1e9 / config.ratePerSecond();
    for (int k = 0; k < config.messages(); k++) {
      int msg = k;
      SimNode publisher = nodes[k % config.publishers()];
      at(publishStart + (long) (k * interval), () -> publish(msg, publisher, payload));
    }
    if (config.crashFraction() > 0) {
      long t = publishStart + config.effectiveCrashAtMs() * ms;
      at(t, this::crashFraction);
    }
    if (config.churnPerSecond() > 0) {
      scheduleChurn(publishStart, publishStart + config.publishingMs() * ms);
    }
    if (config.partitionFraction() > 0) {
      long start = publishStart + (config.partitionAtMs() >= 0 ? config.partitionAtMs() : config.publishingMs() / 2) * ms;
      at(start, this::startPartition);
      at(start + config.partitionMs() * ms, () -> {
        partitionSide = null;
        healTime = now;
      });
    }
  }

  private void boot(SimNode n) {
    n.incarnation++;
    n.alive = true;
    SplittableRandom nodeRng = new SplittableRandom(mix(config.seed(), n.index, n.incarnation));
    // Thousands of nodes share each message object here: caches keep the objects, not copies.
    n.core = new NodeState(nodeConfig, n.info(), nodeRng, keys.of(n.id), n, CacheLayout.SHARED_OBJECTS);
    n.readyAt = Long.MAX_VALUE;
    n.joinRequestedAt = now;
    n.core.start(now);
    members[streamIndexOf(n.index)].addNode(n.index);
    if (config.resume() && n.deliveredRuns == null) n.deliveredRuns = new java.util.HashMap<>();
    n.orderCheck = config.resume() && n.restarts > 0 ? new java.util.HashMap<>() : null;
    dev.overlay.core.StartAt start = config.resume() && n.restarts > 0
        ? dev.overlay.core.StartAt.after(n.resumePositions()).orLatest(dev.overlay.core.StartAt.MAX_LATEST)
        : dev.overlay.core.StartAt.live();
    handle(n, new Event.JoinStream(streamOf(n.index), null, start));
  }

  private void publish(int msg, SimNode publisher, byte[] payload) {
    if (!publisher.alive) return;
    if (publisher.congestedLinks > 0) { // backpressured: refused at the publisher (QUEUE_FULL), never numbered
      metrics.publishesRefused++;
      return;
    }
    metrics.beforePublish(msg, publisher, now);
    handle(publisher, new Event.Publish(streamOf(publisher.index), payload));
  }

  private void crashFraction() {
    crashTime = now;
    List<SimNode> candidates = new ArrayList<>();
    for (SimNode n : nodes) {
      if (n.alive && !n.publisher) candidates.add(n);
    }
    int count = (int) Math.round(config.crashFraction() * (nodes.length - config.publishers()));
    for (int i = 0; i < count && !candidates.isEmpty(); i++) {
      SimNode victim = candidates.remove(rng.nextInt(candidates.size()));
      crash(victim);
      victim.crashedForGood = true;
      crashedForGood++;
    }
  }

  private void scheduleChurn(long from, long until) {
    double meanGapNanos = 1e9 / config.churnPerSecond();
    long t = from + (long) (-Math.log(1 - rng.nextDouble()) * meanGapNanos);
    while (t < until) {
      at(t, () -> {
        SimNode victim = nodes[config.publishers() + rng.nextInt(nodes.length - config.publishers())];
        if (!victim.alive) return;
        crash(victim);
        churnCrashes++;
        at(now + config.churnDowntimeMs() * 1_000_000, () -> {
          if (!victim.crashedForGood) {
            victim.restarts++;
            boot(victim);
          }
        });
      });
      t += (long) (-Math.log(1 - rng.nextDouble()) * meanGapNanos);
    }
  }

  private void startPartition() {
    partitionSide = new byte[nodes.length];
    for (SimNode n : nodes) {
      if (!n.publisher && rng.nextDouble() < config.partitionFraction()) partitionSide[n.index] = 1;
    }
    cutTime = now;
    cutSides = partitionSide;
    // Links across the cut go quiet; each end notices after the keep-alive timeout.
    long detect = config.keepAliveTimeoutMs() * 1_000_000;
    for (SimNode n : nodes) {
      for (SimLink l : n.links.values()) {
        if (partitioned(n, l.other(n))) at(now + detect, () -> linkDownIfPartitioned(l, n));
      }
    }
  }

  private void linkDownIfPartitioned(SimLink l, SimNode end) {
    if (partitioned(end, l.other(end))) linkDown(l, end, "keep-alive timeout");
  }

  private void crash(SimNode n) {
    n.alive = false;
    n.busyUntil = 0;
    n.forcedReading = false;
    n.paused = null;
    n.cpuQueue.clear();
    n.cpuArmed = false;
    n.toldSaturated = false;
    for (SimLink l : n.links.values()) {
      releaseCongestion(l, n);
      l.setState(n, SimLink.CLOSED);
      SimNode other = l.other(n);
      at(now + lat(n, other), () -> linkDown(l, other, "connection reset"));
    }
    n.links.clear();
    n.core = null;
    members[streamIndexOf(n.index)].removeNode(n.index);
  }

  // ---- Links: the Outbox contract ---------------------------------------------------------

  void send(SimNode from, PeerId to, Message m) {
    from.sendsThisTurn++;
    metrics.onSend(from, m, now);
    if (tracer != null) tracer.sent(now, from.index, indexOf(to), m);
    SimLink l = from.links.get(to);
    if (l == null) {
      metrics.noLinkDrops++;
      return;
    }
    int state = l.state(from);
    if (state == SimLink.PENDING) {
      l.enqueue(from, m);
    } else {
      transmit(l, from, l.other(from), m);
    }
  }

  private void transmit(SimLink l, SimNode from, SimNode to, Message m) {
    if (partitioned(from, to)) {
      metrics.partitionDrops++;
      return;
    }
    if (config.lossRate() > 0 && rng.nextDouble() < config.lossRate()) {
      metrics.lossDrops++;
      return;
    }
    if (config.backpressureWindow() > 0 && l.unread(to, +1) >= config.backpressureWindow() && !l.congestedTowards(to)) {
      congestion(l, from, to, true);
    }
    queue.add(now + l.latencyNanos, new Arrival(l, to, from.id, m));
  }

  // ---- The service-time model (off unless SimConfig#serviceModelled) ------------------------

  /** TransportConfig's default maxPause, which the runtime's slow-peer policy counts in. */
  private static final long MAX_PAUSE_NANOS = 1_000_000_000L;

  /**
   * {@code sender}'s link to {@code receiver} became congested, or drained to half its window.
   * A node with any congested link takes messages only from the peers it is congested towards,
   * and refuses publishes; the core hears it as {@link Event.Saturated}, as from the runtime.
   */
  private void congestion(SimLink l, SimNode sender, SimNode receiver, boolean on) {
    l.congestedTowards(receiver, on);
    int episode = l.congestionEpisode(receiver, on ? 1 : 0);
    if (on) {
      if (sender.congestedLinks++ == 0) {
        metrics.backpressurePauses++;
        tellSaturation(sender);
        int pause = ++sender.pauseEpisode;
        at(now + 10 * MAX_PAUSE_NANOS, () -> forceReading(sender, pause));
      }
      release(sender, l); // it reads the peer it is congested towards again, from where it stopped
      at(now + MAX_PAUSE_NANOS, () -> demoteIfAlone(l, sender, receiver, episode));
    } else {
      if (l.demotedTowards(receiver)) {
        l.demotedTowards(receiver, false);
        if (sender.alive) at(now, () -> { if (sender.alive) handle(sender, new Event.PeerDrained(receiver.id)); });
      }
      if (--sender.congestedLinks == 0) {
        sender.forcedReading = false;
        tellSaturation(sender);
        release(sender, null);
      }
    }
  }

  /**
   * As the runtime's slow-peer check: a link that alone has held the node paused for
   * {@code maxPause} has its peer taken off the eager path (it still counts for backpressure).
   */
  private void demoteIfAlone(SimLink l, SimNode sender, SimNode receiver, int episode) {
    if (!sender.alive || !l.congestedTowards(receiver) || l.congestionEpisode(receiver, 0) != episode) return; // stale
    if (l.demotedTowards(receiver)) return;
    if (sender.congestedLinks != 1) { // several at once: overload, not one slow peer; looked at again, as the runtime does
      at(now + MAX_PAUSE_NANOS / 4, () -> demoteIfAlone(l, sender, receiver, episode));
      return;
    }
    l.demotedTowards(receiver, true);
    metrics.slowPeerDemotions++;
    handle(sender, new Event.PeerSlow(receiver.id));
  }

  /** As the runtime's backstop: a pause ten times {@code maxPause} long ends by reading again. */
  private void forceReading(SimNode n, int pause) {
    if (!n.alive || n.pauseEpisode != pause || n.congestedLinks == 0 || n.forcedReading) return; // stale
    n.forcedReading = true;
    metrics.forcedResumes++;
    tellSaturation(n); // reading again: the core answers GRAFTs again, as the runtime's resume tells it
    release(n, null);
  }

  /**
   * Lets {@code n} read what it held from link {@code l} (every link when null): to the front of
   * its CPU queue, in order, since nothing there from the same link is older.
   */
  private void release(SimNode n, SimLink l) {
    if (n.paused == null) return;
    List<Arrival> released = new ArrayList<>();
    java.util.Iterator<Arrival> it = n.paused.iterator();
    while (it.hasNext()) {
      Arrival a = it.next();
      if (l != null && a.link != l) continue;
      it.remove();
      a.link.held(n, -1);
      released.add(a);
    }
    if (n.paused.isEmpty()) n.paused = null;
    if (released.isEmpty()) return;
    for (int i = released.size() - 1; i >= 0; i--) n.cpuQueue.addFirst(released.get(i));
    scheduleCpu(n);
  }

  /** Arms the node's one "CPU free" event, when it has work waiting and none is armed. */
  private void scheduleCpu(SimNode n) {
    if (n.inHandler || n.cpuArmed || n.cpuQueue.isEmpty()) return; // in a handler: armed once its cost is known
    n.cpuArmed = true;
    long incarnation = n.incarnation;
    at(Math.max(now, n.busyUntil), () -> {
      if (n.incarnation != incarnation) return; // a crash emptied the queue
      n.cpuArmed = false;
      serveNext(n);
    });
  }

  /**
   * The node's CPU is free: it takes the oldest message waiting, unless the node is not reading
   * that message's link (backpressure), in which case the message is held, and so is everything
   * after it from the same link.
   */
  private void serveNext(SimNode n) {
    while (!n.cpuQueue.isEmpty()) {
      Arrival a = n.cpuQueue.pollFirst();
      SimLink link = a.link;
      if (link.state(n) != SimLink.OPEN) {
        metrics.staleDrops++;
        continue;
      }
      boolean notReading = n.congestedLinks > 0 && !n.forcedReading && !link.congestedTowards(link.other(n));
      if (notReading || link.held(n, 0) > 0) {
        if (n.paused == null) n.paused = new ArrayDeque<>();
        n.paused.add(a);
        link.held(n, +1);
        continue;
      }
      a.deliver(); // handle() charges the CPU for it
      int window = config.backpressureWindow();
      if (window > 0 && link.unread(n, -1) <= window / 2 && link.congestedTowards(n)) {
        congestion(link, link.other(n), n, false);
      }
      break;
    }
    scheduleCpu(n);
  }

  /** Tells the core, after the handler that caused it (never from inside one), as the runtime does. */
  private void tellSaturation(SimNode n) {
    long incarnation = n.incarnation;
    at(now, () -> {
      boolean saturated = n.congestedLinks > 0 && !n.forcedReading;
      if (n.alive && n.incarnation == incarnation && n.toldSaturated != saturated) {
        n.toldSaturated = saturated;
        handle(n, new Event.Saturated(saturated));
      }
    });
  }

  /** This end of the link is closing: its own congestion towards the other end ends with it. */
  private void releaseCongestion(SimLink l, SimNode end) {
    SimNode other = l.other(end);
    if (l.congestedTowards(other)) congestion(l, end, other, false);
  }

  /** A message reaching the far end of a link. */
  final class Arrival extends EventQueue.Entry {
    private final SimLink link;
    private final SimNode to;
    private final PeerId from;
    private final Message message;

    Arrival(SimLink link, SimNode to, PeerId from, Message message) {
      this.link = link;
      this.to = to;
      this.from = from;
      this.message = message;
    }

    @Override
    void fire() {
      if (link.state(to) != SimLink.OPEN) {
        metrics.staleDrops++; // the receiving end closed, crashed or moved on
        return;
      }
      if (config.serviceModelled()) {
        to.cpuQueue.addLast(this); // one CPU: served in order of arrival (serveNext)
        scheduleCpu(to);
        return;
      }
      deliver();
    }

    void deliver() {
      metrics.onReceive(to, message);
      if (tracer != null) tracer.received(now, to.index, link.other(to).index, message);
      handle(to, new Event.Received(from, message));
    }
  }

  void dial(SimNode from, PeerId target) {
    if (from.links.containsKey(target)) return;
    SimNode to = byId.get(target);
    if (to == null) {
      at(now, () -> handle(from, new Event.DialFailed(target, "unknown peer")));
      return;
    }
    SimLink theirs = to.links.get(from.id);
    if (theirs != null && theirs.dialer == to && theirs.state(from) == SimLink.PENDING) {
      from.links.put(to.id, theirs); // simultaneous dial: both ends share the one link
      return;
    }
    SimLink l = new SimLink(from, to, lat(from, to));
    from.links.put(to.id, l);
    at(now + lat(from, to), () -> dialArrives(l));
  }

  private void dialArrives(SimLink l) {
    SimNode a = l.dialer;
    SimNode b = l.acceptor;
    if (l.state(a) == SimLink.CLOSED) { // the dialler gave up or crashed on the way
      if (b.links.get(a.id) == l) linkDown(l, b, "peer went away during the handshake");
      return;
    }
    long back = lat(a, b);
    if (!b.alive) {
      at(now + back, () -> dialFails(l, "connection refused"));
      return;
    }
    if (partitioned(a, b)) {
      at(now + Math.max(back, config.dialTimeoutMs() * 1_000_000 - back), () -> dialFails(l, "dial timed out"));
      return;
    }
    SimLink existing = b.links.get(a.id);
    if (existing != null && existing != l) linkDown(existing, b, "superseded by a new link");
    b.links.put(a.id, l);
    at(now + back, () -> dialAcknowledged(l)); // before b's handler runs, so it arrives first
    l.setState(b, SimLink.OPEN);
    handle(b, new Event.PeerConnected(a.id));
    roundTripLater(l, b, 2 * back);
    flush(l, b);
  }

  private void dialAcknowledged(SimLink l) {
    SimNode a = l.dialer;
    if (a.links.get(l.acceptor.id) != l || l.state(a) != SimLink.PENDING) return;
    l.setState(a, SimLink.OPEN);
    handle(a, new Event.PeerConnected(l.acceptor.id));
    roundTripLater(l, a, 2 * l.latencyNanos);
    flush(l, a);
  }

  /** The transport's PING at link-up is answered one round trip later, if the link still stands. */
  private void roundTripLater(SimLink l, SimNode end, long rtt) {
    long incarnation = end.incarnation;
    SimNode other = l.other(end);
    at(now + rtt, () -> {
      if (end.alive && end.incarnation == incarnation && end.links.get(other.id) == l && l.state(end) == SimLink.OPEN) {
        handle(end, new Event.RoundTrip(other.id, rtt));
      }
    });
  }

  private void dialFails(SimLink l, String reason) {
    linkDown(l, l.dialer, reason);
    linkDown(l, l.acceptor, reason); // an end attached by a simultaneous dial fails too
  }

  private void flush(SimLink l, SimNode end) {
    ArrayDeque<Message> q = l.takeQueue(end);
    if (q == null) return;
    SimNode other = l.other(end);
    for (Message m : q) transmit(l, end, other, m);
  }

  /** The core closed its end; the other end hears of it one latency later. */
  void close(SimNode from, PeerId peer, String reason) {
    SimLink l = from.links.remove(peer);
    if (l == null) return;
    releaseCongestion(l, from);
    l.setState(from, SimLink.CLOSED);
    SimNode other = l.other(from);
    at(now + lat(from, other), () -> linkDown(l, other, reason));
  }

  /** This end of the link is gone: tell the node's core, unless it has moved on already. */
  private void linkDown(SimLink l, SimNode end, String reason) {
    if (!end.alive || end.links.get(l.other(end).id) != l) return;
    end.links.remove(l.other(end).id);
    releaseCongestion(l, end);
    int previous = l.state(end);
    l.setState(end, SimLink.CLOSED);
    PeerId peer = l.other(end).id;
    handle(end, previous == SimLink.OPEN ? new Event.PeerDisconnected(peer, reason) : new Event.DialFailed(peer, reason));
  }

  // ---- Timers, introductions, events ------------------------------------------------------

  void scheduleTimer(SimNode node, Timer timer, long delayNanos) {
    long incarnation = node.incarnation;
    queue.add(now + delayNanos, new EventQueue.Entry() {
      @Override
      void fire() {
        if (!node.alive || node.incarnation != incarnation) return;
        if (quiescing && isPeriodic(timer)) return;
        handle(node, new Event.TimerFired(timer));
      }
    });
  }

  private static boolean isPeriodic(Timer t) {
    return t instanceof Timer.RepairTick || t instanceof Timer.ShuffleTick || t instanceof Timer.ReintroductionTick
        || t instanceof Timer.ChurnTick || t instanceof Timer.Housekeeping;
  }

  void requestIntroductions(SimNode node, StreamId s) {
    metrics.introductionRequests++;
    if (config.trackersOneSide() && partitionSide != null && partitionSide[node.index] == 1) {
      metrics.introductionsCutOff++; // the trackers are on the other side: no answer
      return;
    }
    introducer.request(introductionContext, node.index, s);
  }

  private final class IntroductionContext implements SimIntroducer.Context {
    @Override
    public long now() {
      return now;
    }

    @Override
    public java.util.random.RandomGenerator random() {
      return rng;
    }

    @Override
    public List<Integer> members(StreamId s) {
      for (int i = 0; i < streams.length; i++) {
        if (streams[i].equals(s)) return members[i];
      }
      return List.of();
    }

    @Override
    public PeerInfo info(int node) {
      return nodes[node].info();
    }

    @Override
    public void answer(int node, StreamId s, List<Integer> peers, long delayNanos) {
      SimNode n = nodes[node];
      long incarnation = n.incarnation;
      List<PeerInfo> infos = new ArrayList<>(peers.size());
      for (int p : peers) infos.add(nodes[p].info());
      at(now + delayNanos, () -> {
        if (n.alive && n.incarnation == incarnation) handle(n, new Event.Introductions(s, infos));
      });
    }
  }

  void onNodeEvent(SimNode node, OverlayEvent event) {
    if (event instanceof OverlayEvent.NeighborUp && node.readyAt == Long.MAX_VALUE) {
      node.readyAt = now;
      if (node.firstReadyAt == Long.MAX_VALUE) node.firstReadyAt = now;
      metrics.onJoined(node, now - node.joinRequestedAt);
    }
    metrics.onEvent(event, now);
    if (tracer != null) tracer.event(now, node.index, event);
  }

  // ---- Engine -----------------------------------------------------------------------------

  private void handle(SimNode node, Event event) {
    events++;
    if (!config.serviceModelled()) {
      node.core.handle(now, event);
      return;
    }
    // Every handler costs the node's CPU what it sends (and a received message its intake);
    // what waits for the CPU is served once this is paid for.
    node.sendsThisTurn = 0;
    node.inHandler = true;
    node.core.handle(now, event);
    node.inHandler = false;
    long cost = node.sendsThisTurn * config.cpuSendNanos() + (event instanceof Event.Received ? config.cpuReceiveNanos() : 0);
    node.busyUntil = Math.max(node.busyUntil, now) + cost;
    scheduleCpu(node);
  }

  private void at(long time, Runnable action) {
    queue.add(time, new EventQueue.Entry() {
      @Override
      void fire() {
        action.run();
      }
    });
  }

  private void runUntil(long until) {
    while (queue.peekTime() <= until) {
      EventQueue.Entry e = queue.poll();
      now = queue.lastPolledTime();
      e.fire();
    }
  }

  long lat(SimNode a, SimNode b) {
    return latency.latencyNanos(a.index, b.index);
  }

  private boolean partitioned(SimNode a, SimNode b) {
    return partitionSide != null && partitionSide[a.index] != partitionSide[b.index];
  }

  private static long mix(long seed, long a, long b) {
    long z = seed ^ (a * 0x9E3779B97F4A7C15L) ^ (b * 0xC2B2AE3D27D4EB4FL);
    z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
    return z ^ (z >>> 33);
  }

  /** Live members of the stream, with O(1) add and remove and a list view for introducers. */
  private static final class Members extends AbstractList<Integer> {
    private final int[] items;
    private final int[] position;
    private int size;

    Members(int capacity) {
      items = new int[capacity];
      position = new int[capacity];
      Arrays.fill(position, -1);
    }

    void addNode(int node) {
      if (position[node] >= 0) return;
      position[node] = size;
      items[size++] = node;
    }

    void removeNode(int node) {
      int p = position[node];
      if (p < 0) return;
      int last = items[--size];
      items[p] = last;
      position[last] = p;
      position[node] = -1;
    }

    @Override
    public Integer get(int index) {
      if (index >= size) throw new IndexOutOfBoundsException(index);
      return items[index];
    }

    @Override
    public int size() {
      return size;
    }
  }
}
