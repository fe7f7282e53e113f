package dev.overlay.runtime;

import dev.overlay.protocol.Timer;
import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * The core's timers, on a hashed wheel of 1 ms ticks covering about a second; timers further
 * out wait in a small heap until they come within reach. Fed the current time by
 * {@link #poll}; {@link #nextDeadline} tells the loop when to wake, so an idle node costs
 * nothing between timers. Used from the node's loop only.
 *
 * <p>Internal, not API: public only so that a JMH benchmark in overlay-bench can measure it.
 */
public final class TimerWheel {

  private static final long TICK = 1_000_000;
  private static final int SLOTS = 1024;
  private static final int MASK = SLOTS - 1;

  private record Far(long deadline, Timer timer) {}

  private final long[][] deadlines = new long[SLOTS][];
  private final Timer[][] timers = new Timer[SLOTS][];
  private final int[] sizes = new int[SLOTS];
  private final PriorityQueue<Far> far = new PriorityQueue<>((a, b) -> Long.compare(a.deadline, b.deadline));
  private long currentTick; // every tick before this has been polled; this one may hold timers still
  private int size;
  /** The earliest deadline, kept up to date by schedule and recomputed only after a poll. */
  private long earliest = Long.MAX_VALUE;
  private boolean earliestKnown = true;

  public TimerWheel(long now) {
    currentTick = now / TICK;
  }

  public void schedule(Timer timer, long deadline) {
    long tick = Math.max(deadline / TICK, currentTick);
    if (tick - currentTick >= SLOTS) {
      far.add(new Far(deadline, timer));
    } else {
      put((int) (tick & MASK), deadline, timer);
    }
    size++;
    if (earliestKnown && deadline < earliest) earliest = deadline;
  }

  /** Fires every timer due by {@code now}, in tick order. Returns how many fired. */
  public int poll(long now, Consumer<Timer> fire) {
    long nowTick = now / TICK;
    int fired = 0;
    earliestKnown = false;
    while (true) {
      pullNear();
      int slot = (int) (currentTick & MASK);
      int i = 0;
      while (i < sizes[slot]) {
        long d = deadlines[slot][i];
        if (d <= now) {
          Timer t = timers[slot][i];
          removeAt(slot, i);
          size--;
          fired++;
          fire.accept(t); // may schedule more timers, even into this slot
        } else {
          i++;
        }
      }
      // The current tick stays open: a timer scheduled later for a time already past lands in
      // it, and the next poll fires it, even at the same now.
      if (currentTick >= nowTick) break;
      currentTick++;
    }
    return fired;
  }

  /** The earliest deadline held, or Long.MAX_VALUE when empty. Cheap unless a poll came since the last call. */
  long nextDeadline() {
    if (!earliestKnown) {
      earliest = scanEarliest();
      earliestKnown = true;
    }
    return earliest;
  }

  private long scanEarliest() {
    if (size == 0) return Long.MAX_VALUE;
    long best = far.isEmpty() ? Long.MAX_VALUE : far.peek().deadline;
    for (int k = 0; k < SLOTS; k++) {
      int slot = (int) ((currentTick + k) & MASK);
      if (sizes[slot] == 0) continue;
      for (int i = 0; i < sizes[slot]; i++) best = Math.min(best, deadlines[slot][i]);
      return best; // later slots hold later deadlines
    }
    return best;
  }

  int size() {
    return size;
  }

  private void pullNear() {
    while (!far.isEmpty() && far.peek().deadline / TICK - currentTick < SLOTS) {
      Far f = far.poll();
      put((int) (Math.max(f.deadline / TICK, currentTick) & MASK), f.deadline, f.timer);
    }
  }

  private void put(int slot, long deadline, Timer timer) {
    if (deadlines[slot] == null) {
      deadlines[slot] = new long[4];
      timers[slot] = new Timer[4];
    } else if (sizes[slot] == deadlines[slot].length) {
      deadlines[slot] = Arrays.copyOf(deadlines[slot], sizes[slot] * 2);
      timers[slot] = Arrays.copyOf(timers[slot], sizes[slot] * 2);
    }
    deadlines[slot][sizes[slot]] = deadline;
    timers[slot][sizes[slot]] = timer;
    sizes[slot]++;
  }

  private void removeAt(int slot, int i) {
    int last = --sizes[slot];
    deadlines[slot][i] = deadlines[slot][last];
    timers[slot][i] = timers[slot][last];
    timers[slot][last] = null;
  }
}
