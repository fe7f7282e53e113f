package dev.overlay.sim;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** Properties over random small networks, seeds and faults, each run on the real core in the simulator. */
class SimulationPropertiesTest {

  @Provide
  Arbitrary<String> latencies() {
    return Arbitraries.of("const:20", "uniform:1-50", "uniform:10-100", "geo");
  }

  @Property(tries = 25)
  void withoutFaultsEveryLiveSubscriberDeliversEveryMessageExactlyOnce(
      @ForAll @IntRange(min = 4, max = 120) int nodes,
      @ForAll @IntRange(min = 1, max = 4) int publishers,
      @ForAll @LongRange(min = 1, max = 1_000_000) long seed,
      @ForAll("latencies") String latency) {
    SimReport r = new Simulation(SimConfig.builder()
        .nodes(nodes).publishers(Math.min(publishers, nodes)).messages(60).rate(50).seed(seed).latency(latency).build()).run();
    assertThat(r.whole().reliabilityMin()).as("every message reached every subscriber").isEqualTo(1.0);
    assertThat(r.violations()).as("no double delivery, no broken invariant").isEmpty();
  }

  @Property(tries = 25)
  void theInvariantsHoldThroughCrashesAndChurn(
      @ForAll @IntRange(min = 8, max = 120) int nodes,
      @ForAll @LongRange(min = 1, max = 1_000_000) long seed,
      @ForAll("latencies") String latency,
      @ForAll @DoubleRange(min = 0, max = 0.5) double crashFraction,
      @ForAll @DoubleRange(min = 0, max = 5) double churnPerSecond) {
    SimReport r = new Simulation(SimConfig.builder()
        .nodes(nodes).messages(80).rate(20).seed(seed).latency(latency)
        .crashFraction(crashFraction).churn(churnPerSecond, 1_500).build()).run();
    assertThat(r.violations()).isEmpty();
  }

  @Property(tries = 25)
  void afterUpToHalfTheNodesCrashTheSurvivorsGetEverythingWithinFiveSeconds(
      @ForAll @IntRange(min = 10, max = 150) int nodes,
      @ForAll @LongRange(min = 1, max = 1_000_000) long seed,
      @ForAll("latencies") String latency,
      @ForAll @DoubleRange(min = 0.05, max = 0.5) double crashFraction) {
    SimReport r = new Simulation(SimConfig.builder()
        .nodes(nodes).messages(200).rate(20).seed(seed).latency(latency)
        .crashFraction(crashFraction).crashAtMs(2_000).build()).run();
    assertThat(r.afterCrash()).isNotNull();
    assertThat(r.afterCrash().messages()).isPositive();
    assertThat(r.afterCrash().reliabilityMin()).isEqualTo(1.0);
    assertThat(r.violations()).isEmpty();
  }

  /**
   * A partition leaves every node connected on its own side and every invariant intact. The two
   * sides are not yet merged again once it heals: that needs periodic re-introduction and
   * active-view turnover (see docs/architecture.md, "Known limits").
   */
  /** Found by the property below: a GRAFT retried in a later round made its answerer eager at its end only. */
  @net.jqwik.api.Example
  void aGraftRetriedAfterEveryAnnouncerWasAskedKeepsBothEndsOfTheLinkInAgreement() {
    aPartitionBreaksNoInvariantAndIsolatesNobody(96, 1504, 0.28);
  }

  @Property(tries = 10)
  void aPartitionBreaksNoInvariantAndIsolatesNobody(
      @ForAll @IntRange(min = 10, max = 100) int nodes,
      @ForAll @LongRange(min = 1, max = 1_000_000) long seed,
      @ForAll @DoubleRange(min = 0.1, max = 0.5) double fraction) {
    SimConfig c = SimConfig.builder().nodes(nodes).messages(240).rate(20).seed(seed).latency("uniform:10-100")
        .partition(fraction, 1_000, 2_000).keepAliveTimeoutMs(1_000).build();
    SimReport r = new Simulation(c).run();
    assertThat(r.violations()).isEmpty();
  }
}
