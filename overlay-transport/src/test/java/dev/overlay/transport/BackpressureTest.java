package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackpressureTest {

  private static final long MS = 1_000_000L;
  private long now;
  private final List<Boolean> reading = new ArrayList<>();
  private final Backpressure bp = new Backpressure(1_000 * MS, () -> now, reading::add);

  @Test
  void oneCongestedLinkStopsAllReadingUntilEveryLinkIsWritable() {
    boolean a = bp.update(false, false);
    assertThat(a).isFalse();
    assertThat(reading).isEmpty();

    a = bp.update(a, true);
    assertThat(a).isTrue();
    assertThat(reading).containsExactly(false);
    assertThat(bp.congested()).isTrue();

    boolean b = bp.update(false, true);
    assertThat(reading).as("paused once, however many links are congested").containsExactly(false);

    a = bp.update(a, false);
    assertThat(bp.congested()).as("the other link is still congested").isTrue();
    assertThat(reading).containsExactly(false);

    now += 30 * MS;
    b = bp.update(b, false);
    assertThat(b).isFalse();
    assertThat(reading).containsExactly(false, true);
    assertThat(bp.congested()).isFalse();
    assertThat(bp.pauses()).isEqualTo(1);
    assertThat(bp.pausedMillis()).isEqualTo(30);
  }

  @Test
  void aCongestedLinkThatGoesAwayEndsThePause() {
    bp.update(false, true);
    bp.forget(true);
    assertThat(reading).containsExactly(false, true);
    assertThat(bp.congested()).isFalse();
  }

  @Test
  void aSaturatedOverlayKeepsThePauseButNotForEver() {
    bp.update(false, true);
    bp.update(false, true);
    now += 9_999 * MS;
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
    assertThat(reading).containsExactly(false);

    now += MS;
    assertThat(bp.check()).as("links waiting on each other must not stall the node").isEqualTo(Backpressure.Verdict.RESUME);
    assertThat(reading).containsExactly(false, true);
    assertThat(bp.forcedResumes()).isEqualTo(1);
    assertThat(bp.paused()).isFalse();
    assertThat(bp.congested()).as("until LinkManager exempts the links that held it").isTrue();
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
  }

  @Test
  void notPausedMeansNothingToCheck() {
    now += 60_000 * MS;
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
    assertThat(bp.pausedMillis()).isZero();
  }
}
