package dev.overlay.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IncarnationTableTest {

  private final SplittableRandom rng = new SplittableRandom(5);
  private final PeerId a = PeerId.random(rng);
  private final PeerId b = PeerId.random(rng);

  @Test
  void anEarlierIncarnationThanOneThePeerSentIsStale() {
    IncarnationTable t = new IncarnationTable(8);
    assertThat(t.isStale(a, 10)).isFalse();
    assertThat(t.isStale(a, 9)).isTrue();
    assertThat(t.isStale(a, 10)).as("the same incarnation again").isFalse();
    assertThat(t.isStale(a, 11)).as("a restart").isFalse();
    assertThat(t.isStale(a, 10)).as("now older than the restart").isTrue();
  }

  @Test
  void aRelayedIncarnationIsCheckedButNeverRecorded() {
    IncarnationTable t = new IncarnationTable(8);
    t.isStale(a, 10);
    assertThat(t.isOlder(a, 9)).isTrue();
    // A third party names a with a huge incarnation: were it recorded, a's own frames would be stale.
    assertThat(t.isOlder(a, Long.MAX_VALUE)).isFalse();
    assertThat(t.isStale(a, 10)).isFalse();
    assertThat(t.isOlder(b, 1)).as("an unknown peer").isFalse();
    assertThat(t.size()).isEqualTo(1);
  }

  @Test
  void itForgetsTheLeastRecentlyHeardBeyondItsCapacity() {
    IncarnationTable t = new IncarnationTable(1);
    t.isStale(a, 10);
    t.isStale(b, 5);
    assertThat(t.size()).isEqualTo(1);
    assertThat(t.isStale(a, 1)).as("a was forgotten: the check weakens, nothing breaks").isFalse();
  }
}
