package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One encoding per message, one buffer reused, and never one a link still holds. */
class FrameCacheTest {

  private static final PeerId P = PeerId.random(new SplittableRandom(1));
  private final FrameCache cache = new FrameCache(UnpooledByteBufAllocator.DEFAULT);

  @AfterEach
  void tearDown() {
    cache.release();
  }

  private static Message.Data data(long seq) {
    return new Message.Data(StreamId.of("s"), P, 1, seq, 0, new byte[] {(byte) seq});
  }

  @Test
  void theSameMessageIsEncodedOnceAndTheNextReusesTheBuffer() {
    Message.Data one = data(1);
    ByteBuf first = cache.encode(one);
    String bytes = ByteBufUtil.hexDump(first);
    assertThat(cache.encode(one)).isSameAs(first);
    ByteBuf second = cache.encode(data(2));
    assertThat(second).as("no link holds it: reused").isSameAs(first);
    assertThat(ByteBufUtil.hexDump(second)).isNotEqualTo(bytes);
  }

  @Test
  void aBufferALinkStillHoldsIsNeverOverwritten() {
    ByteBuf first = cache.encode(data(1));
    String bytes = ByteBufUtil.hexDump(first);
    ByteBuf held = first.retainedDuplicate(); // as a link keeps a large frame

    ByteBuf next = cache.encode(data(2));

    assertThat(next).isNotSameAs(first);
    assertThat(ByteBufUtil.hexDump(held)).isEqualTo(bytes);
    held.release();
  }

  @Test
  void afterTheTurnAMessageIsEncodedAfresh() {
    Message.Data one = data(1);
    ByteBuf first = cache.encode(one);
    first.clear(); // whatever happened to the bytes meanwhile
    cache.forget();
    assertThat(cache.encode(one).readableBytes()).as("encoded again, not trusted").isPositive();
  }
}
