package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DialGateTest {

  private static final long MS = 1_000_000;
  private static final long S = 1_000 * MS;

  @Test
  void dialsBeyondTheRateAreRefusedUntilTheBucketRefills() {
    DialGate gate = new DialGate(10, 1_000, 100 * MS, 30 * S, new SplittableRandom(1));
    int started = 0;
    for (int i = 0; i < 100; i++) {
      if (gate.tryStart(0, "10.0.0.1:" + (1000 + i)) == null) started++;
    }
    assertThat(started).isEqualTo(10);
    assertThat(gate.refusedBudget()).isEqualTo(90);
    assertThat(gate.tryStart(S / 2, "10.0.0.2:1")).isNull(); // half a second: five more tokens
  }

  @Test
  void dialsInProgressAreCapped() {
    DialGate gate = new DialGate(1_000, 2, 100 * MS, 30 * S, new SplittableRandom(1));
    assertThat(gate.tryStart(0, "a:1")).isNull();
    assertThat(gate.tryStart(0, "b:1")).isNull();
    assertThat(gate.tryStart(0, "c:1")).contains("2 in progress");
    gate.finished(0, "a:1", true);
    assertThat(gate.tryStart(0, "c:1")).isNull();
  }

  @Test
  void anAddressThatFailedIsNotDialledAgainWithinItsBackoffWhateverPeerItIsFor() {
    DialGate gate = new DialGate(1_000, 100, 100 * MS, 30 * S, new SplittableRandom(1));
    long now = 0;
    for (int failures = 1; failures <= 5; failures++) {
      assertThat(gate.tryStart(now, "tarpit:443")).isNull();
      gate.finished(now, "tarpit:443", false);
      long floor = (100 * MS << (failures - 1)) / 2; // half the doubled backoff is fixed
      assertThat(gate.tryStart(now + floor - 1, "tarpit:443")).startsWith("address in backoff");
      now += 100 * MS << failures; // past the whole backoff
    }
    assertThat(gate.tryStart(now, "other:443")).isNull();
  }

  @Test
  void aLinkClearsTheBackoff() {
    DialGate gate = new DialGate(1_000, 100, 100 * MS, 30 * S, new SplittableRandom(1));
    gate.tryStart(0, "x:1");
    gate.finished(0, "x:1", false);
    gate.tryStart(S, "x:1");
    gate.finished(S, "x:1", true);
    assertThat(gate.tryStart(S, "x:1")).isNull();
  }
}
