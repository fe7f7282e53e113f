package dev.overlay.transport;

import dev.overlay.protocol.Message;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;

/**
 * The link's decoders as a fuzzer or a test drives them: framing on an embedded channel, then
 * the fast DATA path. For robustness checks only; nodes never call it.
 */
public final class FrameDecoderProbe {

  private FrameDecoderProbe() {}

  /** The frames the framing decoder cuts from {@code bytes} before it refuses them (if it does). */
  public static List<byte[]> frames(byte[] bytes) {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(WireCodec.MIN_FRAME_LIMIT));
    List<byte[]> out = new ArrayList<>();
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(bytes));
    } catch (DecoderException refused) {
      // refused: the link would be closed; what came before still counts
    }
    for (Object o = ch.readInbound(); o != null; o = ch.readInbound()) {
      ByteBuf b = (ByteBuf) o;
      byte[] f = new byte[b.readableBytes()];
      b.readBytes(f);
      b.release();
      out.add(f);
    }
    try {
      ch.finishAndReleaseAll();
    } catch (DecoderException refusedOnClose) {
      // the bytes left at the close are refused too: a link closes either way
    }
    return out;
  }

  /** A frame body through the link's decoder (DATA by the fast path); null when it is refused. */
  public static Message decodeFast(byte[] body) {
    ByteBuf b = Unpooled.wrappedBuffer(body);
    try {
      return WireFrames.decodeMessage(b, new IdCache(), WireCodec.MAX_PAYLOAD_BYTES);
    } catch (WireException e) {
      return null;
    } finally {
      b.release();
    }
  }
}
