package dev.overlay.sim.trackers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.tracker.TrackerConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The eclipse figures of issue 9 (3 honest members; 10, 100, 1,000 sybils), against the tracker's
 * defaults. Before the per-address quotas and group sampling, 10 sybils took 75 % of the
 * introductions and 100 took 98 %, leaving 33 of 40 newcomers with no honest peer.
 */
class EclipseExperimentTest {

  private static final long TWENTY_MINUTES = Duration.ofMinutes(20).toNanos();

  @Test
  void sybilsFromOneAddressNeverEclipseANewcomer() {
    for (int sybils : new int[] {10, 100, 1000}) {
      EclipseExperiment.Result r = EclipseExperiment.run(TrackerConfig.defaults(), 3, sybils, 1, 40, TWENTY_MINUTES, 1);
      System.out.printf("3 honest, %d sybils from 1 address: %.0f %% of introductions sybil, %d of 40 newcomers eclipsed%n",
          sybils, 100 * r.sybilShare(), r.newcomersWithoutHonestPeer());
      assertThat(r.newcomersWithoutHonestPeer()).isZero();
      assertThat(r.sybilShare()).isLessThan(0.5);
    }
  }

  @Test
  void sybilsFromTenAddressesStillLeaveEveryNewcomerAnHonestPeer() {
    EclipseExperiment.Result r = EclipseExperiment.run(TrackerConfig.defaults(), 3, 1000, 10, 40, TWENTY_MINUTES, 2);
    System.out.printf("3 honest, 1000 sybils from 10 addresses: %.0f %% sybil, %d of 40 eclipsed%n",
        100 * r.sybilShare(), r.newcomersWithoutHonestPeer());
    assertThat(r.newcomersWithoutHonestPeer()).isZero();
  }

  @Test
  void theSameSeedGivesTheSameFigures() {
    assertThat(EclipseExperiment.run(TrackerConfig.defaults(), 3, 100, 2, 20, TWENTY_MINUTES, 5))
        .isEqualTo(EclipseExperiment.run(TrackerConfig.defaults(), 3, 100, 2, 20, TWENTY_MINUTES, 5));
  }
}
