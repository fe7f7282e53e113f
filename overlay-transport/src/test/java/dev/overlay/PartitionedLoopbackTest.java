package dev.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.HyParViewConfig;
import dev.overlay.config.NodeConfig;
import dev.overlay.core.PeerId;
import dev.overlay.testing.Await;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 on real sockets: two groups of four nodes on loopback, every link between the groups
 * cut for 30 s by a black hole (TCP stays up, nothing arrives, as when a router drops a route),
 * then restored. Each side keeps delivering its own publisher's messages during the cut, and
 * after the heal the groups find each other again: a message published after the heal reaches
 * every node. The B side's only introducer is a seed in group A (the trackers on one side).
 */
class PartitionedLoopbackTest {

  private static final String STREAM = "heal";
  private static final Duration DEADLINE = Duration.ofSeconds(90);

  private final LoopbackGroups groups = new LoopbackGroups();
  private volatile boolean cut;

  /** A black hole between the groups while {@link #cut}: bytes either way vanish, the connection stays up. */
  private final class BlackHole extends ChannelDuplexHandler {
    private final int group;

    BlackHole(int group) {
      this.group = group;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      groups.active(ctx.channel(), group);
      super.channelActive(ctx);
    }

    private boolean blocked(ChannelHandlerContext ctx) {
      if (!cut) return false;
      Integer other = groups.otherSide(ctx.channel());
      return other != null && other != group;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (blocked(ctx)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (blocked(ctx)) {
        ReferenceCountUtil.release(msg);
        promise.trySuccess(); // sent, as far as this end can tell
        return;
      }
      ctx.write(msg, promise);
    }
  }

  /** What one node received: "publisher:seq" of every message. */
  private static final class Received {
    final Set<String> messages = ConcurrentHashMap.newKeySet();
    /** The node's events and first receptions, for a failure's message (bounded). */
    final java.util.Queue<String> log = new java.util.concurrent.ConcurrentLinkedQueue<>();
    final java.util.concurrent.atomic.AtomicInteger logged = new java.util.concurrent.atomic.AtomicInteger();

    void log(long t0, String what) {
      if (logged.incrementAndGet() <= 400) log.add(String.format(java.util.Locale.ROOT, "%.3f %s", (System.nanoTime() - t0) / 1e9, what));
    }
  }

