package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DialBackoffTest {

  private static final long MS = 1_000_000;
  private final SplittableRandom rng = new SplittableRandom(3);
  private final PeerId a = PeerId.random(rng);
  private final PeerId b = PeerId.random(rng);

  @Test
  void aPeerThatNeverFailedIsDialledAtOnce() {
    assertThat(new DialBackoff(100 * MS, 10_000 * MS, 8, rng).delay(a)).isZero();
  }

  @Test
  void theWaitIsJitteredBelowACeilingThatDoublesPerFailureUpToTheMax() {
    DialBackoff backoff = new DialBackoff(100 * MS, 1_000 * MS, 8, rng);
    long[] ceilings = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1_000 * MS, 1_000 * MS};
    for (long ceiling : ceilings) {
      backoff.failure(a);
      long most = 0;
      for (int i = 0; i < 2_000; i++) {
        long d = backoff.delay(a);
        assertThat(d).isBetween(0L, ceiling - 1);
        most = Math.max(most, d);
      }
      assertThat(most).as("full jitter reaches near the ceiling").isGreaterThan(ceiling * 9 / 10);
    }
  }

  @Test
  void aSuccessForgetsTheFailures() {
    DialBackoff backoff = new DialBackoff(100 * MS, 1_000 * MS, 8, rng);
    backoff.failure(a);
    backoff.success(a);
    assertThat(backoff.delay(a)).isZero();
  }

  @Test
  void manyFailuresNeitherOverflowNorExceedTheMax() {
    DialBackoff backoff = new DialBackoff(100 * MS, 60_000 * MS, 8, rng);
    for (int i = 0; i < 100; i++) backoff.failure(a);
    for (int i = 0; i < 1_000; i++) assertThat(backoff.delay(a)).isBetween(0L, 60_000 * MS);
  }

  @Test
  void theTableIsBoundedAndForgetsTheLeastRecentlyFailedFirst() {
    DialBackoff backoff = new DialBackoff(100 * MS, 1_000 * MS, 1, rng);
    backoff.failure(a);
    backoff.failure(b); // a is forgotten: its next dial goes at once
    assertThat(backoff.delay(a)).isZero();
    long most = 0;
    for (int i = 0; i < 100; i++) most = Math.max(most, backoff.delay(b));
    assertThat(most).isPositive();
  }
}
