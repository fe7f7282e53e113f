package dev.overlay.bench.jmh;

import dev.overlay.broadcast.LazyQueue;
import dev.overlay.core.PeerId;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * IHAVE batching: queueing one announcement (consecutive numbers of a publisher coalesce into
 * runs), and every 100 announcements (a 100 ms batch at 1,000 msg/s) reading the runs out as an
 * IHAVE would and clearing the queue.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class LazyQueueBenchmark {

  private final LazyQueue queue = new LazyQueue(4096, 64);
  private final PeerId[] publishers = {PeerId.random(new java.util.Random(1)), PeerId.random(new java.util.Random(2))};
  private final PeerId from = PeerId.random(new java.util.Random(3));
  private long seq;
  private int n;

  @Benchmark
  public long announce() {
    seq++;
    queue.add(publishers[(int) (seq & 1)], 7, seq >> 1, 3, from); // two interleaved publishers
    long sum = 0;
    if (++n == 100) {
      n = 0;
      queue.seal();
      for (int i = 0; i < queue.runs(); i++) sum += queue.firstSeq(i) + queue.count(i);
      queue.clear();
    }
    return sum;
  }
}
