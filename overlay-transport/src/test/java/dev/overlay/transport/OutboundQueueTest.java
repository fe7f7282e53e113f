package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {

  private final long[] clock = {0};
  private EmbeddedChannel ch;
  private OutboundQueue q;

  @BeforeEach
  void setUp() {
    ch = new EmbeddedChannel();
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1_000, 2_000));
    q = new OutboundQueue(3_000, 600, PooledByteBufAllocator.DEFAULT, () -> clock[0]);
  }

  @AfterEach
  void tearDown() {
    q.releaseAll();
    ch.flush(); // unflushed writes with void promises would fail on close, as exceptions
    ch.finishAndReleaseAll();
  }

  private static ByteBuf frame(int size, int tag) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
    for (int i = 0; i < size; i++) b.writeByte(tag);
    return b;
  }

  /** Offers a frame the way the runtime does: the caller keeps (and then releases) its buffer. */
  private OutboundQueue.Offer offer(int size, int tag, boolean control) {
    ByteBuf f = frame(size, tag);
    try {
      return q.offer(f, control, ch);
    } finally {
      f.release();
    }
  }

  /** Everything written to the channel, flattened to the tags of its bytes in order. */
  private List<Integer> flushedTags() {
    ch.flush();
    List<Integer> tags = new ArrayList<>();
    for (ByteBuf b = ch.readOutbound(); b != null; b = ch.readOutbound()) {
      while (b.isReadable()) tags.add((int) b.readByte());
      b.release();
    }
    return tags;
  }

  private static List<Integer> tags(int size, int tag) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < size; i++) out.add(tag);
    return out;
  }

  @Test
  void smallFramesShareOneWriteInTheOrderSent() {
    offer(10, 1, false);
    offer(20, 2, true);
    offer(30, 3, false);
    assertThat(ch.outboundMessages()).as("nothing handed over before the flush").isEmpty();
    assertThat(q.drainTo(ch)).isTrue();
    ch.flush();
    assertThat(ch.outboundMessages()).hasSize(1);
    List<Integer> expected = new ArrayList<>(tags(10, 1));
    expected.addAll(tags(20, 2));
    expected.addAll(tags(30, 3));
    assertThat(flushedTags()).isEqualTo(expected);
  }

  @Test
  void aLargeFrameIsSharedNotCopied() {
    ByteBuf big = frame(OutboundQueue.SHARE_AT, 5);
    q.offer(big, false, ch);
    assertThat(big.refCnt()).as("the queue holds a duplicate of it").isEqualTo(2);
    big.release();
    ch.flush();
    ByteBuf written = ch.readOutbound();
    assertThat(written.readableBytes()).isEqualTo(OutboundQueue.SHARE_AT);
    written.release();
    assertThat(big.refCnt()).isZero();
  }

  @Test
  void whileUnwritableControlOvertakesQueuedData() {
    ch.write(frame(2_500, 9)); // past the high water mark, not flushed
    assertThat(ch.isWritable()).isFalse();
    offer(100, 1, false);
    offer(100, 2, true);
    offer(100, 3, false);
    assertThat(q.queuedBytes()).isEqualTo(300);
    ch.flush(); // the peer reads: writable again
    assertThat(ch.isWritable()).isTrue();
    flushedTags(); // the 2,500 bytes
    assertThat(q.drainTo(ch)).isTrue();
    List<Integer> expected = new ArrayList<>(tags(100, 2));
    expected.addAll(tags(100, 1));
    expected.addAll(tags(100, 3));
    assertThat(flushedTags()).isEqualTo(expected);
    assertThat(q.isEmpty()).isTrue();
  }

  @Test
  void fullLanesRefuseAndTheDataLaneKnowsHowLongItWasBacklogged() {
    ch.write(frame(2_500, 9));
    clock[0] = 1_000;
    assertThat(offer(2_000, 1, false)).isEqualTo(OutboundQueue.Offer.ACCEPTED);
    assertThat(offer(1_001, 2, false)).isEqualTo(OutboundQueue.Offer.DATA_FULL);
    assertThat(offer(600, 3, true)).isEqualTo(OutboundQueue.Offer.ACCEPTED);
    assertThat(offer(1, 4, true)).isEqualTo(OutboundQueue.Offer.CONTROL_FULL);
    assertThat(q.backloggedFor(6_000)).isEqualTo(5_000);
    ch.flush();
    flushedTags();
    q.drainTo(ch);
    assertThat(q.backloggedFor(7_000)).isZero();
  }

  @Test
  void withoutAChannelEverythingWaitsInTheLanes() {
    ByteBuf f = frame(10, 1);
    q.offer(f, false, null);
    f.release();
    assertThat(q.isEmpty()).isFalse();
    assertThat(q.releaseAll()).isEqualTo(1);
    assertThat(q.isEmpty()).isTrue();
  }

  @Test
  void drainAllIgnoresWritability() {
    ch.write(frame(2_500, 9));
    offer(100, 1, false);
    offer(100, 2, true);
    q.drainAll(ch);
    assertThat(q.isEmpty()).isTrue();
    List<Integer> tags = flushedTags();
    assertThat(tags).hasSize(2_700);
  }
}
