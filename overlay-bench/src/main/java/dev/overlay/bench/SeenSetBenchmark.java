package dev.overlay.bench;

import dev.overlay.config.SeenConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.delivery.SeqIntervalSet;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Deduplication: the seen set ({@link SeenMessages}, per publisher and session) recording a new
 * message and recognising a duplicate, and the per-session {@link SeqIntervalSet} under it:
 * inserting in order, inserting with holes (every 8th number late), and a lookup.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SeenSetBenchmark {

  private SeenMessages seen;
  private final PeerId[] publishers = new PeerId[10];
  private long seq;
  private long now;
  private SeqIntervalSet inOrder;
  private SeqIntervalSet withHoles;
  private long holeSeq;

  @Setup(Level.Trial)
  public void setUp() {
    seen = new SeenMessages(StreamId.of("s"), SeenConfig.defaults(), new dev.overlay.core.testing.RecordingOutbox());
    for (int i = 0; i < publishers.length; i++) publishers[i] = PeerId.random(new java.util.Random(i));
    inOrder = new SeqIntervalSet(64);
    withHoles = new SeqIntervalSet(64);
  }

  /** A new message of one of 10 publishers. */
  @Benchmark
  public int recordNew() {
    seq++;
    now += 10_000;
    return seen.record(now, publishers[(int) (seq % 10)], 7, seq / 10 + 1);
  }

  /** A copy of a message already recorded. */
  @Benchmark
  public int recordDuplicate() {
    now += 10_000;
    return seen.record(now, publishers[3], 7, 1);
  }

  @Benchmark
  public int intervalsInOrder() {
    return inOrder.add(++seq, SeqIntervalSet.GapListener.NONE);
  }

  /** Every 8th number arrives 8 places late, so there is always a hole to open and one to fill. */
  @Benchmark
  public int intervalsWithHoles() {
    long s = ++holeSeq;
    int r = 0;
    if (s % 8 != 0) r = withHoles.add(s, SeqIntervalSet.GapListener.NONE);
    if (s > 8 && (s - 8) % 8 == 0) r += withHoles.add(s - 8, SeqIntervalSet.GapListener.NONE);
    return r;
  }

  @Benchmark
  public boolean lookup() {
    return inOrder.contains(seq - 5);
  }
}
