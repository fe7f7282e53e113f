package dev.overlay.bench;

import dev.overlay.MessageHandler;
import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.Subscription;
import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.identity.TlsContexts;
import dev.overlay.protocol.Message;
import dev.overlay.report.Json;
import dev.overlay.tracker.TrackerConfig;
import dev.overlay.tracker.TrackerServer;
import dev.overlay.tracker.TrackerState;
import dev.overlay.transport.LinkManager;
import dev.overlay.transport.WireFrames;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The tracker's figures: join requests per second, bytes per registration, subscribe to first message. */
@Command(
    name = "tracker-bench",
    mixinStandardHelpOptions = true,
    description = {
      "1. Join requests per second: one tracker on 127.0.0.1, --clients TLS clients each keeping --window",
      "   registrations with want_peers in flight, over --streams streams (per-node rate limit lifted: capacity is measured).",
      "2. Heap per (node, stream) registration: --registrations in one TrackerState, weighed after GC.",
      "3. subscribe() to first delivered message: a network of --nodes with a publisher at 100 msg/s; new nodes",
      "   subscribe --joins times through the tracker."
    })
final class TrackerBenchCommand implements Callable<Integer> {

  @Option(names = "--clients", defaultValue = "16", description = "Load clients, each with its own identity (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--window", defaultValue = "64", description = "Requests in flight per client (default ${DEFAULT-VALUE}).")
  int window;

  @Option(names = "--streams", defaultValue = "1000", description = "Streams the clients register in (default ${DEFAULT-VALUE}).")
  int streams;

  @Option(names = "--duration", defaultValue = "10", description = "Seconds of load measured, after 3 s of warm-up (default ${DEFAULT-VALUE}).")
  double duration;

  @Option(names = "--warmup", defaultValue = "3", description = "Seconds of load before measuring (default ${DEFAULT-VALUE}).")
  double warmupS;

  @Option(names = "--registrations", defaultValue = "200000", description = "Registrations weighed (default ${DEFAULT-VALUE}).")
  int registrations;

