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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 on real sockets: two "regions" of six nodes on loopback, every byte between them
 * delayed by 40 ms each way by a test-only handler. With the neighbour churn every second, nodes
 * end up with neighbours in their own region more often than a random graph gives them (5 of the
 * 11 others are in the same region: 45 %).
 */
class LatencyAwareNeighboursTest {

  private static final String STREAM = "near";
  private static final long DELAY_MILLIS = 40;
  private static final int PER_REGION = 6;

  /** Every handler made, for the last sweep: a write still waiting when the loops stop is released there. */
  private final java.util.Queue<FarLink> everyFarLink = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final LoopbackGroups groups = new LoopbackGroups();

  /**
   * Delays what this end writes to the other region; registers the port it dials from, as
   * PartitionedLoopbackTest does. What waits is released if the connection closes first.
   */
  private final class FarLink extends ChannelDuplexHandler {
    private final int region;
    private final java.util.ArrayDeque<Object[]> waiting = new java.util.ArrayDeque<>();
    private boolean closed;

    FarLink(int region) {
      this.region = region;
      everyFarLink.add(this);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      groups.active(ctx.channel(), region);
      super.channelActive(ctx);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      Integer other = groups.otherSide(ctx.channel());
      if (other == null || other == region || closed) {
        ctx.write(msg, promise); // after the close Netty fails and releases it
        return;
      }
      waiting.add(new Object[] {msg, promise});
      ctx.executor().schedule(() -> { // equal delays: each task sends the oldest waiting write
        Object[] w = waiting.poll();
        if (w != null) ctx.writeAndFlush(w[0], (ChannelPromise) w[1]);
      }, DELAY_MILLIS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      releaseWaiting();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      releaseWaiting();
      super.channelInactive(ctx);
    }

    /** After the loops stopped: a delayed write whose task was cancelled with them. */
    void releaseLeftovers() {
      for (Object[] w = waiting.poll(); w != null; w = waiting.poll()) io.netty.util.ReferenceCountUtil.release(w[0]);
    }

    private void releaseWaiting() {
      closed = true;
      for (Object[] w = waiting.poll(); w != null; w = waiting.poll()) {
        io.netty.util.ReferenceCountUtil.release(w[0]);
        ((ChannelPromise) w[1]).tryFailure(new java.nio.channels.ClosedChannelException());
      }
    }
  }

  @Test
  void withChurnNeighboursInTheSameRegionAreMoreCommonThanChance() throws Exception {
    NodeConfig config = NodeConfig.builder()
        .membership(HyParViewConfig.builder().churnInterval(Duration.ofSeconds(1)).build()).build();
    EventLoopGroup loops = LoopbackGroups.loops();
    ExecutorService delivery = Executors.newFixedThreadPool(2);
    List<OverlayNode> nodes = new ArrayList<>();
    try {
      OverlayNode seed = null;
      for (int i = 0; i < 2 * PER_REGION; i++) {
        int region = i < PER_REGION ? 0 : 1;
        OverlayNode.Builder b = OverlayNode.builder().eventLoopGroup(loops).deliveryExecutor(delivery).config(config);
        b.channelHook = (Channel ch) -> ch.pipeline().addFirst("far", new FarLink(region));
        if (seed != null) b.seed(seed.info());
        OverlayNode n = b.build().start();
        groups.node(n, region);
        if (seed == null) seed = n;
        n.join(STREAM);
        nodes.add(n);
      }
      for (OverlayNode n : nodes) assertThat(n.awaitNeighbors(STREAM, 3, Duration.ofSeconds(60))).isTrue();
      double atStart = sameRegionShare(nodes);

      // Each node asks for a replacement every second. After five replacements a node, the
      // share is sampled ten times, 2 s apart: one sample of 60 view entries is noisy.
      long[] replaced = {0};
      Await.until(Duration.ofSeconds(120), () -> {
        replaced[0] = churnedOut(nodes);
        return replaced[0] >= 5L * nodes.size();
      }, () -> "too few replacements: " + replaced[0]);
      double sum = 0;
      List<String> samples = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        long next = churnedOut(nodes) + nodes.size();
        Await.until(Duration.ofSeconds(60), () -> churnedOut(nodes) >= next, () -> "the churn stopped");
        double s = sameRegionShare(nodes);
        samples.add(String.format(java.util.Locale.ROOT, "%.2f", s));
        sum += s;
      }
      double share = sum / 10;
      System.out.printf("same-region neighbours: %.2f at the start, then %s (mean %.2f; chance 0.45)%n", atStart, samples, share);
      assertThat(share).as("mean share of same-region neighbours, against 5/11 by chance").isGreaterThan(0.58);
    } finally {
      LoopbackGroups.closeAll(nodes);
      delivery.shutdownNow();
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      for (FarLink f : everyFarLink) f.releaseLeftovers(); // the loops are gone: no race with them
    }
  }

  private static long churnedOut(List<OverlayNode> nodes) {
    long n = 0;
    try {
      for (OverlayNode node : nodes) {
        NodeSnapshot.Stream s = node.snapshot().stream(STREAM);
        if (s != null) n += s.membership().churnedOut();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return n;
  }

  private static double sameRegionShare(List<OverlayNode> nodes) throws InterruptedException {
    Map<PeerId, Integer> regionOf = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) regionOf.put(nodes.get(i).peerId(), i < PER_REGION ? 0 : 1);
    int same = 0;
    int all = 0;
    for (int i = 0; i < nodes.size(); i++) {
      NodeSnapshot.Stream s = nodes.get(i).snapshot().stream(STREAM);
      for (PeerId p : s.active()) {
        all++;
        if (regionOf.get(p) == (i < PER_REGION ? 0 : 1)) same++;
      }
    }
    return all == 0 ? 0 : (double) same / all;
  }
}
