package dev.overlay.bench.jmh;

import dev.overlay.core.StreamId;
import dev.overlay.protocol.Timer;
import dev.overlay.runtime.TimerWheel;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * The runtime's timer wheel in steady state: each operation schedules one timer 100-250 ms out
 * (as graft and flush timers are), advances the clock by 20 µs and fires what is due, so about
 * 10,000 timers are pending.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TimerWheelBenchmark {

  private long now = 1_000_000_000L;
  private final TimerWheel wheel = new TimerWheel(now);
  private final Timer[] timers = new Timer[64];
  private long fired;
  private final Consumer<Timer> fire = t -> fired++;
  private int i;

  {
    for (int k = 0; k < timers.length; k++) timers[k] = new Timer.LazyFlush(StreamId.of("s" + k));
  }

  @Benchmark
  public long scheduleAndPoll() {
    i++;
    wheel.schedule(timers[i & 63], now + 100_000_000L + (i % 150) * 1_000_000L);
    now += 20_000;
    wheel.poll(now, fire);
    return fired;
  }
}
