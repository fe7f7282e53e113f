package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.MessageHandler;
import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.auth.SealFormat;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.it.HostileNode;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Seal;
import dev.overlay.testing.Await;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A live network of a tracker and five nodes on loopback (one publisher at 200 msg/s, four
 * subscribers) and one attacker built from the library's own link layer, which runs the attacks
 * of issue 9 one after another: forged and silencing messages, IHAVE floods and overflows, walks
 * and shuffles aimed at a tarpit, GRAFTs from a stranger, the hop limit, JOIN and handshake
 * floods, and tracker spam. The honest subscribers must get every message, no link between
 * honest nodes may be lost, and the process's heap and thread count must come back to where they
 * were. The p99 latency before and during the attack is printed, not asserted: it depends on the
 * machine's load, so the 2x target is reported in docs/benchmarks.md from repeated runs.
 */
class HostileNetworkTest {

  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final String STREAM = "hostile";
  private static final StreamId STREAM_ID = StreamId.of(STREAM);
  private static final int RATE = 200;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
  }

  /** Every number received, and each message's latency (the payload carries its send time). */
  static final class Subscriber implements MessageHandler {
    final BitSet got = new BitSet();
    final long[] latencyMicros = new long[1 << 16];

    @Override
    public synchronized void onMessage(dev.overlay.StreamMessage m) {
      long n = m.payload().getLong(0);
      if (n < 0 || n >= latencyMicros.length) return;
      got.set((int) n);
      latencyMicros[(int) n] = (System.nanoTime() - m.payload().getLong(8)) / 1000;
    }

    /** Whether it has every number below {@code to} that the publisher accepted. */
    synchronized boolean hasAll(int to, BitSet refused) {
      for (int n = got.nextClearBit(0); n < to; n = got.nextClearBit(n + 1)) {
        synchronized (refused) {
          if (!refused.get(n)) return false;
        }
      }
      return true;
    }

    /** The first accepted number it lacks, for a failure's message. */
    synchronized int firstMissing(BitSet refused) {
      for (int n = got.nextClearBit(0); ; n = got.nextClearBit(n + 1)) {
        synchronized (refused) {
          if (!refused.get(n)) return n;
        }
      }
    }

    synchronized long[] latencies(int from, int to) {
      return Arrays.copyOfRange(latencyMicros, from, to);
    }
  }

  private static byte[] payload(long n) {
    byte[] p = new byte[64];
    long t = System.nanoTime();
    for (int i = 7; i >= 0; i--) {
      p[i] = (byte) n;
      p[8 + i] = (byte) t;
      n >>>= 8;
      t >>>= 8;
    }
    return p;
  }

  /** Each honest node's view, trees and repair state: what a failed wait needs to be understood. */
  private static String state(List<OverlayNode> nodes) {
    StringBuilder sb = new StringBuilder();
    for (OverlayNode n : nodes) {
      try {
        var st = n.snapshot().stream(STREAM);
        sb.append("\n  ").append(n.peerId()).append(": ").append(st == null ? "not in the stream"
            : "active " + st.active() + ", trees " + st.trees() + ", " + st.broadcast());
      } catch (InterruptedException | RuntimeException e) {
        sb.append("\n  ").append(n.peerId()).append(": no snapshot (").append(e).append(')');
      }
    }
    return sb.toString();
  }

  private static long p99(List<Subscriber> subs, int from, int to) {
    List<Long> all = new ArrayList<>();
    for (Subscriber s : subs) for (long l : s.latencies(from, to)) all.add(l);
    all.sort(null);
    return all.isEmpty() ? 0 : all.get((int) Math.min(all.size() - 1, Math.ceil(all.size() * 0.99) - 1));
  }

  private static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  @Test
  void anAttackerRunningEveryAttackCostsTheHonestNodesNeitherMessagesNorMuchLatency() throws Exception {
    TrackerServer tracker = new TrackerServer(TrackerConfig.defaults(), NodeIdentity.generate(), TransportConfig.defaults())
        .start(new InetSocketAddress("127.0.0.1", 0), null, -1);
    open.add(tracker);
    String at = "127.0.0.1:" + tracker.address().getPort();
    AtomicLong honestLinksDown = new AtomicLong();
    java.util.Set<PeerId> honest = java.util.concurrent.ConcurrentHashMap.newKeySet();
    OverlayListener watch = new OverlayListener() {
      @Override
      public void onTransportEvent(TransportEvent e) {
        if (e instanceof TransportEvent.LinkDown d && honest.contains(d.peer())) honestLinksDown.incrementAndGet();
      }
    };
    List<OverlayNode> nodes = new ArrayList<>();
    List<Subscriber> subs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      OverlayNode n = OverlayNode.builder().trackers(at).trackerHeartbeat(Duration.ofMillis(500)).listener(watch).build().start();
      open.add(n);
      nodes.add(n);
      honest.add(n.peerId());
      if (i == 0) {
        n.join(STREAM);
      } else {
        Subscriber s = new Subscriber();
        subs.add(s);
        n.subscribe(STREAM, s, OverlayNode.ON_NODE_LOOP);
      }
    }
    for (OverlayNode n : nodes) assertThat(n.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
    OverlayNode publisher = nodes.get(0);
    List<PeerInfo> victims = nodes.subList(1, 5).stream().map(OverlayNode::info).toList();

    // The publisher publishes throughout, paced.
    AtomicBoolean publishing = new AtomicBoolean(true);
    AtomicInteger published = new AtomicInteger();
    // A publish may be refused (QUEUE_FULL: backpressure, as on a loaded machine): its number was
    // never sent, and no subscriber owes it. Only accepted numbers count.
    BitSet refused = new BitSet();
    java.util.Map<String, Long> statuses = new java.util.concurrent.ConcurrentHashMap<>();
    Thread pub = new Thread(() -> {
      long next = System.nanoTime();
      while (publishing.get()) {
        int n = published.getAndIncrement();
        publisher.publish(STREAM, payload(n)).whenComplete((r, error) -> {
          statuses.merge(error != null ? "FAILED" : r.status().name(), 1L, Long::sum);
          if (error != null || r.seq() <= 0) {
            synchronized (refused) {
              refused.set(n);
            }
          }
        });
        next += 1_000_000_000L / RATE;
        LockSupport.parkNanos(next - System.nanoTime());
      }
    }, "publisher");
    pub.start();
    Await.until(DEADLINE, () -> published.get() >= 3 * RATE, () -> "the baseline");
    int baselineEnd = published.get();
    Await.until(DEADLINE, () -> subs.stream().allMatch(s -> s.hasAll(baselineEnd, refused)),
        () -> "the baseline delivered; first missing per subscriber " + subs.stream().map(s -> s.firstMissing(refused)).toList()
            + " of " + baselineEnd + "; publish results " + statuses + state(nodes));
    long heapBefore = usedHeapAfterGc();
    int threadsBefore = Thread.activeCount();
    long downBefore = honestLinksDown.get();

    int tarpitConnections;
    List<java.util.Map.Entry<String, Integer>> phases = new ArrayList<>();
    try (HostileNode mallory = new HostileNode(); ServerSocket tarpit = new ServerSocket(0)) {
      AtomicInteger tarpitted = new AtomicInteger();
      Thread sink = new Thread(() -> {
        List<Socket> held = new ArrayList<>();
        try {
          while (true) {
            held.add(tarpit.accept()); // accepts and never answers
            tarpitted.incrementAndGet();
          }
        } catch (Exception closed) {
          for (Socket s : held) {
            try {
              s.close();
            } catch (Exception ignored) {
              // closing anyway
            }
          }
        }
      }, "tarpit");
      sink.setDaemon(true);
      sink.start();
      PeerId pubId = publisher.peerId();
      Random r = new Random(9);
      phases.add(java.util.Map.entry("start", published.get()));

      phases.add(java.util.Map.entry("forgery", published.get()));
      // Section 1: forgery and silencing. Each victim takes a forged message as such and cuts Mallory off.
      for (PeerInfo v : victims) {
        mallory.befriend(v, STREAM_ID);
        long next = published.get() + 50;
        mallory.send(v.id(), forged(mallory, pubId, next));
        for (int i = 1; i <= 40; i++) mallory.send(v.id(), forged(mallory, pubId, 10_000_000L * i));
      }
      phases.add(java.util.Map.entry("ihave", published.get()));
      // Section 2: IHAVE floods from a neighbour, and an IHAVE that would overflow.
      for (PeerInfo v : victims) {
        mallory.befriend(v, STREAM_ID);
        for (int k = 0; k < 3; k++) mallory.send(v.id(), ihaveFlood(r));
        mallory.sendRaw(v.id(), overflowingIHave());
      }
      phases.add(java.util.Map.entry("walks", published.get()));
      // Walks and shuffles naming made-up peers at a tarpit.
      for (PeerInfo v : victims) {
        mallory.befriend(v, STREAM_ID);
        for (int i = 0; i < 300; i++) {
          PeerInfo fake = new PeerInfo(PeerId.random(r), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", tarpit.getLocalPort())));
          mallory.send(v.id(), new Message.ForwardJoin(STREAM_ID, fake, 0));
          mallory.send(v.id(), new Message.Shuffle(STREAM_ID, fake, 0, List.of(fake), r.nextLong()));
          mallory.send(v.id(), new Message.ShuffleReply(STREAM_ID, List.of(fake), r.nextLong()));
        }
      }
      phases.add(java.util.Map.entry("hops", published.get()));
      // The hop limit: a real message replayed at 1,024 hops is delivered, not forwarded, and closes no honest link.
      Message.Data real = mallory.lastData;
      if (real != null) {
        for (PeerInfo v : victims) {
          mallory.befriend(v, STREAM_ID);
          mallory.send(v.id(), new Message.Data(real.stream(), real.publisher(), real.session(), real.seq(), Message.MAX_HOPS,
              real.payload(), real.seal(), true));
        }
      }
      phases.add(java.util.Map.entry("joins", published.get()));
      // JOIN floods.
      for (PeerInfo v : victims) {
        mallory.link(v);
        for (int i = 0; i < 100; i++) mallory.send(v.id(), new Message.Join(STREAM_ID, mallory.self));
      }
      phases.add(java.util.Map.entry("grafts", published.get()));
      // GRAFTs from a stranger: no data comes back.
      OverlayNode quiet = nodes.get(4);
      try (HostileNode stranger = new HostileNode()) {
        stranger.link(quiet.info());
        for (int s = 0; s < 50; s++) {
          stranger.send(quiet.peerId(), new Message.Graft(STREAM_ID, new MessageRef(pubId, real == null ? 1 : real.session(), 1 + s), true));
        }
        LockSupport.parkNanos(Duration.ofMillis(500).toNanos()); // time for answers, if any were coming
        assertThat(stranger.dataReceived.get()).as("DATA sent to a stranger's GRAFTs").isZero();
        // Tracker messages from a peer that is not the stream's tracker.
        for (PeerInfo v : victims) {
          stranger.link(v);
          for (int i = 0; i < 20; i++) {
            stranger.send(v.id(), new Message.TrackerRefused(STREAM_ID, Message.RefusalReason.RATE_LIMITED, 4_000_000_000L, "go away\nFAKE LOG LINE"));
          }
        }
      }
      phases.add(java.util.Map.entry("handshakes", published.get()));
      // Handshake floods: idle TCP connections that never start TLS.
      List<Socket> idle = new ArrayList<>();
      for (int i = 0; i < 300; i++) idle.add(new Socket("127.0.0.1", victims.get(i % victims.size()).candidates().get(0).port()));
      phases.add(java.util.Map.entry("tracker", published.get()));
      // Tracker spam: one identity registering in stream after stream.
      try (TrackerNetworkTest.RawClient spammer = new TrackerNetworkTest.RawClient(tracker.address())) {
        for (int i = 0; i < 1_500; i++) spammer.send(new Message.TrackerRegister(StreamId.of("spam-" + i), spammer.self, 1, false, 0));
      }
      LockSupport.parkNanos(Duration.ofSeconds(2).toNanos());
      for (Socket s : idle) s.close();
      tarpitConnections = tarpitted.get();
    }
    int attackEnd = published.get();
    Await.until(DEADLINE, () -> published.get() >= attackEnd + 2 * RATE, () -> "the tail");
    publishing.set(false);
    pub.join();
    int total = published.get();
    Await.until(DEADLINE, () -> subs.stream().allMatch(s -> s.hasAll(total, refused)),
        () -> "every accepted message to every subscriber; first missing: " + subs.stream().map(s -> s.firstMissing(refused)).toList()
            + " of " + total + "; publish results " + statuses + state(nodes));

    phases.add(java.util.Map.entry("end", attackEnd));
    StringBuilder breakdown = new StringBuilder();
    for (int i = 0; i + 1 < phases.size(); i++) {
      breakdown.append(phases.get(i).getKey()).append(' ').append(p99(subs, phases.get(i).getValue(), Math.max(phases.get(i).getValue() + 1, phases.get(i + 1).getValue()))).append(" us; ");
    }
    System.out.println("p99 by phase: " + breakdown);
    long baseP99 = p99(subs, 0, baselineEnd);
    long attackP99 = p99(subs, baselineEnd, total);
    System.out.printf("hostile network: %d messages, p99 %d us before the attack, %d us during and after; "
        + "%d tarpit connections; honest links lost %d; publish results %s%n", total, baseP99, attackP99, tarpitConnections,
        honestLinksDown.get() - downBefore, statuses);
    // No assertion on latency: on a loaded CI machine a 4 ms baseline p99 became 34 ms during the
    // attack through scheduling alone. The 2x target is a benchmark figure (docs/benchmarks.md,
    // "Hostile network"), taken from this test's printed line over repeated runs.
    assertThat(honestLinksDown.get() - downBefore).as("links between honest nodes lost").isZero();
    assertThat(tarpitConnections).as("dials aimed at the tarpit").isLessThanOrEqualTo(4 * TransportConfig.defaults().maxDialsInProgress());
    Await.until(DEADLINE, () -> Thread.activeCount() <= threadsBefore + 2, () -> "threads back to " + threadsBefore + ", now " + Thread.activeCount());
    long heapAfter = usedHeapAfterGc();
    assertThat(heapAfter - heapBefore).as("heap growth, bytes").isLessThan(64L << 20);
    // The spammer's 1,500 registrations: a burst taken, the rest refused (rate, then quota), the table bounded.
    assertThat(tracker.onLoop(() -> tracker.state().stats().refusedRateLimited() + tracker.state().stats().refusedQuota()))
        .as("spam refused").isGreaterThan(1_000);
    // Honest nodes, the burst of 200, and what 20 a second refill while the spam runs (it takes well under 5 s).
    assertThat(tracker.onLoop(() -> tracker.state().registrations())).as("registrations held").isLessThanOrEqualTo(5 + 200 + 100);
  }

  private static Message.Data forged(HostileNode m, PeerId publisher, long seq) {
    Message.Data d = new Message.Data(STREAM_ID, publisher, 1, seq, 1, payload(seq));
    byte[] digest = new byte[Seal.DIGEST_BYTES];
    new SealFormat().digest(d, digest, 0);
    byte[] sig = m.signatures.sign(SealFormat.signedDigest(STREAM_ID, publisher, 1, seq, 1, digest));
    return d.withSeal(new Seal(seq, 1, digest, m.signatures.publicKey(), sig), true);
  }

  private static Message.IHave ihaveFlood(Random r) {
    List<Message.Announcement> a = new ArrayList<>();
    for (int i = 0; i < 4096; i++) a.add(new Message.Announcement(PeerId.random(r), r.nextLong(), 1, 1024, 1));
    return new Message.IHave(STREAM_ID, a);
  }

  /** An IHAVE whose range runs past the largest sequence number: the decoder refuses it, the link closes. */
  private static ByteBuf overflowingIHave() {
    var f = dev.overlay.wire.proto.Frame.newBuilder().setIhave(dev.overlay.wire.proto.IHave.newBuilder().setStream(STREAM_ID.value())
        .addAnnouncements(dev.overlay.wire.proto.Announcement.newBuilder().setPublisher(com.google.protobuf.ByteString.copyFrom(new byte[32]))
            .setFirstSeq(Long.MAX_VALUE - 1).setCount(4))).build();
    ByteBuf b = Unpooled.buffer();
    byte[] body = f.toByteArray();
    int len = body.length;
    while ((len & ~0x7F) != 0) {
      b.writeByte((len & 0x7F) | 0x80);
      len >>>= 7;
    }
    b.writeByte(len);
    b.writeBytes(body);
    return b;
  }
}
