package dev.overlay.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.NodeConfig;
import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.TreeStrategy;
import org.junit.jupiter.api.Test;

/** The scenarios at 1,000 nodes: reliability 1.0, and RMR and LDH within the 10,000-node targets. */
class ScenarioTest {

  @Test
  void aThousandNodesOnePublisher() {
    SimReport r = new Simulation(SimConfig.builder().nodes(1000).messages(1000).rate(100).seed(1)
        .latency("uniform:10-100").build()).run();
    assertThat(r.reliabilityMin()).isEqualTo(1.0);
    assertThat(r.rmr()).isLessThanOrEqualTo(0.05);
    assertThat(r.ldhMax()).isLessThanOrEqualTo(16);
    assertThat(r.latencyMsP99()).isLessThanOrEqualTo(1.25 * r.optLatencyMsP99());
    assertThat(r.violations()).isEmpty();
  }

  @Test
  void aThousandNodesHalfOfThemCrashing() {
    SimReport r = new Simulation(SimConfig.builder().nodes(1000).messages(1000).rate(100).seed(1)
        .latency("uniform:10-100").crashFraction(0.5).build()).run();
    assertThat(r.afterCrash().messages()).isGreaterThanOrEqualTo(200);
    assertThat(r.afterCrash().reliabilityMin()).isEqualTo(1.0);
    assertThat(r.violations()).isEmpty();
  }

  @Test
  void aThousandNodesAHundredPublishersWithEitherTreeStrategy() {
    for (TreeStrategy strategy : TreeStrategy.values()) {
      NodeConfig nc = NodeConfig.builder().broadcast(PlumtreeConfig.builder().treeStrategy(strategy).build()).build();
      SimReport r = new Simulation(SimConfig.builder().nodes(1000).publishers(100).messages(1000).rate(100).seed(1)
          .latency("uniform:10-100").nodeConfig(nc).build()).run();
      assertThat(r.reliabilityMin()).as(strategy.name()).isEqualTo(1.0);
      assertThat(r.violations()).as(strategy.name()).isEmpty();
    }
  }

  @Test
  void theGeographicModelToo() {
    SimReport r = new Simulation(SimConfig.builder().nodes(1000).messages(500).rate(100).seed(2).latency("geo").build()).run();
    assertThat(r.reliabilityMin()).isEqualTo(1.0);
    assertThat(r.rmr()).isLessThanOrEqualTo(0.05);
    assertThat(r.violations()).isEmpty();
  }
}
