package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

  private static ByteBuf frame(int length, int fill) {
    ByteBuf b = Unpooled.buffer();
    WireFrames.writeVarint(b, length);
    for (int i = 0; i < length; i++) b.writeByte(fill + i);
    return b;
  }

  private static List<byte[]> readAll(EmbeddedChannel ch) {
    List<byte[]> out = new ArrayList<>();
    for (ByteBuf f = ch.readInbound(); f != null; f = ch.readInbound()) {
      byte[] bytes = new byte[f.readableBytes()];
      f.readBytes(bytes);
      f.release();
      out.add(bytes);
    }
    return out;
  }

  @Test
  void splitsFramesWhateverTheChunking() {
    ByteBuf all = Unpooled.buffer();
    int[] lengths = {1, 127, 128, 300, 5, 16_384};
    for (int i = 0; i < lengths.length; i++) {
      ByteBuf f = frame(lengths[i], i);
      all.writeBytes(f);
      f.release();
    }
    byte[] wire = new byte[all.readableBytes()];
    all.readBytes(wire);
    all.release();
    Random random = new Random(7);
    for (int round = 0; round < 20; round++) {
      EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
      for (int at = 0; at < wire.length; ) { // random chunk sizes, down to single bytes
        int n = Math.min(wire.length - at, 1 + random.nextInt(round % 2 == 0 ? 3 : 2000));
        ch.writeInbound(Unpooled.wrappedBuffer(wire, at, n));
        at += n;
      }
      List<byte[]> frames = readAll(ch);
      assertThat(frames).extracting(b -> b.length).containsExactly(1, 127, 128, 300, 5, 16_384);
      for (int i = 0; i < frames.size(); i++) assertThat(frames.get(i)[0]).isEqualTo((byte) i);
      assertThat(ch.finish()).isFalse();
    }
  }

  @Test
  void refusesAnOversizedLengthBeforeBufferingAnyOfIt() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024));
    ByteBuf header = Unpooled.buffer();
    WireFrames.writeVarint(header, 1025); // only the length arrives: the body is never awaited
    assertThatThrownBy(() -> ch.writeInbound(header))
        .isInstanceOf(TooLongFrameException.class).hasMessageContaining("1025");
    ch.finishAndReleaseAll();
  }

  @Test
  void refusesAHugeLengthThatWouldOverflowAnInt() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
    ByteBuf header = Unpooled.wrappedBuffer(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F});
    assertThatThrownBy(() -> ch.writeInbound(header)).isInstanceOf(DecoderException.class);
    ch.finishAndReleaseAll();
  }

  @Test
  void refusesALengthThatIsNotAVarint() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
    ByteBuf garbage = Unpooled.wrappedBuffer(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 1});
    assertThatThrownBy(() -> ch.writeInbound(garbage)).isInstanceOf(CorruptedFrameException.class);
    ch.finishAndReleaseAll();
  }

  @Test
  void refusesAnEmptyFrame() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
    assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0})))
        .isInstanceOf(CorruptedFrameException.class);
    ch.finishAndReleaseAll();
  }

  @Test
  void waitsForAnIncompleteLength() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x81})); // 0x81 0x01 = 129
    assertThat((Object) ch.readInbound()).isNull();
    ByteBuf rest = Unpooled.buffer();
    rest.writeByte(0x01).writeZero(129);
    ch.writeInbound(rest);
    assertThat(readAll(ch)).extracting(b -> b.length).containsExactly(129);
    assertThat(ch.finish()).isFalse();
  }
}