  @Test
  void twoGroupsCutApartForThirtySecondsAreOneOverlayAgainAfterTheHeal() throws Exception {
    // A steady re-introduction of 15 s rather than 30 min: with four nodes a side, whether any node
    // loses half its view at once (and suspects a partition) depends on the draw of links, and the
    // test must not. The simulator's healing time for this setting is one period after the heal.
    // A message cache of 90 s rather than 30: a node whose every link crosses the cut (a draw of
    // links, again) is cut off from its own side until its idle timeout (15 s) and its refill,
    // then repairs what it missed from its side's caches, which must still hold it. With the
    // default 30 s that held in most runs but not all (two fresh-clone CI runs of 2026-12-01 lost
    // messages here); losing what no cache holds any more is issue 14's (storage nodes).
    NodeConfig config = NodeConfig.builder()
        .membership(HyParViewConfig.builder().reintroductionInterval(Duration.ofSeconds(15)).build())
        .broadcast(dev.overlay.config.PlumtreeConfig.builder().messageCacheTtl(Duration.ofSeconds(90)).build()).build();
    EventLoopGroup loops = LoopbackGroups.loops();
    ExecutorService delivery = Executors.newFixedThreadPool(2);
    ScheduledExecutorService publishers = Executors.newSingleThreadScheduledExecutor();
    List<OverlayNode> nodes = new ArrayList<>();
    List<Received> received = new ArrayList<>();
    try {
      OverlayNode seed = null;
      long t0 = System.nanoTime();
      for (int i = 0; i < 8; i++) {
        int group = i < 4 ? 0 : 1;
        Received r = new Received();
        OverlayNode.Builder b = OverlayNode.builder().eventLoopGroup(loops).deliveryExecutor(delivery).config(config)
            .listener(new OverlayListener() {
              @Override
              public void onEvent(dev.overlay.core.OverlayEvent e) {
                r.log(t0, e.toString());
              }

              @Override
              public void onTransportEvent(TransportEvent e) {
                r.log(t0, e.toString());
              }
            });
        Consumer<Channel> hook = ch -> ch.pipeline().addFirst("partition", new BlackHole(group));
        b.channelHook = hook;
        if (seed != null) b.seed(seed.info());
        OverlayNode n = b.build().start();
        groups.node(n, group);
        if (seed == null) seed = n;
        n.subscribe(STREAM, m -> {
          String text = new String(m.copyPayload(), StandardCharsets.UTF_8);
          if (r.messages.isEmpty() || text.endsWith(":1") || !r.messages.contains(text.substring(0, 2) + (Long.parseLong(text.substring(2)) - 1))) {
            r.log(t0, "received " + text);
          }
          r.messages.add(text);
        });
        nodes.add(n);
        received.add(r);
      }
      for (OverlayNode n : nodes) assertThat(n.awaitNeighbors(STREAM, 2, DEADLINE)).isTrue();
      Await.until(DEADLINE, () -> crossLinks(nodes) > 0, () -> "no link between the groups yet");

      // A publisher on each side, 10 messages a second each.
      OverlayNode pubA = nodes.get(1);
      OverlayNode pubB = nodes.get(5);
      AtomicLong seq = new AtomicLong();
      publishers.scheduleAtFixedRate(() -> {
        long s = seq.incrementAndGet();
        pubA.publish(STREAM, ("A:" + s).getBytes(StandardCharsets.UTF_8));
        pubB.publish(STREAM, ("B:" + s).getBytes(StandardCharsets.UTF_8));
      }, 0, 100, TimeUnit.MILLISECONDS);
      // Before the cut, every node follows both publishers without a hole: from the first message it
      // had of each, it has every one (docs/api.md: a subscriber's stream of a publisher starts with
      // the first message it gets; a node whose links were being replaced when a publisher began
      // may start a little later, and that is not what this test is about).
      Await.until(DEADLINE, () -> everyoneFollowsFromItsFirst(received, seq.get() - 10) && seq.get() > 30,
          () -> "the first messages did not reach everyone: published " + seq.get() + ", received " + counts(received)
              + missing(received, nodes, seq.get()));

      // And each side is one whole by what its nodes know of each other (neighbours and passive
      // views, within the side): a node, or a group of nodes, whose every known peer of its side
      // is in the group has, without a tracker or a seed on its side, no one to turn to until the
      // heal (docs/architecture.md, known limits), and that is not what this test is about either.
      // It happened once in three runs that node 4 knew no one of its side; and once (a
      // fresh-clone CI run of 2026-12-02) that nodes 6 and 7 knew only each other of theirs, and
      // the B side was two pairs for the whole cut.
      Await.until(DEADLINE, () -> eachSideIsOneByWhatItKnows(nodes), () -> "a side is not yet one whole by what its nodes know");

      cut = true;
      long cutSeq = seq.get();
      Await.until(DEADLINE, () -> crossLinks(nodes) == 0, () -> "links across the cut still counted as neighbours");
      Await.until(DEADLINE, () -> seq.get() >= cutSeq + 300, () -> "30 s of the cut"); // 300 messages at 10/s
      long lastCutSeq = seq.get();
      // No loss on either side during the cut: each side got all of its own publisher's messages.
      Await.until(DEADLINE, () -> sideHasAll(received, 0, "A:", cutSeq + 1, lastCutSeq)
          && sideHasAll(received, 1, "B:", cutSeq + 1, lastCutSeq), () -> "a side lost its own messages during the cut"
              + missing(received, nodes, lastCutSeq));

      cut = false;
      long healSeq = seq.get();
      long healedAt = System.nanoTime();
      // After the heal, some message published later reaches every node from both publishers.
      long[] firstEverywhere = {-1};
      Await.until(DEADLINE, () -> {
        long s = seq.get();
        for (long k = healSeq + 1; k <= s; k++) {
          if (everyoneHas(received, "A:" + k) && everyoneHas(received, "B:" + k)) {
            firstEverywhere[0] = k;
            return true;
          }
        }
        return false;
      }, () -> "no message published after the heal reached both groups; cross links now " + crossLinks(nodes));
      System.out.printf("healed: the first message everywhere was published %.1f s after the heal (seen %.1f s after)%n",
          (firstEverywhere[0] - healSeq) / 10.0, (System.nanoTime() - healedAt) / 1e9);
      assertThat(crossLinks(nodes)).isPositive();
    } finally {
      publishers.shutdownNow();
      LoopbackGroups.closeAll(nodes);
      delivery.shutdownNow();
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static List<Integer> counts(List<Received> received) {
    return received.stream().map(r -> r.messages.size()).toList();
  }

  /** Every node but the message's publisher (a publisher is not handed its own messages). */
  /** For a failure's message: per node short of messages, the first ones it lacks and its Plumtree counters. */
  private static String missing(List<Received> received, List<OverlayNode> nodes, long published) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < received.size(); i++) {
      List<String> lacks = new ArrayList<>();
      for (String p : new String[] {"A:", "B:"}) {
        if ((p.equals("A:") && i == 1) || (p.equals("B:") && i == 5)) continue;
        for (long k = 1; k < published && lacks.size() < 8; k++) {
          if (!received.get(i).messages.contains(p + k)) lacks.add(p + k);
        }
      }
      if (lacks.isEmpty()) continue;
      b.append("\n  node ").append(i).append(" lacks ").append(lacks);
      for (int k = 0; k < nodes.size(); k++) b.append("\n    node ").append(k).append(" is ").append(nodes.get(k).info().id());
      for (String line : received.get(i).log) b.append("\n    ").append(line);
      try {
        NodeSnapshot.Stream st = nodes.get(i).snapshot().stream(STREAM);
        b.append("; neighbours ").append(st.active().size()).append(", ").append(st.broadcast());
      } catch (Exception e) {
        b.append("; no snapshot: ").append(e);
      }
    }
    return b.toString();
  }

