package dev.overlay.bench.jmh;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.transport.OutboundQueue;
import dev.overlay.transport.WireFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The transport's half of forwarding one data message to k peers, as the node loop does it:
 * encode the message once into the loop's scratch buffer ({@link WireFrames#encodeInto}), offer
 * those bytes to each peer's {@link OutboundQueue}, and every {@link #FLUSH_EVERY} messages
 * (flush coalescing) hand each queue's batch to its channel and flush.
 *
 * <p>The channels are {@link EmbeddedChannel}s whose pipeline releases what it is given, so
 * the figure is ours, not TLS's or the socket's. Run with {@code -prof gc}: the target is 0 B/op.
 *
 * <p>The work runs, {@link #BATCH} messages at a time, on a Netty event-loop thread, as it does
 * in a node: Netty 4.2 gives its pooled-buffer thread caches and object recycler only to its own
 * threads (whose thread locals it cleans up), so on JMH's plain thread every batch buffer would
 * cost a fresh buffer object and arena bookkeeping that a node never pays. The hand-over is one
 * reused task and a volatile counter per batch, which allocates nothing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
// Netty's default leak detection samples one buffer in 128 with a stack trace: a diagnostic
// cost (about 1.5 B/op here), not the forwarding path's. Measured without it, as the demo runs.
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
@OperationsPerInvocation(FanOutBenchmark.BATCH)
public class FanOutBenchmark {

  /** Messages forwarded per hand-over to the loop thread. */
  static final int BATCH = 1024;

  /** Messages per flush: what adaptive coalescing gathers at a few tens of thousands of msg/s. */
  static final int FLUSH_EVERY = 32;

  @Param({"1", "4", "8"})
  public int peers;

  @Param({"100"})
  public int payloadBytes;

  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private EmbeddedChannel[] channels;
  private OutboundQueue[] queues;
  private ByteBuf scratch;
  private Message.Data[] messages;
  private int next;
  private DefaultEventLoop loop;
  private volatile long batchesDone;
  private long batchesAsked;
  private final Runnable batch = this::forwardBatch;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    loop = new DefaultEventLoop(new DefaultThreadFactory("fan-out", true));
    loop.submit(this::build).get();
  }

  private void build() {
    channels = new EmbeddedChannel[peers];
    queues = new OutboundQueue[peers];
    for (int i = 0; i < peers; i++) {
      channels[i] = new EmbeddedChannel(new ReleasingSink());
      queues[i] = new OutboundQueue(4 << 20, 1 << 20, alloc, System::nanoTime);
    }
    scratch = alloc.directBuffer(512);
    SplittableRandom rng = new SplittableRandom(7);
    StreamId stream = StreamId.of("telemetry");
    PeerId publisher = PeerId.random(new java.util.Random(1));
    // A ring of distinct messages, built before measuring: the core hands the runtime a message.
    messages = new Message.Data[1024];
    for (int i = 0; i < messages.length; i++) {
      byte[] payload = new byte[payloadBytes];
      for (int j = 0; j < payload.length; j++) payload[j] = (byte) rng.nextInt();
      messages[i] = new Message.Data(stream, publisher, 1, i + 1, 3, payload);
    }
  }

  @Benchmark
  public long forward() {
    long want = ++batchesAsked;
    loop.execute(batch);
    while (batchesDone < want) Thread.onSpinWait();
    return want;
  }

  private void forwardBatch() {
    long sum = 0;
    for (int i = 0; i < BATCH; i++) sum += forwardOne();
    bytes = sum;
    batchesDone = batchesDone + 1; // only this thread writes it
  }

  /** For the JIT: the encoded bytes stay observable. */
  public long bytes;

  private int forwardOne() {
    Message.Data m = messages[next++ & (messages.length - 1)];
    scratch.clear();
    WireFrames.encodeInto(scratch, m);
    for (int i = 0; i < peers; i++) queues[i].offer(scratch, false, channels[i]);
    if ((next & (FLUSH_EVERY - 1)) == 0) {
      for (int i = 0; i < peers; i++) {
        if (queues[i].drainTo(channels[i])) channels[i].flush();
      }
    }
    return scratch.readableBytes();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    loop.submit(this::release).get();
    loop.shutdownGracefully().syncUninterruptibly();
  }

  private void release() {
    for (int i = 0; i < peers; i++) {
      queues[i].releaseAll();
      channels[i].finishAndReleaseAll();
    }
    scratch.release();
  }

  /** The end of the pipeline: takes ownership of each write and lets go of it. */
  static final class ReleasingSink extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      ReferenceCountUtil.release(msg);
      promise.trySuccess();
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {}
  }
}
