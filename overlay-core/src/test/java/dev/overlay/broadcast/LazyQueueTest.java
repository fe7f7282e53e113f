package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LazyQueueTest {

  @Test
  void consecutiveMessagesFromOnePeerFormOneRun() {
    LazyQueue q = new LazyQueue(16, 1024);
    for (long s = 1; s <= 5; s++) q.add(id(1), 9, s, (int) s, id(2));
    q.add(id(1), 9, 6, 1, id(3)); // another sender: a new run
    q.add(id(1), 9, 8, 1, id(3)); // not consecutive: a new run
    q.seal();
    assertThat(q.runs()).isEqualTo(3);
    assertThat(q.firstSeq(0)).isEqualTo(1);
    assertThat(q.count(0)).isEqualTo(5);
    assertThat(q.hops(0)).isEqualTo(5);
    assertThat(q.from(1)).isEqualTo(id(3));
    assertThat(q.firstSeq(2)).isEqualTo(8);
  }

  @Test
  void runsAreCappedInLengthAndTheQueueInRuns() {
    LazyQueue q = new LazyQueue(2, 3);
    boolean full = false;
    for (long s = 1; s <= 6 && !full; s++) full = q.add(id(1), 9, s, 1, null);
    assertThat(full).as("two runs of three fill it").isTrue();
    q.seal();
    assertThat(q.runs()).isEqualTo(2);
    assertThat(q.count(0)).isEqualTo(3);
    q.clear();
    assertThat(q.runs()).isZero();
  }
}
