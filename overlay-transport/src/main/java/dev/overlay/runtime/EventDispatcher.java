package dev.overlay.runtime;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jctools.queues.MpscArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands events to the application's listener on another thread, through a bounded queue. A
 * listener that falls behind loses events (counted, and reported once it catches up) instead of
 * slowing the node.
 */
final class EventDispatcher<E> {

  private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

  private final MpscArrayQueue<E> queue;
  private final Executor executor;
  private final Consumer<E> listener;
  private final Consumer<Long> onDropped;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong droppedSinceReport = new AtomicLong();
  private final Runnable drain = this::drain;
  private volatile boolean refusalLogged;

  EventDispatcher(int capacity, Executor executor, Consumer<E> listener, Consumer<Long> onDropped) {
    this.queue = new MpscArrayQueue<>(capacity);
    this.executor = executor;
    this.listener = listener;
    this.onDropped = onDropped;
  }

  void offer(E event) {
    if (!queue.offer(event)) {
      dropped.incrementAndGet();
      droppedSinceReport.incrementAndGet();
    }
    if (scheduled.compareAndSet(false, true)) schedule();
  }

  /**
   * Offers come from inside the core's steps: nothing may throw back into them. An executor that
   * refuses leaves the events queued (and counted as dropped once the queue is full) until the
   * next offer tries again.
   */
  private void schedule() {
    try {
      executor.execute(drain);
    } catch (RuntimeException e) {
      scheduled.set(false);
      if (!refusalLogged) {
        refusalLogged = true;
        log.warn("the listener's executor refused a task; events wait, and are dropped once {} are queued", queue.capacity(), e);
      }
    }
  }

  long dropped() {
    return dropped.get();
  }

  private void drain() {
    try {
      long lost = droppedSinceReport.getAndSet(0);
      if (lost > 0) onDropped.accept(lost);
      for (int i = 0; i < 1024; i++) {
        E e = queue.poll();
        if (e == null) break;
        try {
          listener.accept(e);
        } catch (RuntimeException ex) {
          log.warn("the listener threw on {}", e, ex);
        }
      }
    } finally {
      scheduled.set(false);
      if ((!queue.isEmpty() || droppedSinceReport.get() > 0) && scheduled.compareAndSet(false, true)) schedule();
    }
  }
}
