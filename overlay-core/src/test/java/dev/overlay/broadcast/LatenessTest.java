package dev.overlay.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The repair wait: smoothed like RFC 6298's RTT, capped, and halving while no late copy is seen. */
class LatenessTest {

  private static final long MS = 1_000_000L;

  @Test
  void noSampleMeansTheConfiguredWait() {
    assertThat(new Lateness().timeoutNanos(0)).isZero();
  }

  @Test
  void theFirstSampleGivesItTwiceAndTheEstimateFollowsLaterOnesSmoothly() {
    Lateness l = new Lateness();
    l.sample(0, 100 * MS);
    assertThat(l.timeoutNanos(0)).isEqualTo(100 * MS + 4 * 50 * MS); // srtt + 4 rttvar, rttvar = srtt / 2
    l.sample(0, 100 * MS);
    assertThat(l.timeoutNanos(0)).isEqualTo(100 * MS + 4 * (50 * MS - 50 * MS / 4));
  }

  @Test
  void itIsCappedAndHalvesEveryHalfLifeWithoutASample() {
    Lateness l = new Lateness();
    l.sample(0, 60_000 * MS);
    assertThat(l.timeoutNanos(0)).isEqualTo(Lateness.MAX_NANOS);
    assertThat(l.timeoutNanos(Lateness.HALF_LIFE_NANOS)).isEqualTo(Lateness.MAX_NANOS / 2);
    assertThat(l.timeoutNanos(40 * Lateness.HALF_LIFE_NANOS)).as("on time again: back to the configured wait").isZero();
  }

  @Test
  void aNegativeSampleIsIgnored() {
    Lateness l = new Lateness();
    l.sample(0, -5);
    assertThat(l.timeoutNanos(0)).isZero();
  }
}
