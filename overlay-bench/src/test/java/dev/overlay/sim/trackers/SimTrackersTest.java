package dev.overlay.sim.trackers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import dev.overlay.introduction.Rendezvous;
import dev.overlay.sim.SimConfig;
import dev.overlay.sim.SimReport;
import dev.overlay.sim.Simulation;
import dev.overlay.tracker.TrackerConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * 10,000 simulated nodes join 100 streams (100 nodes each, one publisher each) through three
 * real TrackerStates; one tracker crashes halfway through the joins. The same core and tracker
 * code as on the network, in virtual time.
 */
class SimTrackersTest {

  @Test
  void tenThousandNodesInAHundredStreamsThroughThreeTrackersOneCrashing() {
    long crashAt = 5_000_000_000L; // joins are spread over the first 10 s
    SimTrackers trackers = new SimTrackers(3, TrackerConfig.defaults(), 7, 40_000_000L, 0, crashAt);
    SimConfig config = SimConfig.builder().nodes(10_000).streams(100).publishers(100).messages(1_000).rate(100)
        .seed(7).latency("uniform:10-100").build();
    long start = System.nanoTime();
    SimReport report = new Simulation(config, trackers).run();
    System.out.println(report.summary((System.nanoTime() - start) / 1_000_000));

    assertThat(report.violations()).isEmpty();
    // Every message reached every member of its stream that was up when it was published,
    // on the crashed tracker's streams too.
    assertThat(report.whole().reliabilityMin()).isEqualTo(1.0);

    List<String> names = trackers.names();
    int homeOfCrashed = 0;
    for (int s = 0; s < 100; s++) {
      if (Rendezvous.order(names, StreamId.of("sim/" + s)).get(0).equals(names.get(0))) homeOfCrashed++;
    }
    System.out.printf("streams whose first tracker crashed: %d; answered by tracker: %d %d %d; failovers %d; re-registered %d; unanswered %d%n",
        homeOfCrashed, trackers.answered(0), trackers.answered(1), trackers.answered(2), trackers.failovers(),
        trackers.reRegistered(), trackers.unanswered());
    assertThat(homeOfCrashed).as("the crashed tracker served some streams").isBetween(15, 55);
    assertThat(trackers.isDown(0)).isTrue();
    // Joins after the crash for its streams went to the next tracker, and were answered.
    assertThat(trackers.failovers()).isGreaterThan(1_000);
    assertThat(trackers.unanswered()).isZero();
    assertThat(trackers.reRegistered()).as("members of its streams moved on").isGreaterThan(1_000);
    for (int t = 1; t < 3; t++) assertThat(trackers.tracker(t).invariantViolations()).isEmpty();
  }
}
