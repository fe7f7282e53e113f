package dev.overlay.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * When written frames go to the socket. Flushes are made once per loop turn, and on a busy
 * connection at most once per {@code flushCoalescing}: a connection flushed longer ago flushes at
 * the end of this turn, a recently flushed one a little later, together with whatever else is
 * written meanwhile. At low rates nothing waits; at high rates one TLS record and one system call
 * carry many frames. Used on the node's loop only.
 *
 * @param <T> what is flushed (a connection's handler)
 */
final class FlushScheduler<T> {

  /** Schedules a task after a delay on the loop (Netty's {@code EventLoop.schedule}). */
  interface Later {
    void schedule(Runnable task, long delayNanos);
  }

  /** One connection's flush bookkeeping, kept with it so that marking it costs no lookup. */
  static final class State<T> {
    final T owner;
    boolean dirty;
    boolean deferred;
    long lastFlush = Long.MIN_VALUE / 2; // never flushed: the first flush goes at once

    State(T owner) {
      this.owner = owner;
    }
  }

  private final Executor afterTurn;
  private final Later later;
  private final LongSupplier clock;
  private final long intervalNanos;
  private final Consumer<T> flush;
  private final List<State<T>> dirty = new ArrayList<>();
  private final List<State<T>> deferred = new ArrayList<>();
  private final Runnable flushDirty = this::flushDirty;
  private final Runnable flushDeferred = this::flushDeferred;
  private boolean dirtyScheduled;
  private boolean deferredScheduled;

  /**
   * @param afterTurn runs a task once the loop's current turn is over ({@code EventLoop.execute})
   * @param later runs a task after a delay on the loop
   * @param intervalNanos {@code flushCoalescing}
   * @param flush hands Netty what waits for the connection, then flushes it
   */
  FlushScheduler(Executor afterTurn, Later later, LongSupplier clock, long intervalNanos, Consumer<T> flush) {
    this.afterTurn = afterTurn;
    this.later = later;
    this.clock = clock;
    this.intervalNanos = intervalNanos;
    this.flush = flush;
  }

  /** Something was written to this connection: it is flushed at the end of the turn, or a little later. */
  void markDirty(State<T> s) {
    if (s.dirty) return;
    s.dirty = true;
    dirty.add(s);
    if (!dirtyScheduled) {
      dirtyScheduled = true;
      afterTurn.execute(flushDirty);
    }
  }

  private void flushDirty() {
    dirtyScheduled = false;
    long now = clock.getAsLong();
    for (int i = 0; i < dirty.size(); i++) {
      State<T> s = dirty.get(i);
      s.dirty = false;
      if (now - s.lastFlush >= intervalNanos) {
        flushNow(s, now);
      } else if (!s.deferred) {
        s.deferred = true;
        deferred.add(s);
      }
    }
    dirty.clear();
    if (!deferred.isEmpty() && !deferredScheduled) {
      deferredScheduled = true;
      later.schedule(flushDeferred, intervalNanos);
    }
  }

  private void flushDeferred() {
    deferredScheduled = false;
    long now = clock.getAsLong();
    for (int i = 0; i < deferred.size(); i++) {
      State<T> s = deferred.get(i);
      s.deferred = false;
      flushNow(s, now);
    }
    deferred.clear();
  }

  private void flushNow(State<T> s, long now) {
    s.lastFlush = now;
    flush.accept(s.owner);
  }
}
