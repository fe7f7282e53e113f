package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.testing.ManualExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

/** One subscription's bounded hand-off from the loop to its handler: the loop never waits, a lagging handler is told. */
class SubscriptionQueueTest {

  private static final PeerId PUBLISHER = PeerId.random(new SplittableRandom(1));
  private final ManualExecutor executor = new ManualExecutor();
  private final List<Long> got = new ArrayList<>();
  private final List<Long> lagged = new ArrayList<>();
  private final List<RuntimeException> failed = new ArrayList<>();

  private static Message.Data message(long seq) {
    return new Message.Data(StreamId.of("s"), PUBLISHER, 1, seq, 0, new byte[] {1});
  }

  private SubscriptionQueue queue(int capacity, Executor e) {
    return new SubscriptionQueue(capacity, e, m -> got.add(m.seq()), lagged::add, failed::add);
  }

  @Test
  void messagesWaitForTheEndOfTheTurnThenRunOnTheHandlersExecutorInOrder() {
    SubscriptionQueue q = queue(16, executor);
    for (long s = 1; s <= 3; s++) assertThat(q.offer(message(s))).isTrue();
    assertThat(executor.tasks).as("woken once per turn, not per message").isEmpty();
    q.wake();
    q.wake();
    assertThat(executor.tasks).hasSize(1);
    executor.runAll();
    assertThat(got).containsExactly(1L, 2L, 3L);
    assertThat(q.delivered()).isEqualTo(3);
  }

  @Test
  void aFullQueueDropsForThisSubscriberOnlyAndTellsItHowManyBeforeItsNextMessage() {
    SubscriptionQueue q = queue(4, executor);
    for (long s = 1; s <= 7; s++) q.offer(message(s));
    q.wake();
    executor.runAll();
    assertThat(lagged).containsExactly(3L);
    assertThat(got).containsExactly(1L, 2L, 3L, 4L);
    assertThat(q.missed()).isEqualTo(3);
  }

  @Test
  void aHandlerThatThrowsDoesNotStopTheNextMessages() {
    SubscriptionQueue q = new SubscriptionQueue(16, executor, m -> {
      if (m.seq() == 2) throw new IllegalStateException("handler bug");
      got.add(m.seq());
    }, lagged::add, failed::add);
    for (long s = 1; s <= 3; s++) q.offer(message(s));
    q.wake();
    executor.runAll();
    assertThat(got).containsExactly(1L, 3L);
    assertThat(q.handlerErrors()).isEqualTo(1);
  }

  @Test
  void anExecutorThatRefusesClosesTheSubscriptionVisiblyOnce() {
    SubscriptionQueue q = queue(16, executor);
    executor.refuse = true;
    q.offer(message(1));
    q.wake();
    q.offer(message(2));
    q.wake();
    assertThat(q.isClosed()).isTrue();
    assertThat(failed).hasSize(1);
    assertThat(q.backlog()).as("nothing kept for nobody").isZero();
  }

  @Test
  void aDirectSubscriptionRunsOnTheLoopWithNoQueue() {
    SubscriptionQueue q = queue(16, SubscriptionQueue.ON_LOOP);
    assertThat(q.direct()).isTrue();
    q.handleNow(message(7));
    assertThat(got).containsExactly(7L);
    q.close();
    q.handleNow(message(8));
    assertThat(got).as("closed: nothing more").containsExactly(7L);
  }

  @Test
  void aCloseFromAnotherThreadLeavesTheQueueToTheDrainThatHoldsIt() {
    SubscriptionQueue q = queue(16, executor);
    for (long seq = 1; seq <= 3; seq++) q.offer(message(seq));
    q.wake(); // a drain is scheduled: it is the queue's one consumer now
    q.close();
    assertThat(q.backlog()).as("not polled by the closing thread").isEqualTo(3);
    executor.runAll();
    assertThat(q.backlog()).as("emptied by the drain, on its way out").isZero();
    assertThat(got).isEmpty();
  }

  @Test
  void aCloseWithNoDrainRunningEmptiesTheQueueAtOnce() {
    SubscriptionQueue q = queue(16, executor);
    q.offer(message(1));
    q.close();
    assertThat(q.backlog()).isZero();
  }

  @Test
  void aClosedSubscriptionTakesNothingAndRunsNothing() {
    SubscriptionQueue q = queue(16, executor);
    q.offer(message(1));
    q.wake();
    q.close();
    assertThat(q.offer(message(2))).isTrue();
    executor.runAll();
    assertThat(got).isEmpty();
  }
}
