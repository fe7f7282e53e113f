package dev.overlay.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SimulationDeterminismTest {

  private static String run(long seed) {
    SimConfig c = SimConfig.builder().nodes(200).messages(150).seed(seed).latency("geo").crashFraction(0.2).churn(2, 1_000).build();
    return new Simulation(c).run().toJson(0);
  }

  @Test
  void theSameSeedGivesByteIdenticalJson() {
    assertThat(run(7)).isEqualTo(run(7));
  }

  @Test
  void anotherSeedGivesAnotherRun() {
    assertThat(run(7)).isNotEqualTo(run(8));
  }
}
