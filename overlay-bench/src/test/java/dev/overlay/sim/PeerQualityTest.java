package dev.overlay.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.HyParViewConfig;
import dev.overlay.config.NodeConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: replacing each node's worst-scored neighbour (fewest first deliveries, longest round
 * trip) shortens the paths of the geographic model as the run goes on, without losing a message
 * or making a hotspot; with the churn off, the random graph keeps its long paths.
 */
class PeerQualityTest {

  private static SimReport run(Duration churnInterval) {
    NodeConfig c = NodeConfig.builder()
        .membership(HyParViewConfig.builder().churnInterval(churnInterval).build()).build();
    return new Simulation(SimConfig.builder().nodes(300).publishers(5).messages(2_400).rate(10).seed(1)
        .latency("geo").nodeConfig(c).build()).run();
  }

  @Test
  void churningTheWorstNeighboursShortensPathsWithoutLossOrHotspots() {
    SimReport off = run(Duration.ZERO);
    SimReport on = run(Duration.ofSeconds(20));
    List<WindowStats> offWindows = off.overTime();
    List<WindowStats> onWindows = on.overTime();
    assertThat(onWindows).hasSizeGreaterThanOrEqualTo(8); // 240 s in windows of 30 s
    WindowStats offLast = offWindows.get(offWindows.size() - 1);
    WindowStats onFirst = onWindows.get(0);
    WindowStats onLast = onWindows.get(onWindows.size() - 1);

    assertThat(onLast.rdpP50()).as("paths shorten as the run goes on").isLessThan(onFirst.rdpP50() * 0.75);
    assertThat(onLast.rdpP50()).as("and end shorter than the random graph's").isLessThan(offLast.rdpP50() * 0.75);
    assertThat(onLast.latencyMsP99()).isLessThan(offLast.latencyMsP99());
    assertThat(offLast.rdpP50()).as("without churn nothing improves").isGreaterThan(offWindows.get(0).rdpP50() * 0.9);

    assertThat(on.whole().reliabilityMin()).isEqualTo(1.0);
    assertThat(on.violations()).isEmpty();
    assertThat(on.degrees().inMax()).as("no hotspot: nobody is in more views than a view holds")
        .isLessThanOrEqualTo(HyParViewConfig.defaults().activeViewCapacity());
    assertThat(on.nodeEvents().getOrDefault("publishing.NeighborDown", 0L)).isPositive();
    assertThat(on.toJson(0)).contains("\"direct_latency_ms_p99\"", "\"in_degree_max\"", "\"over_time\"");
  }
}
