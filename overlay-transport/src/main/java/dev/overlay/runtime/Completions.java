package dev.overlay.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Completes the futures the API hands out (publish results, neighbour waits) off the node's
 * loop. Code chained on a future runs where it completes; on the loop, an application's
 * {@code thenRun(node::close)} would deadlock the node, and a slow one would stall it. The loop
 * gathers a turn's completions and hands them over as one task; batches run one at a time, in
 * order, on the node's delivery executor.
 */
final class Completions {

  private record Done(CompletableFuture<Object> future, Object value, Throwable error) {}

  private final Executor executor;
  private final Queue<List<Done>> batches = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicLong completedOnLoop = new AtomicLong();
  private final Runnable drain = this::drain;
  private List<Done> turn = new ArrayList<>(); // loop-confined

  Completions(Executor executor) {
    this.executor = executor;
  }

  /** On the loop: completes {@code future} with {@code value} once this turn ends. */
  @SuppressWarnings("unchecked")
  <T> void complete(CompletableFuture<T> future, T value) {
    turn.add(new Done((CompletableFuture<Object>) future, value, null));
  }

  /** On the loop: fails {@code future} once this turn ends. */
  @SuppressWarnings("unchecked")
  void fail(CompletableFuture<?> future, Throwable error) {
    turn.add(new Done((CompletableFuture<Object>) future, null, error));
  }

  /** On the loop, at the end of a turn: hands the turn's completions over. */
  void endOfTurn() {
    if (turn.isEmpty()) return;
    batches.add(turn);
    turn = new ArrayList<>();
    if (draining.compareAndSet(false, true)) schedule();
  }

  /** Futures completed on the loop because the executor refused: a shut-down user executor. */
  long completedOnLoop() {
    return completedOnLoop.get();
  }

  private void schedule() {
    try {
      executor.execute(drain);
    } catch (RuntimeException e) {
      // Nowhere else to run them: completing here is better than never.
      completedOnLoop.incrementAndGet();
      drain();
    }
  }

  private void drain() {
    try {
      for (List<Done> batch = batches.poll(); batch != null; batch = batches.poll()) {
        for (Done d : batch) {
          if (d.error() != null) d.future().completeExceptionally(d.error());
          else d.future().complete(d.value());
        }
      }
    } finally {
      draining.set(false);
      if (!batches.isEmpty() && draining.compareAndSet(false, true)) schedule();
    }
  }
}
