package dev.overlay.bench.jmh;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.transport.IdCache;
import dev.overlay.transport.WireFrames;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding one framed Data message from a pooled buffer ({@link WireFrames#decodeMessage}), as
 * the link handler does for each frame. The result necessarily allocates the message and its
 * payload (the one copy a received payload gets): about {@code payloadBytes + 60} B/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class FrameDecodeBenchmark {

  @Param({"100"})
  public int payloadBytes;

  private ByteBuf frame; // the body, after the length prefix (what FrameDecoder hands on)
  private final IdCache ids = new IdCache();

  @Setup(Level.Trial)
  public void setUp() {
    Message.Data d = new Message.Data(StreamId.of("telemetry"), PeerId.random(new java.util.Random(1)), 42, 1_000, 3,
        new byte[payloadBytes]);
    ByteBuf framed = WireFrames.encode(PooledByteBufAllocator.DEFAULT, d);
    int length = framed.readByte(); // one varint byte for frames under 128 B
    if (length < 0) { // two bytes
      framed.readerIndex(0);
      length = (framed.readByte() & 0x7f) | (framed.readByte() << 7);
    }
    frame = framed.retainedSlice(framed.readerIndex(), length);
    framed.release();
  }

  @Benchmark
  public Message decode() throws WireException {
    frame.readerIndex(0);
    return WireFrames.decodeMessage(frame, ids, WireCodec.MAX_PAYLOAD_BYTES);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    frame.release();
  }
}
