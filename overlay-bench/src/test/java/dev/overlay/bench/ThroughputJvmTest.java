package dev.overlay.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ThroughputJvmTest {

  private static final long GIB = 1L << 30;

  @Test
  void theSimulatorsDefaultHeapIsHalfTheMachineWithinFourAndEightGib() {
    assertThat(ThroughputJvm.defaultSimHeap(24 * GIB)).isEqualTo(8 * GIB);
    assertThat(ThroughputJvm.defaultSimHeap(12 * GIB)).isEqualTo(6 * GIB);
    assertThat(ThroughputJvm.defaultSimHeap(6 * GIB)).isEqualTo(4 * GIB);
    assertThat(ThroughputJvm.defaultSimHeap(0)).as("memory unknown").isEqualTo(4 * GIB);
  }
}
