package dev.overlay.runtime;

import dev.overlay.protocol.Timer;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Runs the node's work on its loop in turns. A turn reads the clock once (the core's
 * {@code now}), does its work, and ends with the end-of-turn work (waking subscribers, handing
 * over futures) and with arranging the loop to wake for the core's next timer.
 *
 * <p>Frames read in one pass of the loop share one turn ({@link #beginBatch}): the flushes,
 * wake-ups and timer bookkeeping then cost once per batch, not once per frame. Once stopped, no
 * turn runs: the loop may be shared with other nodes and live on, so everything this node
 * scheduled on it is cancelled.
 */
final class TurnDriver {

  private final EventLoop loop;
  private final LongSupplier clock;
  private final Runnable endOfTurnWork;
  private final Consumer<Timer> fire;
  private final Runnable pollTimers = this::pollTimers;
  private final Runnable closeBatch = this::closeBatch;
  /** Everything scheduled on the loop, cancelled when the node stops. */
  private final List<Future<?>> scheduled = new ArrayList<>();

  // Loop-confined.
  private TimerWheel timers;
  private long now;
  private boolean batchOpen;
  private long wakeAt = Long.MAX_VALUE;
  private Future<?> timerWake;
  private boolean stopped;

  /**
   * @param clock monotonic nanoseconds, the one clock the core, its timers and the loop's
   *     wake-ups read
   * @param endOfTurnWork runs at the end of every turn, on the loop
   * @param fire hands a due timer to the core, inside a turn
   */
  TurnDriver(EventLoop loop, LongSupplier clock, Runnable endOfTurnWork, Consumer<Timer> fire) {
    this.loop = loop;
    this.clock = clock;
    this.endOfTurnWork = endOfTurnWork;
    this.fire = fire;
  }

  /** On the loop, once, before the core's first turn: from here on the core's timers run. Returns now. */
  long start() {
    now = clock.getAsLong();
    timers = new TimerWheel(now);
    return now;
  }

  /** On the loop: starts a turn, reading the clock. Returns the turn's {@code now}. */
  long begin() {
    now = clock.getAsLong();
    return now;
  }

  /** The current turn's {@code now}. */
  long now() {
    return now;
  }

  /** The clock itself, for work outside the core's turns. */
  long nanoTime() {
    return clock.getAsLong();
  }

  /**
   * On the loop, for a frame just read: starts a turn unless the loop's current pass already
   * has one, which then ends after the loop has handled every ready channel. Returns {@code now}.
   */
  long beginBatch() {
    if (!batchOpen) {
      batchOpen = true;
      now = clock.getAsLong();
      loop.execute(closeBatch); // runs after the loop has handled every ready channel
    }
    return now;
  }

  /** On the loop: the core asked to hear {@code timer} after {@code delayNanos} of this turn's {@code now}. */
  void schedule(Timer timer, long delayNanos) {
    timers.schedule(timer, now + delayNanos);
  }

  /** From any thread: runs {@code task} on the loop as a turn of its own, unless stopped by then. */
  void execute(Runnable task) {
    loop.execute(() -> {
      if (stopped) return;
      task.run();
      end();
    });
  }

  /** From any thread: runs {@code task} as a turn every {@code period}, until stopped. */
  void every(Duration period, Runnable task) {
    scheduled.add(loop.scheduleAtFixedRate(() -> {
      if (stopped) return;
      task.run();
      end();
    }, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS));
  }

  /** On the loop: runs {@code task} as a turn once, after {@code delay}, unless stopped by then. */
  void after(Duration delay, Runnable task) {
    scheduled.removeIf(Future::isDone); // one-shots: keep the list short
    scheduled.add(loop.schedule(() -> {
      if (stopped) return;
      task.run();
      end();
    }, delay.toNanos(), TimeUnit.NANOSECONDS));
  }

  /**
   * From any thread, for work reported from inside a turn (a send, a disconnect): runs it as a
   * turn of its own afterwards, so that the core is never entered from inside itself.
   */
  void later(Runnable task) {
    if (stopped) return;
    try {
      execute(task);
    } catch (RejectedExecutionException e) {
      // the loop is shutting down: nothing will ask the core anything any more
    }
  }

  boolean stopped() {
    return stopped;
  }

  /** On the loop, after every piece of work: the end-of-turn work, then the next timer wake-up. */
  void end() {
    endOfTurnWork.run();
    if (timers == null || stopped) return;
    long next = timers.nextDeadline();
    if (next < wakeAt) {
      wakeAt = next;
      if (timerWake != null) timerWake.cancel(false); // superseded by the earlier deadline
      timerWake = loop.schedule(pollTimers, Math.max(0, next - clock.getAsLong()), TimeUnit.NANOSECONDS);
    }
  }

  /** On the loop: no turn runs from here on, and nothing this node scheduled on the loop does. */
  void stop() {
    stopped = true;
    for (Future<?> f : scheduled) f.cancel(false);
    scheduled.clear();
    if (timerWake != null) timerWake.cancel(false);
  }

  private void closeBatch() {
    batchOpen = false;
    if (!stopped) end();
  }

  private void pollTimers() {
    if (stopped) return;
    wakeAt = Long.MAX_VALUE;
    now = clock.getAsLong();
    timers.poll(now, fire);
    end();
  }
}
