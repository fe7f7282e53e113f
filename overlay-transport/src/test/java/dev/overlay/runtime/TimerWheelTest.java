package dev.overlay.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Timer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TimerWheelTest {

  private static final long MS = 1_000_000;
  private static final long T0 = 5_000 * MS; // not zero, not tick-aligned below
  private static final StreamId S = StreamId.of("s");

  private static Timer timer(long n) {
    return new Timer.NeighborTimeout(S, PeerId.fromBytes(new byte[32]), n);
  }

  @Test
  void firesNothingEarlyAndEverythingOnceDue() {
    TimerWheel wheel = new TimerWheel(T0);
    wheel.schedule(timer(1), T0 + 10 * MS + 1);
    List<Timer> fired = new ArrayList<>();
    assertEquals(0, wheel.poll(T0 + 10 * MS, fired::add), "one nanosecond before its deadline");
    assertEquals(T0 + 10 * MS + 1, wheel.nextDeadline());
    assertEquals(1, wheel.poll(T0 + 10 * MS + 1, fired::add));
    assertEquals(List.of(timer(1)), fired);
    assertEquals(0, wheel.size());
    assertEquals(Long.MAX_VALUE, wheel.nextDeadline());
  }

  @Test
  void aTimerInThePastFiresAtTheNextPoll() {
    TimerWheel wheel = new TimerWheel(T0);
    wheel.poll(T0 + 50 * MS, t -> {});
    wheel.schedule(timer(1), T0); // already due
    List<Timer> fired = new ArrayList<>();
    assertEquals(1, wheel.poll(T0 + 50 * MS, fired::add));
  }

  @Test
  void farTimersBeyondOneRevolutionFireOnTimeNotEarly() {
    TimerWheel wheel = new TimerWheel(T0);
    long far = T0 + 5_000 * MS + 123; // five revolutions out: waits in the heap
    long near = T0 + 3 * MS;
    wheel.schedule(timer(1), far);
    wheel.schedule(timer(2), near);
    assertEquals(near, wheel.nextDeadline());
    Map<Timer, Long> firedAt = new HashMap<>();
    for (long now = T0; now <= T0 + 6_000 * MS; now += 7 * MS + 13) {
      long at = now;
      wheel.poll(now, t -> firedAt.put(t, at));
      if (!firedAt.containsKey(timer(2))) assertTrue(wheel.nextDeadline() <= near);
    }
    assertTrue(firedAt.get(timer(1)) >= far && firedAt.get(timer(1)) < far + 7 * MS + 13);
    assertTrue(firedAt.get(timer(2)) >= near && firedAt.get(timer(2)) < near + 7 * MS + 13);
  }

  @Test
  void aTimerScheduledWhileFiringIsKeptAndFiresWhenDue() {
    TimerWheel wheel = new TimerWheel(T0);
    wheel.schedule(timer(1), T0 + MS);
    List<Timer> fired = new ArrayList<>();
    wheel.poll(T0 + 2 * MS, t -> {
      fired.add(t);
      if (t.equals(timer(1))) {
        wheel.schedule(timer(2), T0 + 2 * MS); // due now: fires in this same poll
        wheel.schedule(timer(3), T0 + 2 * MS + 1); // due later in this tick: waits
      }
    });
    assertEquals(List.of(timer(1), timer(2)), fired);
    assertEquals(1, wheel.size());
    assertEquals(T0 + 2 * MS + 1, wheel.nextDeadline());
    wheel.poll(T0 + 2 * MS + 1, fired::add);
    assertEquals(List.of(timer(1), timer(2), timer(3)), fired);
  }

  /** Against a plain list: random deadlines and poll times, every timer fires exactly once, never early, in order of due time across polls. */
  @Test
  void matchesAReferenceModelOverRandomSchedules() {
    SplittableRandom rng = new SplittableRandom(42);
    for (int round = 0; round < 20; round++) {
      TimerWheel wheel = new TimerWheel(T0);
      Map<Timer, Long> deadline = new HashMap<>();
      Map<Timer, Long> firedAt = new HashMap<>();
      long now = T0;
      long n = 0;
      for (int step = 0; step < 2_000; step++) {
        if (rng.nextInt(3) > 0) {
          Timer t = timer(n++);
          long d = now + (rng.nextInt(10) == 0 ? rng.nextLong(4_000 * MS) : rng.nextLong(300 * MS)) - MS;
          deadline.put(t, d);
          wheel.schedule(t, d);
        } else {
          now += rng.nextLong(20 * MS);
          long at = now;
          long before = firedAt.size();
          wheel.poll(now, t -> assertEquals(null, firedAt.put(t, at), "fired twice: " + t));
          long due = deadline.values().stream().filter(d -> d <= at).count();
          assertEquals(due, firedAt.size(), "everything due by now has fired, nothing else");
          assertTrue(firedAt.size() >= before);
          long expectNext = deadline.entrySet().stream().filter(e -> !firedAt.containsKey(e.getKey()))
              .mapToLong(Map.Entry::getValue).min().orElse(Long.MAX_VALUE);
          assertEquals(expectNext, wheel.nextDeadline());
          assertEquals(deadline.size() - firedAt.size(), wheel.size());
        }
      }
    }
  }
}