  /** Whether every node has, of each publisher but itself, some message, and every one from its first up to {@code to}. */
  private static boolean everyoneFollowsFromItsFirst(List<Received> received, long to) {
    for (int i = 0; i < received.size(); i++) {
      for (String p : new String[] {"A:", "B:"}) {
        if ((p.equals("A:") && i == 1) || (p.equals("B:") && i == 5)) continue;
        long first = -1;
        for (long k = 1; k <= to && first < 0; k++) {
          if (received.get(i).messages.contains(p + k)) first = k;
        }
        if (first < 0) return false;
        for (long k = first; k <= to; k++) {
          if (!received.get(i).messages.contains(p + k)) return false;
        }
      }
    }
    return true;
  }

  private static boolean everyoneHas(List<Received> received, String message) {
    int publisher = message.startsWith("A:") ? 1 : 5;
    for (int i = 0; i < received.size(); i++) {
      if (i != publisher && !received.get(i).messages.contains(message)) return false;
    }
    return true;
  }

  private static boolean sideHasAll(List<Received> received, int group, String prefix, long from, long to) {
    for (int i = group * 4; i < group * 4 + 4; i++) {
      if (i == 1 || i == 5) continue; // the publishers
      for (long k = from; k <= to; k++) {
        if (!received.get(i).messages.contains(prefix + k)) return false;
      }
    }
    return true;
  }

  /**
   * Whether each group's nodes are connected by what they know of each other: an edge where one
   * holds the other in its active or passive view, both in the group; the graph must reach all
   * four from any one.
   */
  private static boolean eachSideIsOneByWhatItKnows(List<OverlayNode> nodes) {
    for (int group = 0; group < 2; group++) {
      List<PeerId> side = new ArrayList<>();
      for (int i = group * 4; i < group * 4 + 4; i++) side.add(nodes.get(i).peerId());
      Map<PeerId, java.util.Set<PeerId>> edges = new java.util.HashMap<>();
      for (PeerId p : side) edges.put(p, new java.util.HashSet<>());
      for (int i = group * 4; i < group * 4 + 4; i++) {
        try {
          NodeSnapshot.Stream s = nodes.get(i).snapshot().stream(STREAM);
          if (s == null) return false;
          PeerId me = nodes.get(i).peerId();
          for (List<PeerId> view : List.of(s.active(), s.passive())) {
            for (PeerId p : view) {
              if (edges.containsKey(p)) {
                edges.get(me).add(p);
                edges.get(p).add(me);
              }
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      java.util.Set<PeerId> reached = new java.util.HashSet<>(List.of(side.get(0)));
      java.util.ArrayDeque<PeerId> next = new java.util.ArrayDeque<>(reached);
      while (!next.isEmpty()) {
        for (PeerId p : edges.get(next.poll())) if (reached.add(p)) next.add(p);
      }
      if (reached.size() < side.size()) return false;
    }
    return true;
  }

  private int crossLinks(List<OverlayNode> nodes) {
    Map<PeerId, Integer> groupOf = new ConcurrentHashMap<>();
    for (int i = 0; i < nodes.size(); i++) groupOf.put(nodes.get(i).peerId(), i < 4 ? 0 : 1);
    int n = 0;
    for (int i = 0; i < nodes.size(); i++) {
      try {
        NodeSnapshot.Stream s = nodes.get(i).snapshot().stream(STREAM);
        if (s == null) continue;
        for (PeerId p : s.active()) {
          if (groupOf.getOrDefault(p, i < 4 ? 0 : 1) != (i < 4 ? 0 : 1)) n++;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return n;
      }
    }
    return n;
  }
}
