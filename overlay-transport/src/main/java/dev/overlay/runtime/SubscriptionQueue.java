package dev.overlay.runtime;

import dev.overlay.protocol.Message;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.SpscArrayQueue;
import org.jctools.queues.SpscGrowableArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries one subscription's messages from the node's loop to its handler's executor. Bounded:
 * when the handler falls behind and the queue is full, messages are dropped for this
 * subscription alone and the handler is told how many it missed before its next message. The
 * loop never waits for a handler.
 */
final class SubscriptionQueue {

  private static final Logger log = LoggerFactory.getLogger(SubscriptionQueue.class);
  private static final int BATCH = 256; // then yield the executor thread to other subscriptions

  private final MessagePassingQueue<Message.Data> queue;
  private final Executor executor;
  private final Consumer<Message.Data> handler;
  private final LongConsumer onLagged;
  /** Told, once, that the executor refused the handler and the subscription is closed. */
  private final Consumer<RuntimeException> onFailed;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong missedSinceReport = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong missed = new AtomicLong();
  private final AtomicLong handlerErrors = new AtomicLong();
  private final Runnable drain = this::drain;
  private volatile boolean closed;
  /** Set on the loop while this queue waits for its end-of-turn wake-up. */
  boolean pendingWake;

  /** Run the handler right on the node's loop, with no queue: for handlers that never block. */
  static final Executor ON_LOOP = Runnable::run;

  SubscriptionQueue(int capacity, Executor executor, Consumer<Message.Data> handler, LongConsumer onLagged,
      Consumer<RuntimeException> onFailed) {
    this.queue = executor == ON_LOOP ? null : boundedQueue(capacity);
    this.executor = executor;
    this.handler = handler;
    this.onLagged = onLagged;
    this.onFailed = onFailed;
  }

  boolean direct() {
    return queue == null;
  }

  /** For a direct subscription: call the handler now, on the loop. */
  void handleNow(Message.Data m) {
    if (closed) return;
    try {
      handler.accept(m);
      delivered.incrementAndGet();
    } catch (RuntimeException e) {
      handlerErrors.incrementAndGet();
      log.warn("a message handler threw; the message counts as delivered", e);
    }
  }

  /**
   * On the loop. Returns false when the message had to be dropped for this subscriber. The
   * consumer is woken by {@link #wake}, once per loop turn, not once per message.
   */
  boolean offer(Message.Data m) {
    if (closed) return true;
    boolean ok = queue.offer(m);
    if (!ok) {
      missed.incrementAndGet();
      missedSinceReport.incrementAndGet();
    }
    return ok;
  }

  /** On the loop, at the end of a turn that offered messages: start the consumer if it is idle. */
  void wake() {
    if (!closed && scheduled.compareAndSet(false, true)) schedule();
  }

  /**
   * Hands the drain to the executor. One that refuses (shut down, or bounded and full) closes
   * this subscription, visibly, once: a queue nobody drains would only hide the loss.
   */
  private void schedule() {
    try {
      executor.execute(drain);
    } catch (RuntimeException e) {
      scheduled.set(false); // no drain will run: the role it held is free again
      if (closed) {
        clearIfIdle();
        return;
      }
      close();
      onFailed.accept(e);
    }
  }

  /**
   * Stops delivery; from any thread. The queue is single-consumer, and the consumer is whoever
   * holds {@code scheduled}: a close while a drain holds it leaves the emptying to that drain
   * (clearing here too once made two threads poll at once, and the queue threw
   * NullPointerException in the drain: seen when a node closed right after its history came).
   */
  void close() {
    closed = true;
    clearIfIdle();
  }

  private void clearIfIdle() {
    if (queue != null && scheduled.compareAndSet(false, true)) {
      queue.clear();
      scheduled.set(false);
    }
  }

  boolean isClosed() {
    return closed;
  }

  long delivered() {
    return delivered.get();
  }

  long missed() {
    return missed.get();
  }

  long handlerErrors() {
    return handlerErrors.get();
  }

  int backlog() {
    return queue == null ? 0 : queue.size();
  }

  private void drain() {
    try {
      long lag = missedSinceReport.getAndSet(0);
      if (lag > 0 && !closed) onLagged.accept(lag);
      for (int i = 0; i < BATCH && !closed; i++) {
        Message.Data m = queue.poll();
        if (m == null) break;
        try {
          handler.accept(m);
          delivered.incrementAndGet();
        } catch (RuntimeException e) {
          handlerErrors.incrementAndGet();
          log.warn("a message handler threw; the message counts as delivered", e);
        }
      }
    } finally {
      scheduled.set(false);
      if (closed) {
        clearIfIdle(); // the close left it to us (or clears it itself, if it comes after this)
      } else if ((!queue.isEmpty() || missedSinceReport.get() > 0) && scheduled.compareAndSet(false, true)) {
        schedule(); // a message offered after our last poll but before the flag cleared must not wait
      }
    }
  }

  /**
   * Starts small and doubles up to {@code capacity} only when a handler falls that far behind:
   * a node with a hundred quiet subscriptions does not hold a hundred full-size arrays.
   */
  static <T> MessagePassingQueue<T> boundedQueue(int capacity) {
    int initial = 256;
    return capacity >= 2 * initial ? new SpscGrowableArrayQueue<>(initial, capacity) : new SpscArrayQueue<>(capacity);
  }
}
