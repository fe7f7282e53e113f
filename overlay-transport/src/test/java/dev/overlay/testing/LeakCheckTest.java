package dev.overlay.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The leak check itself: a buffer dropped without a release must be reported. */
class LeakCheckTest {

  @Test
  void aBufferNeverReleasedIsReported() {
    assertThat(LeakCheck.collectLeaks()).as("nothing leaked before this test").isEmpty();
    leakOne();
    assertThat(LeakCheck.collectLeaks()).anyMatch(l -> l.contains("ByteBuf") || l.contains("leaked"));
  }

  private static void leakOne() {
    ByteBuf lost = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    lost.writeLong(42); // touched, then dropped on the floor
  }
}
