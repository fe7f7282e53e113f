package dev.overlay.node;

import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static dev.overlay.core.testing.TestNode.info;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.NodeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.TestNode;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Timer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeStateTest {

  private final TestNode node = new TestNode(1);

  @Test
  void startSchedulesHousekeeping() {
    TestNode fresh = new TestNode(1);
    NodeState s = new NodeState(NodeConfig.defaults(), fresh.self, new java.util.SplittableRandom(1), TestNode.KEYS.of(fresh.self.id()), fresh.out);
    s.start(0);
    assertThat(fresh.out.drain()).containsExactly(new Output.Schedule(Timer.Housekeeping.INSTANCE, 5_000_000_000L));
  }

  @Test
  void aNeighbourWeAcceptHearsSoBeforeAnythingElseWeSendIt() {
    // InProcessChurnTest lost a burst: the node accepting a NEIGHBOR request sent its catch-up
    // IHAVE first, the requester (not yet counting it a neighbour) dropped it as NOT_NEIGHBOR,
    // and no one announced those messages again.
    node.joinWithNeighbors(2);
    node.receive(2, TestNode.sealed(id(50), 7, 1, 1, new byte[] {1}));
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Neighbor(STREAM, info(9), false));
    List<Message> toNine = c.stream().filter(x -> x instanceof Output.Send s && s.to().equals(id(9)))
        .map(x -> ((Output.Send) x).message()).toList();
    assertThat(toNine).as("what node 9 is sent, in order").hasSizeGreaterThanOrEqualTo(2);
    assertThat(toNine.get(0)).isEqualTo(new Message.NeighborReply(STREAM, true));
    assertThat(toNine).anyMatch(m -> m instanceof Message.IHave ih && ih.catchUp());
  }

  @Test
  void aJoinFromAnEarlierIncarnationIsIgnored() {
    node.joinWithNeighbors(2);
    node.connected(9);
    node.receive(9, new Message.Neighbor(STREAM, info(9, 5), false));
    node.receive(9, new Message.Disconnect(STREAM, 5, true));
    List<Output> c = node.receive(9, new Message.Join(STREAM, info(9, 4)));

    assertThat(c).containsExactly(new Output.Emit(
        new OverlayEvent.Dropped(STREAM, id(9), DropReason.STALE_INCARNATION, "Join from incarnation 4")));
  }

  @Test
  void aDisconnectFromAnEarlierIncarnationIsIgnored() {
    node.joinWithNeighbors(2);
    node.connected(9);
    node.receive(9, new Message.Neighbor(STREAM, info(9, 7), true));
    List<Output> c = node.receive(9, new Message.Disconnect(STREAM, 6, false));

    assertThat(c).containsExactly(new Output.Emit(
        new OverlayEvent.Dropped(STREAM, id(9), DropReason.STALE_INCARNATION, "Disconnect from incarnation 6")));
    assertThat(node.stream().membership().isActive(id(9))).isTrue();
  }

  @Test
  void aMessageNamingAnotherSenderIsDropped() {
    node.joinWithNeighbors(2);
    List<Output> c = node.receive(2, new Message.Neighbor(STREAM, info(3), true));
    assertThat(c).containsExactly(new Output.Emit(
        new OverlayEvent.Dropped(STREAM, id(2), DropReason.SPOOFED_SENDER, "Neighbor claims sender " + id(3))));
  }

  @Test
  void aPeerThatThinksWeAreInAStreamWeLeftIsToldOtherwise() {
    StreamId other = StreamId.of("other");
    node.connected(2);
    List<Output> c = node.receive(2, new Message.Neighbor(other, info(2), true));
    assertThat(c).containsExactly(
        new Output.Emit(new OverlayEvent.Dropped(other, id(2), DropReason.UNKNOWN_STREAM, "Neighbor")),
        new Output.Send(id(2), new Message.Disconnect(other, 1, false)));
  }

  @Test
  void aDisconnectForAnUnknownStreamIsNotAnswered() {
    StreamId other = StreamId.of("other");
    node.connected(2);
    List<Output> c = node.receive(2, new Message.Disconnect(other, 1, false));
    assertThat(c).containsExactly(new Output.Emit(new OverlayEvent.Dropped(other, id(2), DropReason.UNKNOWN_STREAM, "Disconnect")));
  }

  @Test
  void publishingNeedsAJoinedStreamAndASmallEnoughPayload() {
    assertThat(node.on(new Event.Publish(STREAM, new byte[10])))
        .containsExactly(new Output.Published(PublishResult.refused(STREAM, PublishResult.Status.NOT_JOINED)));
    node.joinWithNeighbors(2);
    assertThat(node.on(new Event.Publish(STREAM, new byte[64 * 1024 + 1])))
        .containsExactly(new Output.Published(PublishResult.refused(STREAM, PublishResult.Status.TOO_LARGE)));
  }

  @Test
  void publishingNumbersMessagesAndPushesToNeighbours() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.on(new Event.Publish(STREAM, new byte[] {42}));
    long session = node.stream().session();
    Message.Data expected = new Message.Data(STREAM, id(1), session, 1, 0, new byte[] {42});
    assertThat(c).containsExactly(
        new Output.Send(id(2), expected),
        new Output.Send(id(3), expected),
        new Output.Published(new PublishResult(STREAM, session, 1, PublishResult.Status.SENT, 2, 0)));
    List<Output> second = node.on(new Event.Publish(STREAM, new byte[] {43}));
    assertThat(((Output.Published) second.get(second.size() - 1)).result().seq()).isEqualTo(2);
  }

  @Test
  void publishingWithoutNeighboursSaysSo() {
    node.on(new Event.JoinStream(STREAM));
    node.out.clear();
    List<Output> c = node.on(new Event.Publish(STREAM, new byte[] {1}));
    assertThat(((Output.Published) c.get(0)).result().status()).isEqualTo(PublishResult.Status.NO_PEERS);
  }

  @Test
  void leavingHandsOutWhatWaitsForItsOrderButClosingTheNodeDoesNot() {
    for (boolean closing : new boolean[] {false, true}) {
      TestNode n = new TestNode(1);
      n.on(new Event.JoinStream(STREAM, null, dev.overlay.core.StartAt.after(new dev.overlay.core.Position(id(50), 7, 0))));
      n.connected(2);
      n.receive(2, new Message.Neighbor(STREAM, info(2), true));
      n.receive(2, TestNode.sealed(id(50), 7, 3, 1, new byte[] {1})); // 1 and 2 still missing: held
      n.out.clear();
      List<Output> c = n.on(new Event.LeaveStream(STREAM, closing));
      if (closing) {
        assertThat(c).as("a position saved at close never passes the hole the next start fetches").noneMatch(o -> o instanceof Output.Deliver)
            .noneMatch(o -> o instanceof Output.Emit e && e.event() instanceof OverlayEvent.OrderSkipped);
      } else {
        assertThat(c).anyMatch(o -> o instanceof Output.Deliver d && d.message().seq() == 3)
            .anyMatch(o -> o instanceof Output.Emit e && e.event() instanceof OverlayEvent.OrderSkipped);
      }
    }
  }

  @Test
  void aRejoinUsesAFreshSession() {
    node.joinWithNeighbors(2);
    long first = node.stream().session();
    node.on(new Event.LeaveStream(STREAM));
    node.joinWithNeighbors(2);
    assertThat(node.stream().session()).isNotEqualTo(first);
  }

  @Test
  void atTheLinkLimitAnIdleLinkMakesRoom() {
    TestNode n = new TestNode(1, NodeConfig.builder().maxLinks(5).build());
    for (int p = 2; p <= 6; p++) {
      n.connected(p);
      n.advance(1);
    }
    List<Output> c = n.connected(7);
    assertThat(c).containsExactly(new Output.Disconnect(id(2))); // the longest idle, unused
    assertThat(n.state.linkedPeers()).contains(id(7)).doesNotContain(id(2));
  }

  @Test
  void whenEveryLinkIsInUseANewOneIsRefused() {
    TestNode n = new TestNode(1, NodeConfig.builder().maxLinks(5).build());
    n.joinWithNeighbors(2, 3, 4, 5, 6);
    List<Output> c = n.connected(7);
    assertThat(c).containsExactly(new Output.Disconnect(id(7)),
        new Output.Emit(new OverlayEvent.PeerRefused(id(7), "link limit reached (5)")));
  }

  @Test
  void idleLinksCloseAfterTheTimeoutButUsedOnesStay() {
    TestNode n = new TestNode(1, NodeConfig.builder().linkIdleTimeout(Duration.ofSeconds(10)).build());
    n.joinWithNeighbors(2);     // 2 is used by the stream
    n.connected(3);             // 3 dialled us and said nothing
    n.advance(11_000_000_000L);
    List<Output> c = n.on(new Event.TimerFired(Timer.Housekeeping.INSTANCE));
    assertThat(c).contains(new Output.Disconnect(id(3))).doesNotContain(new Output.Disconnect(id(2)));
  }

  @Test
  void joiningBeyondTheStreamLimitIsRefusedWithAnEvent() {
    TestNode n = new TestNode(1, NodeConfig.builder().maxStreams(1).build());
    n.on(new Event.JoinStream(StreamId.of("a")));
    List<Output> c = n.on(new Event.JoinStream(StreamId.of("b")));
    assertThat(c).containsExactly(new Output.Emit(new OverlayEvent.Dropped(StreamId.of("b"), null, DropReason.CAPACITY,
        "stream limit reached (1): not joining")));
  }

  @Test
  void everyTableReportsItsCap() {
    node.joinWithNeighbors(2, 3);
    assertThat(node.state.capacityUses()).isNotEmpty().noneMatch(NodeState.CapacityUse::exceeded)
        .extracting(NodeState.CapacityUse::table).contains("links", "streams");
  }
}
