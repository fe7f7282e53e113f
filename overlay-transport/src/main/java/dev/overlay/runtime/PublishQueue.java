package dev.overlay.runtime;

import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscGrowableArrayQueue;

/**
 * The application's publishes on their way to the loop: a bounded queue that any thread offers
 * to and the loop drains. A full queue refuses (the caller reports it); the loop is woken once
 * per batch, not once per publish.
 */
final class PublishQueue {

  /** One publish, with the future its result completes. */
  record Publish(StreamId stream, String name, byte[] payload, CompletableFuture<PublishResult> result) {}

  /** Publishes handled per drain, after which the loop is given back to IO (and the drain goes on later). */
  static final int DRAIN_BATCH = 4096;

  private final MessagePassingQueue<Publish> queue;
  private final int capacity;
  private final Executor loop;
  private final Runnable drain;
  private final AtomicBoolean drainScheduled = new AtomicBoolean();

  /**
   * @param loop where {@code drain} runs
   * @param drain the loop's task that calls {@link #drain}
   */
  PublishQueue(int capacity, Executor loop, Runnable drain) {
    this.capacity = capacity;
    // Grows (and stays grown) only as far as a burst of publishes needs; an idle node keeps a small array.
    this.queue = capacity >= 2048 ? new MpscGrowableArrayQueue<>(1024, capacity) : new MpscArrayQueue<>(capacity);
    this.loop = loop;
    this.drain = drain;
  }

  int capacity() {
    return capacity;
  }

  /** From any thread: queues the publish and wakes the loop; false if the queue is full. */
  boolean offer(Publish p) {
    if (!queue.offer(p)) return false;
    wake();
    return true;
  }

  /**
   * On the loop: hands up to {@link #DRAIN_BATCH} publishes to {@code handler}, in the order
   * offered. Returns whether more are left (the caller ends its turn, then calls {@link #wake}).
   */
  boolean drain(Consumer<Publish> handler) {
    drainScheduled.set(false);
    for (int i = 0; i < DRAIN_BATCH; i++) {
      Publish p = queue.poll();
      if (p == null) return false;
      handler.accept(p);
    }
    return !queue.isEmpty();
  }

  /** Makes sure a drain is coming. */
  void wake() {
    if (drainScheduled.compareAndSet(false, true)) loop.execute(drain);
  }

  /** On the loop, once the node has stopped: every publish still queued fails. */
  void failAll(Completions completions) {
    drainScheduled.set(false);
    for (Publish p = queue.poll(); p != null; p = queue.poll()) {
      completions.fail(p.result(), new IllegalStateException("the node is closed"));
    }
    completions.endOfTurn();
  }
}
