package dev.overlay.node;

import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RoundTripsTest {

  @Test
  void aBusyNeighboursOnlyFigureOutlivesAFloodOfNewerOnes() {
    // A neighbour on a busy link is timed once, as its link comes up; then 2,000 other peers are
    // timed (JOINs within their budget would do it in under two minutes).
    RoundTrips t = new RoundTrips(p -> p.equals(id(1)));
    t.sample(id(1), 7_000_000);
    for (int i = 0; i < 2_000; i++) t.sample(id(100 + i), 1_000_000);
    assertThat(t.nanos(id(1))).isEqualTo(7_000_000);
    assertThat(t.size()).isEqualTo(RoundTrips.CAPACITY);
    assertThat(t.nanos(id(100))).as("the oldest unused figure went").isEqualTo(-1);
  }

  @Test
  void samplesAreSmoothedAndReadingRefreshesNothing() {
    RoundTrips t = new RoundTrips(p -> false);
    t.sample(id(1), 80_000_000);
    t.sample(id(1), 0);
    assertThat(t.nanos(id(1))).isEqualTo(70_000_000); // srtt += (0 - 80) / 8
    for (int i = 0; i < RoundTrips.CAPACITY - 1; i++) t.sample(id(100 + i), 1);
    t.nanos(id(1)); // a read
    t.sample(id(5_000), 1);
    assertThat(t.nanos(id(1))).as("the oldest sample goes, however often it was read").isEqualTo(-1);
  }
}
