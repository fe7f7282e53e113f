package dev.overlay.transport;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;
import dev.overlay.wire.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Frames on Netty buffers: {@code varint length, Frame}. Data messages, the bulk of the traffic,
 * are written and read by hand (the same bytes protobuf would produce and accept), straight
 * into and out of pooled buffers; everything else goes through the generated classes.
 */
public final class WireFrames {

  // Frame field numbers (overlay.proto) and protobuf wire types.
  private static final int FRAME_DATA = 1;
  private static final int FIELD_LEN = 2;

  private WireFrames() {}

  // ---- Encoding ---------------------------------------------------------------------------

  /** A framed message in a new pooled buffer. */
  public static ByteBuf encode(ByteBufAllocator alloc, Message m) {
    if (m instanceof Message.Data d) return encodeData(alloc, d);
    return encode(alloc, WireCodec.toFrame(m));
  }

  /** Appends a framed message to {@code buf}, which grows as needed. */
  public static void encodeInto(ByteBuf buf, Message m) {
    if (m instanceof Message.Data d) {
      encodeDataInto(buf, d);
    } else {
      encodeInto(buf, WireCodec.toFrame(m));
    }
  }

  static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
    int body = frame.getSerializedSize();
    ByteBuf buf = alloc.buffer(varintSize(body) + body);
    encodeInto(buf, frame, body);
    return buf;
  }

  static void encodeInto(ByteBuf buf, Frame frame) {
    encodeInto(buf, frame, frame.getSerializedSize());
  }

  private static void encodeInto(ByteBuf buf, Frame frame, int body) {
    buf.ensureWritable(varintSize(body) + body);
    writeVarint(buf, body);
    int at = buf.writerIndex();
    ByteBuffer nio = buf.nioBuffer(at, body);
    try {
      CodedOutputStream cos = CodedOutputStream.newInstance(nio);
      frame.writeTo(cos);
      cos.flush();
    } catch (IOException e) {
      throw new IllegalStateException("protobuf could not write a frame it sized", e);
    }
    buf.writerIndex(at + body);
  }

  /**
   * Frame{ data(1): Data{ stream(1) publisher(2) session(3) seq(4) hops(5) payload(6) } }, byte
   * for byte what protobuf writes (checked in WireFramesTest).
   */
  public static ByteBuf encodeData(ByteBufAllocator alloc, Message.Data d) {
    ByteBuf buf = alloc.buffer(encodedDataSize(d));
    encodeDataInto(buf, d);
    return buf;
  }

  /** The framed size of a Data message, length prefix included. */
  public static int encodedDataSize(Message.Data d) {
    int frameLen = dataFrameLength(dataLength(d));
    return varintSize(frameLen) + frameLen;
  }

  /** Proto3's canonical form: fields at their default value (zero, empty) are left out. */
  private static int dataLength(Message.Data d) {
    int n = d.payload().length;
    int seal = d.sealOnWire() ? sealLength(d.seal()) : -1;
    return (d.stream().value() != 0 ? 1 + 8 : 0) // stream: tag, fixed64
        + 1 + 1 + PeerId.BYTES // publisher: tag, length, bytes
        + (d.session() != 0 ? 1 + 8 : 0)
        + 1 + varintSize64(d.seq())
        + (d.hops() != 0 ? 1 + varintSize(d.hops()) : 0)
        + (n != 0 ? 1 + varintSize(n) + n : 0)
        + (seal >= 0 ? 1 + varintSize(seal) + seal : 0);
  }

  /** Seal{ first_seq(1) count(2) digests(3) public_key(4) signature(5) }: none of them ever at its default. */
  private static int sealLength(Seal s) {
    return 1 + varintSize64(s.firstSeq()) + 1 + varintSize(s.count()) + bytesField(s.digests().length)
        + bytesField(s.publicKey().length) + bytesField(s.signature().length);
  }

  private static int bytesField(int n) {
    return 1 + varintSize(n) + n;
  }

  private static int dataFrameLength(int dataLen) {
    return 1 + varintSize(dataLen) + dataLen;
  }

  /** Appends a framed Data message to {@code buf}, which grows as needed. */
  public static void encodeDataInto(ByteBuf buf, Message.Data d) {
    byte[] payload = d.payload();
    int dataLen = dataLength(d);
    int frameLen = dataFrameLength(dataLen);
    buf.ensureWritable(varintSize(frameLen) + frameLen);
    writeVarint(buf, frameLen);
    buf.writeByte(FRAME_DATA << 3 | FIELD_LEN);
    writeVarint(buf, dataLen);
    if (d.stream().value() != 0) buf.writeByte(1 << 3 | 1).writeLongLE(d.stream().value());
    PeerId p = d.publisher();
    buf.writeByte(2 << 3 | 2).writeByte(PeerId.BYTES).writeLong(p.w0()).writeLong(p.w1()).writeLong(p.w2()).writeLong(p.w3());
    if (d.session() != 0) buf.writeByte(3 << 3 | 1).writeLongLE(d.session());
    buf.writeByte(4 << 3);
    writeVarint64(buf, d.seq());
    if (d.hops() != 0) {
      buf.writeByte(5 << 3);
      writeVarint(buf, d.hops());
    }
    if (payload.length != 0) {
      buf.writeByte(6 << 3 | 2);
      writeVarint(buf, payload.length);
      buf.writeBytes(payload);
    }
    if (d.sealOnWire()) {
      Seal seal = d.seal();
      buf.writeByte(7 << 3 | 2);
      writeVarint(buf, sealLength(seal));
      buf.writeByte(1 << 3);
      writeVarint64(buf, seal.firstSeq());
      buf.writeByte(2 << 3);
      writeVarint(buf, seal.count());
      writeBytes(buf, 3, seal.digests());
      writeBytes(buf, 4, seal.publicKey());
      writeBytes(buf, 5, seal.signature());
    }
  }

  private static void writeBytes(ByteBuf buf, int field, byte[] bytes) {
    buf.writeByte(field << 3 | 2);
    writeVarint(buf, bytes.length);
    buf.writeBytes(bytes);
  }

  // ---- Decoding ---------------------------------------------------------------------------

  /** The frame's body field number, without consuming anything. */
  static int bodyField(ByteBuf frame) {
    return frame.isReadable() ? (frame.getByte(frame.readerIndex()) & 0xFF) >>> 3 : 0;
  }

  /** A stream message; Data by the fast path, the rest through protobuf. Payloads over the limit are refused. */
  public static Message decodeMessage(ByteBuf frame, IdCache ids, int maxPayloadBytes) throws WireException {
    if (bodyField(frame) == FRAME_DATA) {
      Message.Data d = decodeData(frame, ids, maxPayloadBytes);
      if (d != null) return d;
    }
    return WireCodec.fromFrame(parse(frame), maxPayloadBytes);
  }

  /** A link frame (Hello, Ping, Pong) or any frame, through protobuf. */
  static Frame parse(ByteBuf frame) throws WireException {
    try {
      return Frame.parseFrom(CodedInputStream.newInstance(frame.nioBuffer()));
    } catch (IOException e) {
      throw new WireException("not a valid frame: " + e.getMessage(), e);
    }
  }

  /**
   * The fast path for the common encoding; null (input untouched) when the frame uses anything
   * else, such as unknown fields from a newer peer, so that protobuf can have it.
   */
  private static Message.Data decodeData(ByteBuf frame, IdCache ids, int maxPayloadBytes) throws WireException {
    int start = frame.readerIndex();
    int end = start + frame.readableBytes();
    int i = start + 1; // past the frame tag
    long dataLen = readVarint(frame, i, end);
    if (dataLen < 0) throw new WireException("truncated data message");
    i += varintLength(frame, i, end);
    if (i + dataLen != end) return null; // trailing fields in the frame: not ours to guess at
    long stream = 0;
    long session = 0;
    long seq = 0;
    long hops = 0;
    PeerId publisher = null;
    int payloadAt = -1;
    int payloadLen = 0;
    Seal seal = null;
    while (i < end) {
      int tag = frame.getByte(i++) & 0xFF;
      switch (tag) {
        case 1 << 3 | 1 -> {
          if (i + 8 > end) throw new WireException("truncated data.stream");
          stream = frame.getLongLE(i);
          i += 8;
        }
        case 2 << 3 | 2 -> {
          if (i >= end || frame.getByte(i) != PeerId.BYTES) throw new WireException("data.publisher must be 32 bytes");
          if (i + 1 + PeerId.BYTES > end) throw new WireException("truncated data.publisher");
          publisher = ids.intern(frame.getLong(i + 1), frame.getLong(i + 9), frame.getLong(i + 17), frame.getLong(i + 25));
          i += 1 + PeerId.BYTES;
        }
        case 3 << 3 | 1 -> {
          if (i + 8 > end) throw new WireException("truncated data.session");
          session = frame.getLongLE(i);
          i += 8;
        }
        case 4 << 3 -> {
          seq = readVarint(frame, i, end);
          if (seq == Long.MIN_VALUE) throw new WireException("bad varint in data.seq");
          i += varintLength(frame, i, end);
        }
        case 5 << 3 -> {
          hops = readVarint(frame, i, end);
          if (hops == Long.MIN_VALUE) throw new WireException("bad varint in data.hops");
          i += varintLength(frame, i, end);
        }
        case 6 << 3 | 2 -> {
          long len = readVarint(frame, i, end);
          if (len < 0) throw new WireException("bad payload length");
          i += varintLength(frame, i, end);
          if (i + len > end) throw new WireException("payload runs past the frame");
          WireCodec.checkPayload(len, maxPayloadBytes);
          payloadAt = i;
          payloadLen = (int) len;
          i += (int) len;
        }
        case 7 << 3 | 2 -> {
          long len = readVarint(frame, i, end);
          if (len < 0) throw new WireException("bad seal length");
          i += varintLength(frame, i, end);
          if (i + len > end) throw new WireException("seal runs past the frame");
          seal = decodeSeal(frame, i, (int) (i + len));
          if (seal == null) return null; // a field we do not know: protobuf's turn
          i += (int) len;
        }
        default -> {
          return null;
        }
      }
    }
    if (publisher == null) throw new WireException("data.publisher is missing");
    WireCodec.positiveSeq(seq, "data.seq");
    if (hops < 0 || hops > WireCodec.MAX_TTL * 16) throw new WireException("data.hops out of range: " + hops);
    if (seal != null && !seal.covers(seq)) throw new WireException("data.seal does not cover data.seq " + seq);
    byte[] payload = new byte[payloadLen]; // the one copy of the payload
    if (payloadLen > 0) frame.getBytes(payloadAt, payload);
    frame.readerIndex(end);
    return new Message.Data(ids.stream(stream), publisher, session, seq, (int) hops, payload, seal, seal != null);
  }

  /** The seal in {@code frame[from..to)}, checked as WireCodec checks it; null if it holds a field we do not know. */
  private static Seal decodeSeal(ByteBuf frame, int from, int to) throws WireException {
    long first = 0;
    long count = 0;
    byte[] digests = null;
    byte[] key = null;
    byte[] signature = null;
    int i = from;
    while (i < to) {
      int tag = frame.getByte(i++) & 0xFF;
      if (tag == (1 << 3) || tag == (2 << 3)) {
        long v = readVarint(frame, i, to);
        if (v == Long.MIN_VALUE) throw new WireException("bad varint in seal");
        i += varintLength(frame, i, to);
        if (tag == (1 << 3)) first = v;
        else count = v;
      } else if (tag == (3 << 3 | 2) || tag == (4 << 3 | 2) || tag == (5 << 3 | 2)) {
        long len = readVarint(frame, i, to);
        if (len < 0 || len > Seal.MAX_COUNT * Seal.DIGEST_BYTES) throw new WireException("bad length in seal");
        i += varintLength(frame, i, to);
        if (i + len > to) throw new WireException("seal field runs past the seal");
        byte[] b = new byte[(int) len];
        frame.getBytes(i, b);
        i += (int) len;
        if (tag == (3 << 3 | 2)) digests = b;
        else if (tag == (4 << 3 | 2)) key = b;
        else signature = b;
      } else {
        return null;
      }
    }
    if (count < 1 || count > Seal.MAX_COUNT) throw new WireException("seal.count must be 1.." + Seal.MAX_COUNT + ", got " + count);
    WireCodec.positiveSeq(first, "seal.first_seq");
    if (first > Message.MAX_SEQ - count + 1) throw new WireException("seal range runs past the largest sequence number");
    if (digests == null || digests.length != count * Seal.DIGEST_BYTES) throw new WireException("seal.digests must be " + count * Seal.DIGEST_BYTES + " bytes");
    if (key == null || key.length == 0 || key.length > Seal.MAX_KEY_BYTES) throw new WireException("seal.public_key out of bounds");
    if (signature == null || signature.length == 0 || signature.length > Seal.MAX_SIGNATURE_BYTES) throw new WireException("seal.signature out of bounds");
    return new Seal(first, (int) count, digests, key, signature);
  }

  // ---- Varints ----------------------------------------------------------------------------

  static int varintSize(int v) {
    if ((v & (~0 << 7)) == 0) return 1;
    if ((v & (~0 << 14)) == 0) return 2;
    if ((v & (~0 << 21)) == 0) return 3;
    if ((v & (~0 << 28)) == 0) return 4;
    return 5;
  }

  static int varintSize64(long v) {
    int n = 1;
    while ((v & ~0x7FL) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }

  static void writeVarint(ByteBuf buf, int v) {
    while ((v & ~0x7F) != 0) {
      buf.writeByte((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf.writeByte(v);
  }

  static void writeVarint64(ByteBuf buf, long v) {
    while ((v & ~0x7FL) != 0) {
      buf.writeByte((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    buf.writeByte((int) v);
  }

  /** How many bytes the (already validated) varint at {@code i} takes; encoders may pad them. */
  private static int varintLength(ByteBuf buf, int i, int end) {
    int n = 1;
    while (i < end && buf.getByte(i++) < 0) n++;
    return n;
  }

  /** The varint at {@code i}, or Long.MIN_VALUE when it runs past {@code end} or is too long. */
  private static long readVarint(ByteBuf buf, int i, int end) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= end) return Long.MIN_VALUE;
      byte b = buf.getByte(i++);
      v |= (long) (b & 0x7F) << shift;
      if (b >= 0) return v;
    }
    return Long.MIN_VALUE;
  }
}
