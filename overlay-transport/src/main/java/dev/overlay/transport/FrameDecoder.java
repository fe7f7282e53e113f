package dev.overlay.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;

/**
 * Splits the byte stream into frames: an unsigned varint length, then that many bytes. A length
 * over the limit fails at once, before any of the frame is buffered, so a peer can never make us
 * hold more than {@code maxFrameBytes} of one frame. Emits retained slices of the input.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

  private final int maxFrameBytes;

  public FrameDecoder(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    while (in.isReadable()) {
      int start = in.readerIndex();
      int length = 0;
      int shift = 0;
      boolean complete = false;
      while (in.isReadable()) {
        byte b = in.readByte();
        length |= (b & 0x7F) << shift;
        if (b >= 0) {
          complete = true;
          break;
        }
        shift += 7;
        if (shift >= 35) throw new CorruptedFrameException("frame length is not a valid varint");
      }
      if (!complete) {
        in.readerIndex(start); // wait for the rest of the length
        return;
      }
      if (length <= 0) throw new CorruptedFrameException("empty or negative frame length " + length);
      if (length > maxFrameBytes) {
        throw new TooLongFrameException("frame of " + Integer.toUnsignedString(length) + " bytes, limit " + maxFrameBytes);
      }
      if (in.readableBytes() < length) {
        in.readerIndex(start);
        return;
      }
      out.add(in.retainedSlice(in.readerIndex(), length));
      in.skipBytes(length);
    }
  }
}
