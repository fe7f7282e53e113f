package dev.overlay.wire;

import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerInfo;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.MessageRef;
import dev.overlay.wire.proto.Frame;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class WireCodecTest {

  private static final PeerInfo WITH_ADDRESSES = new PeerInfo(id(2), 7, List.of(
      new Candidate(Candidate.Kind.LOCAL, "192.168.1.10", 30300),
      new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.1", 40001),
      new Candidate(Candidate.Kind.RELAY, "relay.example.org", 3478)));

  static Stream<Message> everyMessage() {
    return Stream.of(
        new Message.Join(STREAM, WITH_ADDRESSES),
        new Message.ForwardJoin(STREAM, PeerInfo.of(id(3), 1), 6),
        new Message.Neighbor(STREAM, WITH_ADDRESSES, true),
        new Message.NeighborReply(STREAM, false),
        new Message.Disconnect(STREAM, 42, true),
        new Message.Shuffle(STREAM, WITH_ADDRESSES, 5, List.of(PeerInfo.of(id(4), 2), PeerInfo.of(id(5), 3)), 0xC0FFEEL),
        new Message.ShuffleReply(STREAM, List.of(PeerInfo.of(id(6), 1)), -7),
        new Message.Data(STREAM, id(7), -3, 12345678901L, 9, new byte[] {1, 2, 3}),
        new Message.IHave(STREAM, List.of(new Message.Announcement(id(8), 11, 100, 25, 4))),
        new Message.Graft(STREAM, new MessageRef(id(9), 12, 3), true),
        new Message.Prune(STREAM, id(10)),
        new Message.TrackerRegister(STREAM, WITH_ADDRESSES, 4, true, 3, true),
        new Message.TrackerPeers(STREAM, 4, List.of(PeerInfo.of(id(11), 1)), List.of(WITH_ADDRESSES)));
  }

  @Test
  void moreStorageNodesThanAnAnswerMayNameAreRefused() {
    var b = dev.overlay.wire.proto.TrackerPeers.newBuilder().setStream(1).setCounter(1);
    for (int i = 0; i < Message.TrackerPeers.MAX_STORAGE_NODES + 1; i++) {
      b.addStorageNodes(dev.overlay.wire.proto.PeerInfo.newBuilder().setId(com.google.protobuf.ByteString.copyFrom(id(20 + i).toBytes())));
    }
    byte[] frame = dev.overlay.wire.proto.Frame.newBuilder().setTrackerPeers(b).build().toByteArray();
    assertThatThrownBy(() -> WireCodec.decode(frame)).isInstanceOf(WireException.class).hasMessageContaining("storage_nodes");
  }

  @ParameterizedTest
  @MethodSource("everyMessage")
  void everyMessageSurvivesTheWire(Message m) throws WireException {
    assertThat(WireCodec.decode(WireCodec.encode(m))).isEqualTo(m);
  }

  @Test
  void aDataFrameCostsAboutSixtyBytesOverItsPayload() {
    byte[] frame = WireCodec.encode(new Message.Data(STREAM, id(7), 0x1234_5678_9ABC_DEF0L, 1000, 6, new byte[100]));
    assertThat(frame.length - 100).isBetween(55, 70);
  }

  @Test
  void garbageIsAWireExceptionNotACrash() {
    assertThatThrownBy(() -> WireCodec.decode(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x01}))
        .isInstanceOf(WireException.class);
  }

  @Test
  void anEmptyFrameIsRefused() {
    assertThatThrownBy(() -> WireCodec.decode(new byte[0])).isInstanceOf(WireException.class).hasMessageContaining("no body");
  }

  @Test
  void aPeerIdOfTheWrongLengthIsRefused() {
    Frame f = Frame.newBuilder().setPrune(dev.overlay.wire.proto.Prune.newBuilder()
        .setStream(1).setPublisher(ByteString.copyFrom(new byte[31]))).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("32 bytes");
  }

  @Test
  void aJoinWithoutASenderIsRefused() {
    Frame f = Frame.newBuilder().setJoin(dev.overlay.wire.proto.Join.newBuilder().setStream(1)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("join.sender is missing");
  }

  @Test
  void tooManyAnnouncementsAreRefused() {
    var b = dev.overlay.wire.proto.IHave.newBuilder().setStream(1);
    var a = dev.overlay.wire.proto.Announcement.newBuilder().setPublisher(WireCodec.id(id(1))).setFirstSeq(1).setCount(1);
    for (int i = 0; i <= WireCodec.MAX_ANNOUNCEMENTS; i++) b.addAnnouncements(a);
    Frame f = Frame.newBuilder().setIhave(b).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("limit");
  }

  @Test
  void anEmptyAnnouncementRangeIsRefused() {
    var a = dev.overlay.wire.proto.Announcement.newBuilder().setPublisher(WireCodec.id(id(1))).setFirstSeq(1).setCount(0);
    Frame f = Frame.newBuilder().setIhave(dev.overlay.wire.proto.IHave.newBuilder().setStream(1).addAnnouncements(a)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("count");
  }

  @Test
  void sequenceNumberZeroIsRefused() {
    Frame f = Frame.newBuilder().setData(dev.overlay.wire.proto.Data.newBuilder().setStream(1)
        .setPublisher(WireCodec.id(id(1))).setSeq(0)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("data.seq");
  }

  @Test
  void aCandidateWithABadPortIsRefused() {
    var p = dev.overlay.wire.proto.PeerInfo.newBuilder().setId(WireCodec.id(id(1))).addCandidates(
        dev.overlay.wire.proto.Candidate.newBuilder().setKind(dev.overlay.wire.proto.Candidate.Kind.LOCAL).setHost("h").setPort(0));
    Frame f = Frame.newBuilder().setJoin(dev.overlay.wire.proto.Join.newBuilder().setStream(1).setSender(p)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("port");
  }

  @Test
  void linkFramesAreNotStreamMessages() {
    Frame f = Frame.newBuilder().setPing(dev.overlay.wire.proto.Ping.newBuilder().setNonce(1)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("link frame");
  }

  @Test
  void anAnnouncementRangeRunningPastTheLargestSequenceNumberIsRefused() {
    for (long first : new long[] {Long.MAX_VALUE - 2, Message.MAX_SEQ}) {
      Frame f = Frame.newBuilder().setIhave(dev.overlay.wire.proto.IHave.newBuilder().setStream(1)
          .addAnnouncements(dev.overlay.wire.proto.Announcement.newBuilder()
              .setPublisher(ByteString.copyFrom(new byte[32])).setFirstSeq(first).setCount(5))).build();
      assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("announcement");
    }
  }

  @Test
  void aSequenceNumberAboveTheLargestIsRefused() {
    Frame f = Frame.newBuilder().setGraft(dev.overlay.wire.proto.Graft.newBuilder().setStream(1)
        .setPublisher(ByteString.copyFrom(new byte[32])).setSeq(Long.MAX_VALUE)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("graft.seq");
  }

  @Test
  void aPayloadOverTheReceiversLimitIsRefusedByTheDecoder() throws WireException {
    Frame f = WireCodec.toFrame(new Message.Data(STREAM, id(7), 1, 1, 0, new byte[1001]));
    assertThat(WireCodec.fromFrame(f, 1001)).isInstanceOf(Message.Data.class);
    assertThatThrownBy(() -> WireCodec.fromFrame(f, 1000)).isInstanceOf(WireException.class).hasMessageContaining("payload");
    Frame huge = WireCodec.toFrame(new Message.Data(STREAM, id(7), 1, 1, 0, new byte[900 * 1024]));
    assertThatThrownBy(() -> WireCodec.fromFrame(huge)).isInstanceOf(WireException.class).hasMessageContaining("payload");
  }

  @Test
  void aPeerInfoWithTooManyHostCharactersIsRefused() {
    var b = dev.overlay.wire.proto.PeerInfo.newBuilder().setId(ByteString.copyFrom(new byte[32]));
    for (int i = 0; i < 3; i++) {
      b.addCandidates(dev.overlay.wire.proto.Candidate.newBuilder().setKind(dev.overlay.wire.proto.Candidate.Kind.LOCAL)
          .setHost("h".repeat(200)).setPort(1));
    }
    Frame f = Frame.newBuilder().setJoin(dev.overlay.wire.proto.Join.newBuilder().setStream(1).setSender(b)).build();
    assertThatThrownBy(() -> WireCodec.fromFrame(f)).isInstanceOf(WireException.class).hasMessageContaining("600");
  }
}
