package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.MessageRef;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;
import dev.overlay.wire.proto.Data;
import dev.overlay.wire.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WireFramesTest {

  private static final StreamId STREAM = StreamId.of("wire-test");
  private static final PeerId PUB = PeerId.random(new Random(3));

  /** Strips the length prefix, as FrameDecoder would. */
  private static ByteBuf body(ByteBuf framed) {
    long len = 0;
    int shift = 0;
    byte b;
    do {
      b = framed.readByte();
      len |= (long) (b & 0x7F) << shift;
      shift += 7;
    } while (b < 0);
    assertThat(framed.readableBytes()).isEqualTo(len);
    return framed;
  }

  private static Message decode(ByteBuf body) throws WireException {
    return WireFrames.decodeMessage(body, new IdCache(), WireCodec.MAX_PAYLOAD_BYTES);
  }

  @Test
  void dataRoundTripsThroughTheFastPathAndMatchesProtobuf() throws Exception {
    Random r = new Random(1);
    for (int size : new int[] {0, 1, 100, 127, 128, 5_000}) {
      byte[] payload = new byte[size];
      r.nextBytes(payload);
      Message.Data d = new Message.Data(STREAM, PUB, r.nextLong(), 1 + r.nextInt(1 << 30), r.nextInt(60), payload);
      ByteBuf framed = WireFrames.encodeData(PooledByteBufAllocator.DEFAULT, d);
      try {
        assertThat(framed.readableBytes()).isEqualTo(WireFrames.encodedDataSize(d));
        ByteBuf body = body(framed);
        byte[] bytes = new byte[body.readableBytes()];
        body.getBytes(body.readerIndex(), bytes);
        assertThat(bytes).as("the same bytes protobuf writes").isEqualTo(WireCodec.toFrame(d).toByteArray());
        assertThat(decode(body)).isEqualTo(d);
      } finally {
        framed.release();
      }
    }
  }

  @Test
  void everyOtherMessageGoesThroughProtobuf() throws Exception {
    List<Message> messages = List.of(
        new Message.Graft(STREAM, new MessageRef(PUB, 9, 12), true),
        new Message.Prune(STREAM, PUB),
        new Message.IHave(STREAM, List.of(new Message.Announcement(PUB, 9, 3, 40, 2))));
    for (Message m : messages) {
      ByteBuf buf = Unpooled.buffer();
      WireFrames.encodeInto(buf, m);
      try {
        assertThat(decode(body(buf))).isEqualTo(m);
      } finally {
        buf.release();
      }
    }
  }

  @Test
  void aDataMessageWithFieldsWeDoNotKnowStillDecodes() throws Exception {
    // A newer peer's Data with an extra field 15: the fast path steps aside for protobuf.
    Data proto = Data.newBuilder().setStream(STREAM.value()).setPublisher(WireCodec.id(PUB)).setSession(4).setSeq(5)
        .setHops(1).setPayload(ByteString.copyFromUtf8("hi")).build();
    byte[] known = Frame.newBuilder().setData(proto).build().toByteArray();
    byte[] extra = {(byte) (15 << 3), 42}; // field 15, varint 42
    byte[] dataBytes = new byte[proto.getSerializedSize() + extra.length];
    System.arraycopy(proto.toByteArray(), 0, dataBytes, 0, proto.getSerializedSize());
    System.arraycopy(extra, 0, dataBytes, proto.getSerializedSize(), extra.length);
    ByteBuf body = Unpooled.buffer();
    body.writeByte(1 << 3 | 2);
    WireFrames.writeVarint(body, dataBytes.length);
    body.writeBytes(dataBytes);
    try {
      Message m = decode(body);
      assertThat(m).isEqualTo(WireCodec.decode(known));
    } finally {
      body.release();
    }
  }

  @Test
  void malformedDataIsRefusedWithAReason() {
    byte[][] bad = {
        {1 << 3 | 2, 5, 1 << 3 | 1, 0, 0}, // stream truncated
        {1 << 3 | 2, 3, 2 << 3 | 2, 7, 0}, // publisher not 32 bytes
        {1 << 3 | 2, 2, 4 << 3, 0}, // seq 0, and no publisher
        {1 << 3 | 2, 100, 0}, // length past the frame
    };
    for (byte[] b : bad) {
      ByteBuf body = Unpooled.wrappedBuffer(b);
      assertThatThrownBy(() -> decode(body)).isInstanceOf(WireException.class);
      body.release();
    }
  }

  @Test
  void garbageIsRefused() {
    Random r = new Random(5);
    int refused = 0;
    for (int i = 0; i < 2_000; i++) {
      byte[] b = new byte[1 + r.nextInt(64)];
      r.nextBytes(b);
      ByteBuf body = Unpooled.wrappedBuffer(b);
      try {
        decode(body);
      } catch (WireException e) {
        refused++;
      } finally {
        body.release();
      }
    }
    assertThat(refused).as("random bytes are almost never a valid message").isGreaterThan(1_900);
  }

  @Test
  void decodedIdsAreShared() throws Exception {
    IdCache ids = new IdCache();
    Message.Data d = new Message.Data(STREAM, PUB, 1, 1, 0, new byte[] {1});
    ByteBuf a = WireFrames.encodeData(PooledByteBufAllocator.DEFAULT, d);
    ByteBuf b = WireFrames.encodeData(PooledByteBufAllocator.DEFAULT, d);
    try {
      Message.Data x = (Message.Data) WireFrames.decodeMessage(body(a), ids, WireCodec.MAX_PAYLOAD_BYTES);
      Message.Data y = (Message.Data) WireFrames.decodeMessage(body(b), ids, WireCodec.MAX_PAYLOAD_BYTES);
      assertThat(x.publisher()).isSameAs(y.publisher());
      assertThat(x.stream()).isSameAs(y.stream());
    } finally {
      a.release();
      b.release();
    }
  }

  @Test
  void aSealedDataRoundTripsThroughTheFastPathAndMatchesProtobuf() throws Exception {
    Random r = new Random(7);
    byte[] digests = new byte[3 * dev.overlay.protocol.Seal.DIGEST_BYTES];
    byte[] key = new byte[91];
    byte[] sig = new byte[64];
    r.nextBytes(digests);
    r.nextBytes(key);
    r.nextBytes(sig);
    dev.overlay.protocol.Seal seal = new dev.overlay.protocol.Seal(1_000_000, 3, digests, key, sig);
    Message.Data d = new Message.Data(STREAM, PUB, 42, 1_000_001, 3, new byte[] {9, 8, 7}, seal, true);
    ByteBuf framed = Unpooled.buffer();
    WireFrames.encodeInto(framed, d);
    try {
      ByteBuf body = body(framed);
      byte[] bytes = new byte[body.readableBytes()];
      body.getBytes(body.readerIndex(), bytes);
      assertThat(bytes).as("the same bytes protobuf writes").isEqualTo(WireCodec.toFrame(d).toByteArray());
      Message.Data back = (Message.Data) decode(body);
      assertThat(back).isEqualTo(d);
      assertThat(back.seal()).isEqualTo(seal);
      assertThat(back.sealOnWire()).isTrue();
    } finally {
      framed.release();
    }
  }
}
