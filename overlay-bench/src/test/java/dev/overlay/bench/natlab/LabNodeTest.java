package dev.overlay.bench.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The lab node's figures: what natlab reads from its output. */
class LabNodeTest {

  @Test
  void eachTenthOfTheRunHasItsOwnP99SoThatASlowStartShowsWhereItIs() {
    long[] micros = new long[1000];
    Arrays.fill(micros, 2_000);
    for (int i = 0; i < 20; i++) micros[i] = 40_000; // the first tenth starts cold
    micros[950] = 90_000; // one late message in the last tenth: below that tenth's p99

    assertThat(LabNode.windows(micros, 1000)).isEqualTo("p99_ms_by_tenth=40.0,2.0,2.0,2.0,2.0,2.0,2.0,2.0,2.0,2.0");
    assertThat(LabNode.percentiles(micros, 1000)).isEqualTo("p50=2000 p99=40000 max=90000 n=1000");
  }

  @Test
  void onlyTheFirstNValuesCount() {
    long[] micros = new long[100];
    Arrays.fill(micros, 0, 50, 1_000);
    Arrays.fill(micros, 50, 100, 9_000_000); // not received yet

    assertThat(LabNode.windows(micros, 50)).isEqualTo("p99_ms_by_tenth=1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0");
    assertThat(LabNode.percentiles(micros, 50)).isEqualTo("p50=1000 p99=1000 max=1000 n=50");
  }
}