  @Option(names = "--nodes", defaultValue = "10", description = "Nodes already in the stream for the subscribe test (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--joins", defaultValue = "10", description = "New subscribers timed (default ${DEFAULT-VALUE}).")
  int joins;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    double joinsPerSecond = joinRate();
    double bytesPerRegistration = memory();
    double[] firstMessage = subscribeToFirstMessage();
    System.out.printf(Locale.ROOT, "%njoin requests answered: %,.0f /s (%d clients, %d in flight each, %d streams)%n",
        joinsPerSecond, clients, window, streams);
    System.out.printf(Locale.ROOT, "heap per registration: %.0f bytes (%,d registrations)%n", bytesPerRegistration, registrations);
    System.out.printf(Locale.ROOT, "subscribe() to first message: p50 %.0f ms, max %.0f ms (%d joins)%n", firstMessage[0], firstMessage[1], joins);
    if (json != null) {
      Files.writeString(json, Json.object().put("joins_per_s", Math.round(joinsPerSecond)).put("clients", clients)
          .put("window", window).put("bytes_per_registration", Math.round(bytesPerRegistration))
          .put("registrations", registrations).put("subscribe_to_first_ms_p50", firstMessage[0])
          .put("subscribe_to_first_ms_max", firstMessage[1]).toString(), StandardCharsets.UTF_8);
      System.out.println("JSON written to " + json);
    }
    return 0;
  }

  // ---- 1. Join rate -------------------------------------------------------------------------

  private double joinRate() throws Exception {
    TrackerConfig config = TrackerConfig.builder().requestsPerSecond(1e9).requestBurst(1_000_000).build();
    TransportConfig transport = TransportConfig.defaults();
    boolean epoll = transport.nativeTransport() && Epoll.isAvailable();
    TrackerServer tracker = new TrackerServer(config, NodeIdentity.generate(), transport)
        .start(new InetSocketAddress("127.0.0.1", 0), null, -1);
    MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    AtomicLong answered = new AtomicLong();
    CountDownLatch up = new CountDownLatch(clients);
    List<Client> all = new ArrayList<>();
    try {
      for (int i = 0; i < clients; i++) {
        Client c = new Client(group.next(), transport, epoll, tracker.address(), answered, up, i);
        all.add(c);
      }
      if (!up.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("clients did not connect to the tracker");
      System.out.printf(Locale.ROOT, "Load: %d clients on one tracker; warming up %.0f s, then measuring %.0f s...%n", clients, warmupS, duration);
      sleepNanos((long) (warmupS * 1e9));
      long a0 = answered.get();
      long t0 = System.nanoTime();
      sleepNanos((long) (duration * 1e9));
      long a1 = answered.get();
      long t1 = System.nanoTime();
      return (a1 - a0) * 1e9 / (t1 - t0);
    } finally {
      for (Client c : all) c.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      tracker.close();
    }
  }

  /** One node-like client: its own identity and link, a window of registrations in flight. */
  private final class Client implements LinkManager.Listener {
    final EventLoop loop;
    final LinkManager links;
    final AtomicLong answered;
    final CountDownLatch up;
    final PeerInfo self;
    final int index;
    PeerId tracker;
    long counter;
    int next;
    volatile boolean closed;

    Client(EventLoop loop, TransportConfig transport, boolean epoll, InetSocketAddress address, AtomicLong answered,
        CountDownLatch up, int index) throws Exception {
      NodeIdentity id = NodeIdentity.generate();
      this.loop = loop;
      this.answered = answered;
      this.up = up;
      this.index = index;
      this.self = new PeerInfo(id.peerId(), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 40_000 + index)));
      this.links = new LinkManager(loop, transport, new TlsContexts(id, transport.nativeTls()),
          epoll ? EpollSocketChannel.class : NioSocketChannel.class, epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class,
          new SplittableRandom(index), this);
      loop.submit(() -> {
        links.self(self);
        links.dialSeed(address);
      }).get();
    }

    void request() {
      StreamId s = StreamId.of("bench/" + (next++ % streams));
      ByteBuf frame = WireFrames.encode(LinkManager.ALLOCATOR, new Message.TrackerRegister(s, self, ++counter, true, 0));
      try {
        links.send(tracker, frame, true);
      } finally {
        frame.release();
      }
    }

    @Override
    public void seedFound(InetSocketAddress address, PeerInfo info) {
      tracker = info.id();
    }

    @Override
    public void linkUp(PeerId peer, PeerInfo info) {
      for (int i = 0; i < window; i++) request();
      up.countDown();
    }

    @Override
    public void linkDown(PeerId peer, String reason) {
      if (!closed) System.err.println("client " + index + ": tracker link down: " + reason);
    }

    @Override
    public void dialFailed(PeerId peer, String reason) {}

    @Override
    public void received(PeerId peer, Message message, int frameBytes) {
      if (message instanceof Message.TrackerPeers) {
        answered.incrementAndGet();
        if (!closed) request();
      } else if (message instanceof Message.TrackerRefused r) {
        System.err.println("client " + index + ": refused: " + r.detail());
      }
    }

    @Override
    public void event(TransportEvent event) {}

    void close() throws Exception {
      closed = true;
      loop.submit(links::shutdown).get().awaitUninterruptibly(5, TimeUnit.SECONDS); // before the loop stops
    }
  }

  // ---- 2. Memory ------------------------------------------------------------------------------

  private double memory() {
    TrackerState state = new TrackerState(TrackerConfig.builder().maxRegistrations(Math.max(registrations, 1))
        .requestsPerSecond(1e9).requestBurst(Integer.MAX_VALUE).build(), new SplittableRandom(1));
    int streamCount = Math.max(1, registrations / 100); // 100 members a stream
    // Nodes, their infos and stream ids exist before the baseline: a node's PeerInfo arrives with
    // each registration and is kept, so it is charged to the registrations below.
    SplittableRandom rng = new SplittableRandom(2);
    StreamId[] ids = new StreamId[streamCount];
    for (int s = 0; s < streamCount; s++) ids[s] = StreamId.of("m/" + s);
    long before = IdleCommand.heapAfterGc();
    TrackerState.Replies none = (to, m) -> {};
    for (int r = 0; r < registrations; r++) {
      byte[] id = new byte[32];
      rng.nextBytes(id);
      PeerInfo info = new PeerInfo(PeerId.fromBytes(id), 1,
          List.of(new Candidate(Candidate.Kind.LOCAL, "10." + rng.nextInt(256) + "." + rng.nextInt(256) + "." + rng.nextInt(256), 30301)));
      state.handle(0, info.id(), new Message.TrackerRegister(ids[r % streamCount], info, 1, false, 0), none);
    }
    long after = IdleCommand.heapAfterGc();
    if (state.registrations() != registrations) throw new IllegalStateException("registered " + state.registrations());
    return (after - before) / (double) registrations;
  }


  // ---- 3. Subscribe to first message ------------------------------------------------------

  private double[] subscribeToFirstMessage() throws Exception {
    TrackerServer tracker = new TrackerServer(TrackerConfig.defaults(), NodeIdentity.generate(), TransportConfig.defaults())
        .start(new InetSocketAddress("127.0.0.1", 0), null, -1);
    String address = "127.0.0.1:" + tracker.address().getPort();
    List<OverlayNode> started = new ArrayList<>();
    List<Subscription> subs = new ArrayList<>();
    MessageHandler ignore = m -> {};
    try {
      for (int i = 0; i < nodes; i++) {
        OverlayNode n = OverlayNode.builder().identity(NodeIdentity.generate()).trackers(address).build().start();
        started.add(n);
        subs.add(n.subscribe("first", ignore));
      }
      for (OverlayNode n : started) n.awaitNeighbors("first", 1, Duration.ofSeconds(20));
      OverlayNode publisher = started.get(0);
      Thread pub = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          publisher.publish("first", new byte[16]);
          LockSupport.parkNanos(10_000_000); // 100 msg/s
        }
      }, "publisher");
      pub.setDaemon(true);
      pub.start();
      double[] ms = new double[joins];
      for (int j = 0; j < joins; j++) {
        OverlayNode n = OverlayNode.builder().identity(NodeIdentity.generate()).trackers(address).build().start();
        started.add(n);
        CountDownLatch first = new CountDownLatch(1);
        long t0 = System.nanoTime();
        subs.add(n.subscribe("first", m -> first.countDown()));
        if (!first.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no message within 20 s of subscribing");
        ms[j] = (System.nanoTime() - t0) / 1e6;
      }
      pub.interrupt();
      Arrays.sort(ms);
      return new double[] {ms[ms.length / 2], ms[ms.length - 1]};
    } finally {
      for (Subscription s : subs) s.close();
      for (OverlayNode n : started) n.close();
      tracker.close();
    }
  }

  private static void sleepNanos(long nanos) {
    long end = System.nanoTime() + nanos;
    while (System.nanoTime() < end) LockSupport.parkNanos(end - System.nanoTime());
  }
}
