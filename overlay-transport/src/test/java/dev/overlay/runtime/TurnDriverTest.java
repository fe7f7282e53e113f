package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Timer;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Turns on the node's loop, on virtual time: the loop's clock (EmbeddedChannel's, frozen) and
 * the driver's injected clock move together, only when the test says.
 */
class TurnDriverTest {

  private static final long MS = 1_000_000L;
  private static final StreamId S = StreamId.of("s");

  private EmbeddedChannel ch;
  private long now = 5_000 * MS;
  private final List<String> log = new ArrayList<>();
  private TurnDriver turns;

  @BeforeEach
  void setUp() {
    ch = new EmbeddedChannel();
    ch.freezeTime();
    turns = new TurnDriver((EventLoop) ch.eventLoop(), () -> now, () -> log.add("end"), t -> log.add("fired " + name(t) + " at " + turns.now() / MS));
    turns.start();
  }

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  private static Timer timer(long n) {
    return new Timer.NeighborTimeout(S, PeerId.fromBytes(new byte[32]), n);
  }

  private static long name(Timer t) {
    return ((Timer.NeighborTimeout) t).requestId();
  }

  private void advance(long nanos) {
    now += nanos;
    ch.advanceTimeBy(nanos, TimeUnit.NANOSECONDS);
    ch.runPendingTasks();
  }

  @Test
  void aTimerScheduledInATurnWakesTheLoopAtItsDeadlineInATurnOfItsOwn() {
    turns.begin();
    turns.schedule(timer(1), 30 * MS);
    turns.end();
    log.clear();

    advance(30 * MS - 1);
    assertThat(log).as("nothing early").isEmpty();
    advance(1);
    assertThat(log).containsExactly("fired 1 at 5030", "end");
  }

  @Test
  void anEarlierTimerBringsTheWakeUpForward() {
    turns.begin();
    turns.schedule(timer(1), 100 * MS);
    turns.end();
    turns.begin();
    turns.schedule(timer(2), 10 * MS);
    turns.end();
    log.clear();

    advance(10 * MS);
    assertThat(log).containsExactly("fired 2 at 5010", "end");
    advance(90 * MS);
    assertThat(log).containsExactly("fired 2 at 5010", "end", "fired 1 at 5100", "end");
  }

  @Test
  void framesReadInOnePassShareOneClockReadingAndOneEndOfTurn() {
    long first = turns.beginBatch();
    now += 7 * MS; // the clock moves between frames; the batch keeps its reading
    long second = turns.beginBatch();
    assertThat(second).isEqualTo(first);
    assertThat(log).isEmpty();

    ch.runPendingTasks();
    assertThat(log).containsExactly("end");
    assertThat(turns.beginBatch()).as("the next pass reads the clock again").isEqualTo(first + 7 * MS);
  }

  @Test
  void handedOverWorkAndRepeatedWorkEachRunAsATurn() {
    turns.execute(() -> log.add("task"));
    turns.every(Duration.ofMillis(50), () -> log.add("tick"));
    ch.runPendingTasks();
    assertThat(log).containsExactly("task", "end");

    advance(50 * MS);
    assertThat(log).containsExactly("task", "end", "tick", "end");
  }

  @Test
  void onceStoppedNothingThisNodeScheduledRuns() {
    turns.begin();
    turns.schedule(timer(1), 10 * MS);
    turns.end();
    turns.every(Duration.ofMillis(10), () -> log.add("tick"));
    turns.after(Duration.ofMillis(10), () -> log.add("once"));
    turns.execute(() -> log.add("task"));
    log.clear();

    turns.stop();
    turns.later(() -> log.add("later"));
    advance(100 * MS);

    assertThat(log).isEmpty();
  }
}
