package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import dev.overlay.testing.ManualExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The application's publishes on their way to the loop: bounded, in order, one wake-up per batch. */
class PublishQueueTest {

  private final ManualExecutor loop = new ManualExecutor();
  private final List<Integer> handled = new ArrayList<>();
  private int drains;
  private PublishQueue queue;

  private PublishQueue queue(int capacity) {
    queue = new PublishQueue(capacity, loop, () -> drains++);
    return queue;
  }

  private static PublishQueue.Publish publish(int n) {
    return new PublishQueue.Publish(StreamId.of("s"), "s", new byte[] {(byte) n}, new CompletableFuture<>());
  }

  @Test
  void aFullQueueRefusesAndTheLoopIsWokenOncePerBatch() {
    queue(2);
    assertThat(queue.offer(publish(1))).isTrue();
    assertThat(queue.offer(publish(2))).isTrue();
    assertThat(queue.offer(publish(3))).isFalse();
    assertThat(loop.tasks).hasSize(1);

    assertThat(queue.drain(p -> handled.add((int) p.payload()[0]))).isFalse();
    assertThat(handled).containsExactly(1, 2);

    queue.offer(publish(4));
    assertThat(loop.tasks).as("a new batch wakes the loop again").hasSize(2);
  }

  @Test
  void aDrainHandsOverABatchThenSaysMoreAreLeft() {
    queue(2 * PublishQueue.DRAIN_BATCH);
    for (int i = 0; i < PublishQueue.DRAIN_BATCH + 1; i++) queue.offer(publish(i));
    assertThat(queue.drain(p -> handled.add(1))).isTrue();
    assertThat(handled).hasSize(PublishQueue.DRAIN_BATCH);
    assertThat(queue.drain(p -> handled.add(1))).isFalse();
    assertThat(handled).hasSize(PublishQueue.DRAIN_BATCH + 1);
  }

  @Test
  void whenTheNodeStopsEveryQueuedPublishFails() {
    ManualExecutor delivery = new ManualExecutor();
    Completions completions = new Completions(delivery);
    queue(4);
    PublishQueue.Publish p = publish(1);
    queue.offer(p);

    queue.failAll(completions);
    delivery.runAll();

    assertThat(p.result()).isCompletedExceptionally();
    assertThat(queue.drain(x -> handled.add(1))).isFalse();
    assertThat(handled).isEmpty();
  }
}
