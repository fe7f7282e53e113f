package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.testing.ManualExecutor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Events reach the listener in order, on its executor; a listener that falls behind loses events, counted and told. */
class EventDispatcherTest {

  private final ManualExecutor executor = new ManualExecutor();
  private final List<Integer> heard = new ArrayList<>();
  private final List<Long> lost = new ArrayList<>();

  @Test
  void eventsArriveInOrderOnTheListenersExecutorNotTheCallers() {
    EventDispatcher<Integer> d = new EventDispatcher<>(16, executor, heard::add, lost::add);
    for (int i = 0; i < 5; i++) d.offer(i);
    assertThat(heard).as("nothing on the offering thread").isEmpty();
    assertThat(executor.tasks).as("one drain scheduled, not one per event").hasSize(1);
    executor.runAll();
    assertThat(heard).containsExactly(0, 1, 2, 3, 4);
    assertThat(lost).isEmpty();
  }

  @Test
  void aListenerThatFallsBehindLosesTheOverflowAndIsToldHowManyBeforeTheRest() {
    EventDispatcher<Integer> d = new EventDispatcher<>(4, executor, heard::add, lost::add);
    for (int i = 0; i < 10; i++) d.offer(i);
    executor.runAll();
    assertThat(lost).containsExactly(6L);
    assertThat(heard).containsExactly(0, 1, 2, 3);
    assertThat(d.dropped()).isEqualTo(6);
  }

  @Test
  void aListenerThatThrowsStillGetsTheNextEvents() {
    EventDispatcher<Integer> d = new EventDispatcher<>(16, executor, e -> {
      if (e == 1) throw new IllegalStateException("listener bug");
      heard.add(e);
    }, lost::add);
    for (int i = 0; i < 3; i++) d.offer(i);
    executor.runAll();
    assertThat(heard).containsExactly(0, 2);
  }

  @Test
  void anExecutorThatRefusesNeverThrowsIntoTheOffererAndTheEventsWaitForTheNextOffer() {
    EventDispatcher<Integer> d = new EventDispatcher<>(16, executor, heard::add, lost::add);
    executor.refuse = true;
    d.offer(1); // from inside the core's step: must not throw
    executor.refuse = false;
    d.offer(2);
    executor.runAll();
    assertThat(heard).containsExactly(1, 2);
  }
}
