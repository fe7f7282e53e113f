package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.testing.ManualExecutor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One flush per connection per turn, and a busy connection at most once per interval; on virtual time. */
class FlushSchedulerTest {

  private static final long INTERVAL = 1_000;
  private final ManualExecutor afterTurn = new ManualExecutor();
  private final List<Long> laterDelays = new ArrayList<>();
  private final List<Runnable> laterTasks = new ArrayList<>();
  private final List<String> flushed = new ArrayList<>();
  private long now = 10_000;
  private final FlushScheduler<String> flushes = new FlushScheduler<>(afterTurn, (task, delay) -> {
    laterTasks.add(task);
    laterDelays.add(delay);
  }, () -> now, INTERVAL, flushed::add);
  private final FlushScheduler.State<String> a = new FlushScheduler.State<>("a");
  private final FlushScheduler.State<String> b = new FlushScheduler.State<>("b");

  private void runLater() {
    List<Runnable> tasks = new ArrayList<>(laterTasks);
    laterTasks.clear();
    tasks.forEach(Runnable::run);
  }

  @Test
  void manyWritesInOneTurnMakeOneFlushPerConnectionAtTheTurnsEnd() {
    flushes.markDirty(a);
    flushes.markDirty(a);
    flushes.markDirty(b);
    assertThat(flushed).as("nothing during the turn").isEmpty();
    assertThat(afterTurn.tasks).as("one end-of-turn task for all").hasSize(1);
    afterTurn.runAll();
    assertThat(flushed).containsExactly("a", "b");
  }

  @Test
  void aConnectionFlushedWithinTheIntervalWaitsForItAndTakesWhatCameMeanwhile() {
    flushes.markDirty(a);
    afterTurn.runAll(); // flushed at 10,000
    now += INTERVAL / 2;
    flushes.markDirty(a);
    afterTurn.runAll();
    flushes.markDirty(a); // more in a later turn, before the deferred flush
    afterTurn.runAll();
    assertThat(flushed).containsExactly("a");
    assertThat(laterDelays).as("one deferred flush, not one per write").containsExactly(INTERVAL);
    now += INTERVAL;
    runLater();
    assertThat(flushed).containsExactly("a", "a");
  }

  @Test
  void aQuietConnectionIsFlushedAtOnceEvenRightAfterABusyOne() {
    flushes.markDirty(a);
    afterTurn.runAll();
    now += INTERVAL / 2;
    flushes.markDirty(a);
    flushes.markDirty(b);
    afterTurn.runAll();
    assertThat(flushed).containsExactly("a", "b"); // a waits; b has not been flushed for long
  }

  @Test
  void aConnectionNeverFlushedGoesAtOnceWhateverTheClockReads() {
    now = Long.MIN_VALUE / 4; // System.nanoTime may be negative
    flushes.markDirty(a);
    afterTurn.runAll();
    assertThat(flushed).containsExactly("a");
  }
}
