package dev.overlay.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The simulator's service-time model (issue 10): nodes that cost CPU per message can be
 * overloaded, and backpressure, as the runtime applies it, must turn the excess into refusals at
 * the publisher rather than into repair traffic and loss.
 */
class ServiceTimeTest {

  /**
   * 20 nodes; a relay costs 20 µs a message taken in and 5 µs a copy sent, so with about four
   * eager children it forwards at most about 25,000 msg/s.
   */
  private static SimConfig.Builder overloaded(double rate, int window) {
    return SimConfig.builder().nodes(20).messages((int) (rate * 2)).rate(rate).seed(3).latency("uniform:1-2")
        .serviceTime(20_000, 5_000).backpressureWindow(window);
  }

  private static long grafts(SimReport r) {
    return r.nodeEvents().entrySet().stream().filter(e -> e.getKey().contains("Grafted"))
        .mapToLong(java.util.Map.Entry::getValue).sum();
  }

  @Test
  void belowCapacityNothingIsRefusedAndEverythingArrives() {
    SimReport r = new Simulation(overloaded(5_000, 1_000).build()).run();
    assertThat(r.drops()).containsEntry("publishes_refused", 0L);
    assertThat(r.reliabilityMin()).isEqualTo(1.0);
    assertThat(r.violations()).isEmpty();
  }

  @Test
  void atTwiceCapacityTheExcessIsRefusedAtThePublisherAndWhatWasAcceptedArrivesWithoutARepairStorm() {
    SimReport r = new Simulation(overloaded(50_000, 1_000).build()).run();
    long offered = r.config().messages();
    long refused = r.drops().get("publishes_refused");
    long accepted = offered - refused;
    assertThat(refused).as("refused at the publisher").isPositive();
    assertThat(accepted / 2.0).as("accepted msg/s: saturated near the relays' 25,000, not collapsed").isGreaterThan(20_000);
    assertThat(r.whole().reliabilityMin()).as("every accepted message reached everyone").isEqualTo(1.0);
    assertThat(grafts(r)).as("GRAFTs, against %d accepted messages", accepted).isLessThan(accepted / 100);
    assertThat(r.violations()).isEmpty();
  }

  @Test
  void withoutBackpressureNothingIsRefusedAndTheQueuesGrowInstead() {
    SimReport r = new Simulation(overloaded(50_000, 0).build()).run();
    assertThat(r.drops()).containsEntry("publishes_refused", 0L);
    assertThat(r.latencyMsP99()).as("latency grows with the backlog: seconds, not milliseconds").isGreaterThan(1_000);
    assertThat(r.violations()).isEmpty();
  }

  @Test
  void theSameSeedGivesTheSameRun() {
    String a = new Simulation(overloaded(50_000, 1_000).messages(20_000).build()).run().toJson(0);
    String b = new Simulation(overloaded(50_000, 1_000).messages(20_000).build()).run().toJson(0);
    assertThat(a).isEqualTo(b);
  }
}
