package dev.overlay.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class SeqIntervalSetTest {

  /** Records listener calls as strings. */
  static final class Gaps implements SeqIntervalSet.GapListener {
    final List<String> events = new ArrayList<>();

    @Override
    public void gapDetected(long from, long to) {
      events.add("detected " + from + ".." + to);
    }

    @Override
    public void gapResolved(long from, long to) {
      events.add("resolved " + from + ".." + to);
    }

    @Override
    public void gapAbandoned(long from, long to) {
      events.add("abandoned " + from + ".." + to);
    }
  }

  private final Gaps gaps = new Gaps();

  @Test
  void inOrderArrivalKeepsOneInterval() {
    SeqIntervalSet s = new SeqIntervalSet(8);
    for (long i = 1; i <= 1000; i++) assertThat(s.add(i, gaps)).isEqualTo(SeqIntervalSet.NEW);
    assertThat(s.intervals()).isEqualTo(1);
    assertThat(s.add(500, gaps)).isEqualTo(SeqIntervalSet.DUPLICATE);
    assertThat(gaps.events).isEmpty();
  }

  @Test
  void holesAreReportedAsTheyOpenAndClose() {
    SeqIntervalSet s = new SeqIntervalSet(8);
    s.add(1, gaps);
    s.add(5, gaps);
    s.add(3, gaps);
    s.add(2, gaps);
    s.add(4, gaps);
    assertThat(gaps.events).containsExactly("detected 2..4", "resolved 3..3", "resolved 2..2", "resolved 4..4");
    assertThat(s.intervals()).isEqualTo(1);
    assertThat(s.missing()).isZero();
  }

  @Test
  void anEarlierMessageBelowTheFirstOpensAHole() {
    SeqIntervalSet s = new SeqIntervalSet(8);
    s.add(10, gaps);
    s.add(7, gaps);
    assertThat(gaps.events).containsExactly("detected 8..9");
    assertThat(s.lowest()).isEqualTo(7);
  }

  @Test
  void atTheCapTheLowestHoleIsAbandonedAndOldNumbersRefused() {
    SeqIntervalSet s = new SeqIntervalSet(3);
    s.add(10, gaps);
    s.add(12, gaps);
    s.add(14, gaps);
    s.add(16, gaps); // a fourth interval: the hole 11 is given up
    assertThat(gaps.events).containsExactly("detected 11..11", "detected 13..13", "detected 15..15", "abandoned 11..11");
    assertThat(s.intervals()).isEqualTo(3);
    assertThat(s.add(11, gaps)).isEqualTo(SeqIntervalSet.DUPLICATE);
    assertThat(s.add(2, gaps)).isEqualTo(SeqIntervalSet.TOO_OLD);
  }

  @Test
  void nearTheCapANumberThatWouldSplitAHoleIsHeldBackButItsEdgesAreTaken() {
    SeqIntervalSet s = new SeqIntervalSet(8); // splits stop at six intervals
    for (long seq = 10; seq <= 60; seq += 10) s.add(seq, gaps); // six intervals, holes 11..19 and so on
    gaps.events.clear();
    assertThat(s.add(15, gaps)).isEqualTo(SeqIntervalSet.HELD_BACK);
    assertThat(s.contains(15)).isFalse();
    assertThat(s.add(11, gaps)).isEqualTo(SeqIntervalSet.NEW); // joins 10
    assertThat(s.add(19, gaps)).isEqualTo(SeqIntervalSet.NEW); // joins 20
    assertThat(s.add(70, gaps)).isEqualTo(SeqIntervalSet.NEW); // new holes above may still open
    assertThat(s.add(80, gaps)).isEqualTo(SeqIntervalSet.NEW);
    assertThat(s.intervals()).isEqualTo(8);
    assertThat(gaps.events).containsExactly("resolved 11..11", "resolved 19..19", "detected 61..69", "detected 71..79");
  }

  @Property
  void behavesLikeASetOfReceivedNumbers(@ForAll @Size(max = 300) List<@IntRange(min = 1, max = 200) Integer> arrivals) {
    SeqIntervalSet s = new SeqIntervalSet(1000); // large enough never to abandon
    TreeSet<Long> model = new TreeSet<>();
    for (int a : arrivals) {
      int outcome = s.add(a, gaps);
      assertThat(outcome).isEqualTo(model.add((long) a) ? SeqIntervalSet.NEW : SeqIntervalSet.DUPLICATE);
    }
    for (long q = 0; q <= 201; q++) assertThat(s.contains(q)).isEqualTo(model.contains(q));
    if (!model.isEmpty()) {
      long expectedMissing = model.last() - model.first() + 1 - model.size();
      assertThat(s.missing()).isEqualTo(expectedMissing);
    }
  }

  @Property
  void neverHoldsMoreThanItsCap(@ForAll @Size(max = 300) List<@IntRange(min = 1, max = 10_000) Integer> arrivals,
      @ForAll @IntRange(min = 2, max = 6) int cap) {
    SeqIntervalSet s = new SeqIntervalSet(cap);
    for (int a : arrivals) {
      s.add(a, gaps);
      assertThat(s.intervals()).isLessThanOrEqualTo(cap);
    }
  }
}
