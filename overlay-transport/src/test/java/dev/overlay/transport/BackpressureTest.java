package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackpressureTest {

  private static final long MS = 1_000_000L;
  private static final int LIMIT = 1000;

  private long now;
  private final List<Boolean> reading = new ArrayList<>();
  private final Backpressure bp = new Backpressure(LIMIT, 1_000 * MS, () -> now, reading::add);

  @Test
  void oneBackloggedLinkStopsAllReadingUntilEveryBacklogIsHalfTheLimit() {
    boolean a = bp.update(false, 999);
    assertThat(a).isFalse();
    assertThat(reading).isEmpty();

    a = bp.update(a, 1000);
    assertThat(a).isTrue();
    assertThat(reading).containsExactly(false);
    assertThat(bp.congested()).isTrue();

    boolean b = bp.update(false, 2000);
    assertThat(reading).as("paused once, however many links are congested").containsExactly(false);

    a = bp.update(a, 501);
    assertThat(a).as("hysteresis: congested until half the limit").isTrue();
    a = bp.update(a, 500);
    assertThat(a).isFalse();
    assertThat(bp.congested()).as("the other link is still congested").isTrue();

    now += 30 * MS;
    b = bp.update(b, 0);
    assertThat(b).isFalse();
    assertThat(reading).containsExactly(false, true);
    assertThat(bp.congested()).isFalse();
    assertThat(bp.pauses()).isEqualTo(1);
    assertThat(bp.pausedMillis()).isEqualTo(30);
  }

  @Test
  void aCongestedLinkThatGoesAwayEndsThePause() {
    bp.update(false, LIMIT);
    bp.forget(true);
    assertThat(reading).containsExactly(false, true);
    assertThat(bp.congested()).isFalse();
  }

  @Test
  void aPauseHeldByOneLinkNamesItsBottleneckAfterMaxPause() {
    bp.update(false, LIMIT);
    now += 999 * MS;
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
    now += MS;
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.DEMOTE);
  }

  @Test
  void aSaturatedOverlayKeepsThePauseButNotForEver() {
    bp.update(false, LIMIT);
    bp.update(false, LIMIT); // two congested links: the overlay is saturated, not one peer slow
    now += 5_000 * MS;
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
    assertThat(reading).containsExactly(false);

    now += 5_000 * MS;
    assertThat(bp.check()).as("links waiting on each other must not stall the node").isEqualTo(Backpressure.Verdict.RESUME);
    assertThat(reading).containsExactly(false, true);
    assertThat(bp.forcedResumes()).isEqualTo(1);
    assertThat(bp.paused()).isFalse();
    assertThat(bp.congested()).as("publishes are still refused while backlogs last").isTrue();
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
  }

  @Test
  void notPausedMeansNothingToCheck() {
    now += 60_000 * MS;
    assertThat(bp.check()).isEqualTo(Backpressure.Verdict.NONE);
    assertThat(bp.pausedMillis()).isZero();
  }
}
