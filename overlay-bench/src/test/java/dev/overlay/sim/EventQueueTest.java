package dev.overlay.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

class EventQueueTest {

  private static final class Tagged extends EventQueue.Entry {
    final int tag;

    Tagged(int tag) {
      this.tag = tag;
    }

    @Override
    void fire() {}
  }

  /**
   * Interleaved adds and polls come out in (time, insertion) order, whatever the mix of same-time
   * ties, near events and far ones beyond the ring.
   */
  @Property
  void pollsInTimeThenInsertionOrder(@ForAll @Size(max = 300) List<@LongRange(min = 0, max = 20_000_000_000L) Long> delays,
      @ForAll @Size(max = 300) List<Boolean> pollBetween) {
    EventQueue q = new EventQueue();
    record Ref(long time, long order, int tag) {}
    PriorityQueue<Ref> model = new PriorityQueue<>((a, b) -> a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.order, b.order));
    long now = 0;
    long order = 0;
    int tag = 0;
    List<Integer> got = new ArrayList<>();
    List<Integer> want = new ArrayList<>();
    for (int i = 0; i < delays.size(); i++) {
      long d = delays.get(i) % 7 == 0 ? 0 : delays.get(i) % 3 == 0 ? delays.get(i) % 1_000_000 : delays.get(i);
      q.add(now + d, new Tagged(tag));
      model.add(new Ref(now + d, order++, tag++));
      if (i < pollBetween.size() && pollBetween.get(i)) {
        Tagged t = (Tagged) q.poll();
        Ref r = model.poll();
        got.add(t.tag);
        want.add(r.tag);
        now = q.lastPolledTime();
        assertThat(now).isEqualTo(r.time);
      }
    }
    while (q.size() > 0) {
      got.add(((Tagged) q.poll()).tag);
      want.add(model.poll().tag);
    }
    assertThat(got).isEqualTo(want);
  }
}
