package dev.overlay.membership;

import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static dev.overlay.core.testing.TestNode.info;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.TestNode;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Timer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** HyParView as seen through the node: given this state and this event, exactly these commands. */
class HyParViewTest {

  private final TestNode node = new TestNode(1);

  private HyParView view() {
    return node.stream().membership();
  }

  @Test
  void joiningArmsTheTimersAndAsksForIntroductions() {
    List<Output> c = node.on(new Event.JoinStream(STREAM));
    assertThat(c).hasSize(5);
    assertThat(c.get(0)).isInstanceOfSatisfying(Output.Schedule.class, s -> {
      assertThat(s.timer()).isEqualTo(new Timer.RepairTick(STREAM));
      assertThat(s.delayNanos()).isBetween(500 * MS, 1500 * MS); // 1 s ± 50 %
    });
    assertThat(c.get(1)).isInstanceOfSatisfying(Output.Schedule.class,
        s -> assertThat(s.timer()).isEqualTo(new Timer.ShuffleTick(STREAM, view().timerGeneration())));
    assertThat(c.get(2)).isInstanceOfSatisfying(Output.Schedule.class, s -> {
      assertThat(s.timer()).isEqualTo(new Timer.ReintroductionTick(STREAM, view().reintroductionGeneration()));
      assertThat(s.delayNanos()).isBetween(900_000 * MS, 2_700_000 * MS); // 30 min ± 50 %
    });
    assertThat(c.get(3)).isInstanceOfSatisfying(Output.Schedule.class, s -> {
      assertThat(s.timer()).isEqualTo(new Timer.ChurnTick(STREAM, view().timerGeneration()));
      assertThat(s.delayNanos()).isBetween(30_000 * MS, 90_000 * MS); // 60 s ± 50 %
    });
    assertThat(c.get(4)).isEqualTo(new Output.RequestIntroductions(STREAM));
  }

  @Test
  void aNodeWithAFullViewIsIntroducedAgainAndTakesOneNewcomerInEvictingANeighbour() {
    node.joinWithNeighbors(2, 3, 4, 5, 6);
    Timer.ReintroductionTick armed = new Timer.ReintroductionTick(STREAM, view().reintroductionGeneration());
    List<Output> tick = node.on(new Event.TimerFired(armed));
    assertThat(tick).hasSize(2);
    assertThat(tick.get(0)).isInstanceOfSatisfying(Output.Schedule.class, s -> assertThat(s.timer()).isEqualTo(armed));
    assertThat(tick.get(1)).isEqualTo(new Output.RequestIntroductions(STREAM));

    // Members from the other side of a healed partition: one is asked in, with high priority.
    List<Output> c = node.on(new Event.Introductions(STREAM, List.of(info(7), info(8))));
    Output.Send request = c.stream().filter(o -> o instanceof Output.Send).map(o -> (Output.Send) o).findFirst().orElseThrow();
    PeerId newcomer = request.to();
    assertThat(newcomer).isIn(id(7), id(8));
    assertThat(request.message()).isEqualTo(new Message.Neighbor(STREAM, node.self, true));
    assertThat(c).filteredOn(o -> o instanceof Output.Send).hasSize(1);
    assertThat(view().stats().reintroductions()).isEqualTo(1);

    List<Output> accepted = node.receive(newcomer.equals(id(7)) ? 7 : 8, new Message.NeighborReply(STREAM, true));
    assertThat(accepted).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Send.class,
        send -> assertThat(send.message()).isEqualTo(new Message.Disconnect(STREAM, 1, true))));
    assertThat(accepted).contains(new Output.Emit(new OverlayEvent.NeighborUp(STREAM, newcomer)));
    assertThat(view().activeSize()).isEqualTo(5);
    assertThat(view().isActive(newcomer)).isTrue();

    // Introductions nobody asked for by the tick (an isolated node's, a late answer) take no one in.
    List<Output> again = node.on(new Event.Introductions(STREAM, List.of(info(9))));
    assertThat(again).noneMatch(o -> o instanceof Output.Send);
  }

  @Test
  void losingHalfTheViewWithinSecondsLooksLikeAPartitionAndBringsTheNextIntroductionsForward() {
    node.joinWithNeighbors(2, 3, 4, 5, 6);
    long steady = view().reintroductionGeneration();
    node.on(new Event.PeerDisconnected(id(2), "keep-alive timeout"));
    node.advance(4_000 * MS);
    node.on(new Event.PeerDisconnected(id(3), "keep-alive timeout"));
    node.advance(4_000 * MS);
    List<Output> third = node.on(new Event.PeerDisconnected(id(4), "keep-alive timeout"));
    assertThat(third).contains(new Output.Emit(new OverlayEvent.IslandSuspected(STREAM, 3)));
    assertThat(third).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Schedule.class, s -> {
      assertThat(s.timer()).isEqualTo(new Timer.ReintroductionTick(STREAM, steady + 1));
      assertThat(s.delayNanos()).isBetween(5_000 * MS, 15_000 * MS); // 10 s ± 50 %
    }));
    assertThat(view().stats().islandsSuspected()).isEqualTo(1);

    assertThat(node.on(new Event.TimerFired(new Timer.ReintroductionTick(STREAM, steady)))).as("the old timer is stale").isEmpty();
    List<Output> tick = node.on(new Event.TimerFired(new Timer.ReintroductionTick(STREAM, steady + 1)));
    assertThat(tick).contains(new Output.RequestIntroductions(STREAM));
    assertThat(tick).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Schedule.class, s -> {
      assertThat(s.timer()).isEqualTo(new Timer.ReintroductionTick(STREAM, steady + 1));
      assertThat(s.delayNanos()).as("the view is still below capacity: the period stays short")
          .isBetween(5_000 * MS, 15_000 * MS);
    }));

    node.joinWithNeighbors(7, 8, 9); // full again
    List<Output> next = node.on(new Event.TimerFired(new Timer.ReintroductionTick(STREAM, steady + 1)));
    assertThat(next).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Schedule.class, s -> {
      assertThat(s.timer()).isEqualTo(new Timer.ReintroductionTick(STREAM, steady + 1));
      assertThat(s.delayNanos()).isBetween(10_000 * MS, 30_000 * MS); // doubled: 20 s ± 50 %
    }));
  }

  @Test
  void neighboursLostFarApartAreChurnNotAPartition() {
    node.joinWithNeighbors(2, 3, 4, 5, 6);
    for (int p = 2; p <= 4; p++) {
      List<Output> c = node.on(new Event.PeerDisconnected(id(p), "connection reset"));
      assertThat(c).noneMatch(o -> o instanceof Output.Emit e && e.event() instanceof OverlayEvent.IslandSuspected);
      node.advance(6_000 * MS); // three losses over 12 s: never three within 10 s
    }
    assertThat(view().stats().islandsSuspected()).isZero();
  }

  @Test
  void aTickOfAnEarlierMembershipOfTheStreamIsStaleAfterLeavingAndJoiningAgain() {
    node.joinWithNeighbors(2, 3);
    Timer.ReintroductionTick old = new Timer.ReintroductionTick(STREAM, view().reintroductionGeneration());
    node.on(new Event.LeaveStream(STREAM));
    node.on(new Event.JoinStream(STREAM));
    assertThat(view().reintroductionGeneration()).isNotEqualTo(old.generation());
    assertThat(node.on(new Event.TimerFired(old))).isEmpty();
  }

  @Test
  void anIsolatedNodeLeavesReintroductionToItsOwnRequests() {
    node.joinWithNeighbors(2);
    List<Output> tick = node.on(new Event.TimerFired(new Timer.ReintroductionTick(STREAM, view().reintroductionGeneration())));
    assertThat(tick).hasSize(1).allMatch(o -> o instanceof Output.Schedule);
  }

  @Test
  void introductionsJoinThroughOneContactAndKeepTheRestPassive() {
    node.on(new Event.JoinStream(STREAM));
    List<Output> c = node.on(new Event.Introductions(STREAM, List.of(info(2), info(3), info(4))));

    assertThat(c).hasSize(2);
    Output.Connect connect = (Output.Connect) c.get(0);
    PeerId contact = connect.peer().id();
    assertThat(c.get(1)).isEqualTo(new Output.Send(contact, new Message.Join(STREAM, node.self)));
    // No neighbour requests while the JOIN's random walks are under way.
    assertThat(view().pendingSize()).isZero();
    assertThat(view().passiveView()).hasSize(2).extracting(PeerInfo::id).doesNotContain(contact);
  }

  @Test
  void theContactOffersTheJoinerASlotAndSpreadsTheJoin() {
    node.joinWithNeighbors(2, 3, 4);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Join(STREAM, info(9)));

    assertThat(c).containsExactly(
        new Output.Send(id(9), new Message.Neighbor(STREAM, node.self, true)),
        scheduledNeighborTimeout(c, 9),
        new Output.Send(id(2), new Message.ForwardJoin(STREAM, info(9), 6)),
        new Output.Send(id(3), new Message.ForwardJoin(STREAM, info(9), 6)),
        new Output.Send(id(4), new Message.ForwardJoin(STREAM, info(9), 6)));
    assertThat(view().isActive(id(9))).as("only once it accepts").isFalse();
  }

  @Test
  void aForwardJoinWhoseWalkEndsOffersTheJoinerASlot() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.receive(2, new Message.ForwardJoin(STREAM, info(9), 0));

    assertThat(c).containsExactly(
        new Output.Connect(info(9)),
        new Output.Send(id(9), new Message.Neighbor(STREAM, node.self, true)),
        scheduledNeighborTimeout(c, 9));
  }

  @Test
  void aForwardJoinAtThePassiveWalkLengthKeepsTheJoinerAndWalksOn() {
    node.joinWithNeighbors(2, 3, 4);
    List<Output> c = node.receive(2, new Message.ForwardJoin(STREAM, info(9), 3));

    assertThat(c).hasSize(1);
    Output.Send next = (Output.Send) c.get(0);
    assertThat(next.to()).isIn(id(3), id(4)); // never back to the sender, never to the joiner
    assertThat(next.message()).isEqualTo(new Message.ForwardJoin(STREAM, info(9), 2));
    assertThat(view().passiveView()).extracting(PeerInfo::id).contains(id(9));
  }

  @Test
  void aPeerEntersTheActiveViewOnlyWhenItAccepts() {
    node.joinWithNeighbors(2, 3, 4);
    node.receive(2, new Message.ForwardJoin(STREAM, info(9), 0)); // we offer 9 a slot
    assertThat(view().isActive(id(9))).isFalse();

    node.connected(9);
    List<Output> c = node.receive(9, new Message.NeighborReply(STREAM, true));
    assertThat(c).containsExactly(new Output.Emit(new OverlayEvent.NeighborUp(STREAM, id(9))));
    assertThat(view().isActive(id(9))).isTrue();
  }

  @Test
  void aFullViewRefusesALowPriorityRequestAndRemembersTheAsker() {
    node.joinWithNeighbors(2, 3, 4, 5, 6);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Neighbor(STREAM, info(9), false));

    assertThat(c).containsExactly(new Output.Send(id(9), new Message.NeighborReply(STREAM, false)));
    assertThat(view().activeSize()).isEqualTo(5);
    assertThat(view().passiveView()).extracting(PeerInfo::id).containsExactly(id(9));
  }

  @Test
  void aFullViewEvictsSomeoneForAHighPriorityRequest() {
    node.joinWithNeighbors(2, 3, 4, 5, 6);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Neighbor(STREAM, info(9), true));

    assertThat(c).hasSize(4);
    Output.Send disconnect = (Output.Send) c.get(0);
    PeerId victim = disconnect.to();
    assertThat(disconnect.message()).isEqualTo(new Message.Disconnect(STREAM, 1, true));
    assertThat(c.subList(1, 4)).containsExactly(
        new Output.Emit(new OverlayEvent.NeighborDown(STREAM, victim, "evicted to make room")),
        new Output.Send(id(9), new Message.NeighborReply(STREAM, true)), // before anything the new neighbour is sent
        new Output.Emit(new OverlayEvent.NeighborUp(STREAM, id(9))));
    assertThat(view().activeSize()).isEqualTo(5);
    assertThat(view().passiveView()).extracting(PeerInfo::id).containsExactly(victim);
  }

  @Test
  void anAcceptanceThatArrivesAfterWeGaveUpIsUndone() {
    node.joinWithNeighbors(2, 3);
    List<Output> offer = node.receive(2, new Message.ForwardJoin(STREAM, info(9), 0));
    Output.Schedule timeout = scheduledNeighborTimeout(offer, 9);

    node.advance(timeout.delayNanos());
    node.on(new Event.TimerFired(timeout.timer()));
    node.connected(9);
    List<Output> c = node.receive(9, new Message.NeighborReply(STREAM, true));

    assertThat(c).containsExactly(new Output.Send(id(9), new Message.Disconnect(STREAM, 1, true)));
    assertThat(view().isActive(id(9))).isFalse();
  }

  @Test
  void aDisconnectedPeerBecomesPassiveAndTheSlotIsRefilled() {
    node.joinWithNeighbors(2, 3, 4);
    node.connected(7);
    node.receive(7, new Message.Neighbor(STREAM, info(7), false)); // 7 accepted: room
    node.receive(7, new Message.Disconnect(STREAM, 1, true));       // and leaves again: now passive
    List<Output> c = node.receive(2, new Message.Disconnect(STREAM, 1, true));

    assertThat(c.get(0)).isEqualTo(new Output.Emit(new OverlayEvent.NeighborDown(STREAM, id(2), "disconnected by peer")));
    assertThat(view().passiveView()).extracting(PeerInfo::id).contains(id(2));
    // The free slots are asked of passive peers at once.
    assertThat(sentTo(c, Message.Neighbor.class)).isNotEmpty();
  }

  @Test
  void aPeerThatLeavesIsForgotten() {
    node.joinWithNeighbors(2, 3);
    node.receive(2, new Message.Disconnect(STREAM, 1, false));
    assertThat(view().isActive(id(2))).isFalse();
    assertThat(view().passiveView()).extracting(PeerInfo::id).doesNotContain(id(2));
  }

  @Test
  void aBrokenLinkToANeighbourIsRepairedWithHighPriorityWhenBelowTheMinimum() {
    node.joinWithNeighbors(2);
    node.receive(2, new Message.Shuffle(STREAM, info(8), 0, List.of(info(7)), 0)); // learn 7 and 8 as passive peers
    node.out.clear();
    List<Output> c = node.on(new Event.PeerDisconnected(id(2), "reset"));

    assertThat(c.get(0)).isEqualTo(new Output.Emit(new OverlayEvent.NeighborDown(STREAM, id(2), "reset")));
    List<Message.Neighbor> requests = sentTo(c, Message.Neighbor.class);
    assertThat(requests).isNotEmpty().allSatisfy(n -> assertThat(n.highPriority()).isTrue());
  }

  @Test
  void anUnreachableCandidateIsDroppedFromThePassiveView() {
    node.joinWithNeighbors(2);
    node.receive(2, new Message.Shuffle(STREAM, info(8), 0, List.of(), 0));
    assertThat(view().passiveView()).extracting(PeerInfo::id).contains(id(8));
    node.on(new Event.DialFailed(id(8), "connection refused"));
    assertThat(view().passiveView()).extracting(PeerInfo::id).doesNotContain(id(8));
  }

  @Test
  void aShuffleWalksOnWhileItHasTtlAndActivePeers() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.receive(2, new Message.Shuffle(STREAM, info(8), 4, List.of(info(7)), 0));
    assertThat(c).containsExactly(new Output.Send(id(3), new Message.Shuffle(STREAM, info(8), 3, List.of(info(7)), 0)));
  }

  @Test
  void aShuffleThatEndsHereIsAnsweredAndMerged() {
    node.joinWithNeighbors(2);
    node.connected(5);
    node.receive(5, new Message.Neighbor(STREAM, info(5), false));
    node.receive(5, new Message.Disconnect(STREAM, 1, true)); // 5 is now passive
    node.out.clear();

    List<Output> c = node.receive(2, new Message.Shuffle(STREAM, info(8), 0, List.of(info(7)), 0));
    assertThat(c).contains(new Output.Connect(info(8)),
        new Output.Send(id(8), new Message.ShuffleReply(STREAM, List.of(info(5)), 0)));
    assertThat(view().passiveView()).extracting(PeerInfo::id).contains(id(7), id(8), id(5));
  }

  @Test
  void theShuffleTickSendsSelfActiveAndPassiveSamples() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.on(new Event.TimerFired(new Timer.ShuffleTick(STREAM, view().timerGeneration())));
    Message.Shuffle shuffle = sentTo(c, Message.Shuffle.class).get(0);
    assertThat(shuffle.origin()).isEqualTo(node.self);
    assertThat(shuffle.ttl()).isEqualTo(6);
    assertThat(shuffle.peers().get(0)).isEqualTo(node.self);
    assertThat(c).anySatisfy(cmd -> assertThat(cmd).isInstanceOf(Output.Schedule.class));
  }

  @Test
  void anIsolatedNodeAsksTheIntroducerAgainWithBackoff() {
    node.on(new Event.JoinStream(STREAM));
    node.on(new Event.Introductions(STREAM, List.of()));
    node.advance(600 * MS);
    List<Output> first = node.on(new Event.TimerFired(new Timer.RepairTick(STREAM)));
    assertThat(first).contains(new Output.Emit(new OverlayEvent.Isolated(STREAM)), new Output.RequestIntroductions(STREAM));

    node.advance(100 * MS); // well inside the doubled backoff
    List<Output> second = node.on(new Event.TimerFired(new Timer.RepairTick(STREAM)));
    assertThat(second).doesNotContain(new Output.RequestIntroductions(STREAM));
  }

  @Test
  void leavingTellsEveryNeighbourThatWeAreGone() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.on(new Event.LeaveStream(STREAM));
    assertThat(c).contains(
        new Output.Send(id(2), new Message.Disconnect(STREAM, 1, false)),
        new Output.Send(id(3), new Message.Disconnect(STREAM, 1, false)));
    assertThat(node.state.isJoined(STREAM)).isFalse();
  }

  // ---- helpers ----------------------------------------------------------------------------

  private static Output.Schedule scheduledNeighborTimeout(List<Output> commands, int peer) {
    for (Output c : commands) {
      if (c instanceof Output.Schedule s && s.timer() instanceof Timer.NeighborTimeout t && t.peer().equals(id(peer))) {
        assertThat(s.delayNanos()).isEqualTo(2_000 * MS);
        return s;
      }
    }
    throw new AssertionError("no neighbour timeout for " + peer + " in " + commands);
  }

  private static <T extends Message> List<T> sentTo(List<Output> commands, Class<T> type) {
    return commands.stream()
        .filter(c -> c instanceof Output.Send s && type.isInstance(s.message()))
        .map(c -> type.cast(((Output.Send) c).message()))
        .toList();
  }

  @Test
  void afterTheNodesAddressesChangeItsJoinsAndShufflesCarryTheNewOnes() {
    node.on(new Event.JoinStream(STREAM));
    PeerInfo moved = new PeerInfo(node.self.id(), node.self.incarnation(),
        List.of(new dev.overlay.core.Candidate(dev.overlay.core.Candidate.Kind.REFLEXIVE, "203.0.113.9", 7000)));

    node.state.updateSelf(moved);
    List<Output> c = node.on(new Event.Introductions(STREAM, List.of(info(2))));

    assertThat(c.get(1)).isEqualTo(new Output.Send(id(2), new Message.Join(STREAM, moved)));
    assertThat(node.state.self()).isEqualTo(moved);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> node.state.updateSelf(info(1, 2)))
        .as("a new incarnation is a restart, not a move").isInstanceOf(IllegalArgumentException.class);
  }

  // ---- Churn of the worst-scored neighbour -------------------------------------------------

  private static TestNode churningNode() {
    return new TestNode(1, dev.overlay.config.NodeConfig.builder()
        .membership(dev.overlay.config.HyParViewConfig.builder().churnRandomShare(0).build()).build());
  }

  private static Timer.ChurnTick churnTick(TestNode n) {
    return new Timer.ChurnTick(STREAM, n.stream().membership().timerGeneration());
  }

  /**
   * Neighbours 2-6 with round trips 50, 40, 30, 20, 15 ms; passive peers 7 (timed at 5 ms while we
   * asked it in, and it refused) and 8 (never timed).
   */
  private static void scoredView(TestNode n) {
    n.joinWithNeighbors(2, 3, 4, 5);
    n.on(new Event.Introductions(STREAM, List.of(info(7)))); // room: 7 is asked in
    n.connected(7);
    n.on(new Event.RoundTrip(id(7), 5 * MS));
    n.receive(7, new Message.NeighborReply(STREAM, false));
    n.connected(6);
    n.receive(6, new Message.Neighbor(STREAM, info(6), true));
    n.on(new Event.Introductions(STREAM, List.of(info(8))));
    int[] rtt = {0, 0, 50, 40, 30, 20, 15};
    for (int p = 2; p <= 6; p++) n.on(new Event.RoundTrip(id(p), rtt[p] * MS));
    assertThat(n.stream().membership().passiveView()).extracting(PeerInfo::id).containsExactlyInAnyOrder(id(7), id(8));
    n.out.clear();
  }

  @Test
  void onlyPeersWeUseOrUsedAreTimed() {
    TestNode n = churningNode();
    scoredView(n);
    assertThat(n.state.roundTripNanos(id(7))).isEqualTo(5 * MS);
    n.connected(30); // a stranger that connected to us, and nothing more
    n.on(new Event.RoundTrip(id(30), 1 * MS));
    assertThat(n.state.roundTripNanos(id(30))).isEqualTo(-1);
  }

  @Test
  void theNeighbourThatDeliveredFewestMessagesFirstIsReplacedByTheNearestPassivePeerOnceItAccepts() {
    TestNode n = churningNode();
    scoredView(n);
    PeerId publisher = id(9);
    // 2, 3 and 4 each deliver a message first; 5 delivers the newest (it carries the tree); 6 none.
    for (int p = 2; p <= 5; p++) {
      n.receive(p, TestNode.sealed(publisher, 77, p - 1, 1, new byte[] {1}));
    }
    n.advance(60_000 * MS);
    n.out.clear();

    List<Output> tick = n.on(new Event.TimerFired(churnTick(n)));
    assertThat(tick.get(0)).isInstanceOfSatisfying(Output.Schedule.class,
        s -> assertThat(s.timer()).isEqualTo(churnTick(n)));
    assertThat(tick).filteredOn(o -> o instanceof Output.Send)
        .containsExactly(new Output.Send(id(7), new Message.Neighbor(STREAM, n.self, true)));
    assertThat(n.stream().membership().isActive(id(6))).as("nothing goes before the replacement accepts").isTrue();
    assertThat(n.stream().membership().stats().churnRequests()).isEqualTo(1);

    List<Output> accepted = n.receive(7, new Message.NeighborReply(STREAM, true));
    assertThat(accepted).contains(new Output.Send(id(6), new Message.Disconnect(STREAM, 1, true)));
    assertThat(accepted).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Emit.class, e ->
        assertThat(e.event()).isInstanceOfSatisfying(OverlayEvent.NeighborDown.class, d -> {
          assertThat(d.peer()).isEqualTo(id(6));
          assertThat(d.reason()).startsWith("churned out: delivered 0 of 4 messages first in 60 s, round trip 15.0 ms")
              .endsWith("replaced by a nearer peer (5.0 ms)");
        })));
    assertThat(accepted).contains(new Output.Emit(new OverlayEvent.NeighborUp(STREAM, id(7))));
    assertThat(n.stream().membership().activeView()).extracting(PeerInfo::id).containsExactlyInAnyOrder(id(2), id(3), id(4), id(5), id(7));
    assertThat(n.stream().membership().stats().churnedOut()).isEqualTo(1);
    assertThat(n.stream().broadcast().firstDeliveries(id(2))).as("a new interval starts at the tick").isZero();
  }

  @Test
  void aRefusedReplacementCostsTheNeighbourNothing() {
    TestNode n = churningNode();
    scoredView(n);
    n.advance(60_000 * MS);
    n.on(new Event.TimerFired(churnTick(n)));
    List<Output> refused = n.receive(7, new Message.NeighborReply(STREAM, false));
    assertThat(refused).noneMatch(o -> o instanceof Output.Send s && s.message() instanceof Message.Disconnect);
    assertThat(n.stream().membership().activeSize()).isEqualTo(5);
    assertThat(n.stream().membership().stats().churnedOut()).isZero();
  }

  @Test
  void onAQuietStreamTheSlowestNeighbourGoesAndWithNoNearerPeerKnownARandomOneReplacesIt() {
    TestNode n = churningNode();
    scoredView(n);
    n.on(new Event.RoundTrip(id(7), 900 * MS)); // the passive peer is now far slower than anyone
    n.on(new Event.RoundTrip(id(7), 900 * MS));
    n.advance(60_000 * MS);
    for (int i = 0; i < 40; i++) n.on(new Event.RoundTrip(id(7), 900 * MS)); // smoothed towards 900 ms
    List<Output> tick = n.on(new Event.TimerFired(churnTick(n)));
    // No nearer peer is known: the replacement is a random passive peer (exploring), for neighbour 2 (50 ms).
    Output.Send ask = tick.stream().filter(o -> o instanceof Output.Send).map(o -> (Output.Send) o).findFirst().orElseThrow();
    assertThat(ask.to()).isIn(id(7), id(8));
    n.receive(ask.to().equals(id(7)) ? 7 : 8, new Message.NeighborReply(STREAM, true));
    assertThat(n.stream().membership().isActive(id(2))).as("the slowest, on a quiet stream").isFalse();
  }

  @Test
  void aNeighbourThatCameDuringTheIntervalAndAViewWithRoomAreLeftAlone() {
    TestNode n = churningNode();
    n.joinWithNeighbors(2, 3, 4, 5);
    n.advance(60_000 * MS);
    List<Output> room = n.on(new Event.TimerFired(churnTick(n)));
    assertThat(room).as("a view with room is filled, not churned").noneMatch(o -> o instanceof Output.Send);

    n.advance(1 * MS);
    n.connected(6);
    n.receive(6, new Message.Neighbor(STREAM, info(6), true)); // full now; 6 came during this interval
    n.on(new Event.Introductions(STREAM, List.of(info(7))));
    for (int p = 2; p <= 5; p++) n.on(new Event.RoundTrip(id(p), 10 * MS));
    n.on(new Event.RoundTrip(id(6), 500 * MS));
    n.advance(60_000 * MS);
    List<Output> tick = n.on(new Event.TimerFired(churnTick(n)));
    assertThat(n.stream().membership().stats().churnRequests()).isEqualTo(1);
    Output.Send ask = tick.stream().filter(o -> o instanceof Output.Send).map(o -> (Output.Send) o).findFirst().orElseThrow();
    assertThat(ask.to()).isEqualTo(id(7));
    n.receive(7, new Message.NeighborReply(STREAM, true));
    assertThat(n.stream().membership().isActive(id(6))).as("too new to be judged, though slowest").isTrue();
    assertThat(n.stream().membership().isActive(id(2))).as("the first of the equally scored").isFalse();
  }

  @Test
  void shuffleAndChurnTicksOfAnEarlierMembershipOfTheStreamAreIgnored() {
    List<Output> first = node.on(new Event.JoinStream(STREAM));
    List<Timer> old = first.stream().filter(o -> o instanceof Output.Schedule).map(o -> ((Output.Schedule) o).timer())
        .filter(t -> t instanceof Timer.ShuffleTick || t instanceof Timer.ChurnTick).toList();
    assertThat(old).hasSize(2);
    node.on(new Event.LeaveStream(STREAM));
    node.on(new Event.JoinStream(STREAM));
    for (Timer t : old) {
      assertThat(node.on(new Event.TimerFired(t))).as("a second chain of " + t + " would run beside the new one").isEmpty();
    }
  }

  @Test
  void aReplacementThatCrossesOurChurnRequestStillReplacesTheWorstNeighbour() {
    TestNode n = churningNode();
    scoredView(n);
    n.advance(60_000 * MS);
    n.on(new Event.TimerFired(churnTick(n))); // asks 7 in, for 2 (nobody delivered; 2's round trip is the longest)
    List<Output> crossing = n.receive(7, new Message.Neighbor(STREAM, info(7), true)); // 7 asked us at the same time
    assertThat(crossing).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Emit.class, e ->
        assertThat(e.event()).isInstanceOfSatisfying(OverlayEvent.NeighborDown.class, d -> {
          assertThat(d.peer()).isEqualTo(id(2));
          assertThat(d.reason()).startsWith("churned out");
        })));
    assertThat(n.stream().membership().isActive(id(7))).isTrue();
    assertThat(n.stream().membership().stats().churnedOut()).isEqualTo(1);
  }

  @Test
  void aVictimThatCameToCarryATreeIsKeptAndTheReplacementIsLetGo() {
    TestNode n = churningNode();
    scoredView(n);
    n.advance(60_000 * MS);
    n.on(new Event.TimerFired(churnTick(n))); // for 2: nobody delivered, 2 is the slowest
    n.receive(2, TestNode.sealed(id(9), 77, 1, 1, new byte[] {1})); // 2 now brings publisher 9's tree
    List<Output> accepted = n.receive(7, new Message.NeighborReply(STREAM, true));
    assertThat(accepted).contains(new Output.Send(id(7), new Message.Disconnect(STREAM, 1, true)));
    assertThat(accepted).noneMatch(o -> o instanceof Output.Emit e && e.event() instanceof OverlayEvent.NeighborDown);
    assertThat(n.stream().membership().isActive(id(2))).isTrue();
    assertThat(n.stream().membership().isActive(id(7))).isFalse();
    assertThat(n.stream().membership().activeSize()).isEqualTo(5);
  }

  @Test
  @org.junit.jupiter.api.Timeout(30) // a guard: before the fix this never returned
  void pendingRequestsFullOfChurnRequestsDoNotSpinTheRefill() {
    TestNode n = new TestNode(1, dev.overlay.config.NodeConfig.builder()
        .membership(dev.overlay.config.HyParViewConfig.builder().maxPendingRequests(5).churnFraction(1.0)
            .churnRandomShare(1.0).build()).build());
    n.joinWithNeighbors(2, 3, 4, 5, 6);
    List<PeerInfo> passive = new java.util.ArrayList<>();
    for (int p = 7; p <= 16; p++) passive.add(info(p));
    n.on(new Event.Introductions(STREAM, passive));
    n.advance(60_000 * MS);
    n.on(new Event.TimerFired(churnTick(n)));
    assertThat(n.stream().membership().pendingSize()).as("a churn request for every neighbour").isEqualTo(5);

    List<Output> lost = n.on(new Event.PeerDisconnected(id(2), "connection reset"));
    assertThat(lost).as("the refill is refused once, visibly, and the node carries on")
        .filteredOn(o -> o instanceof Output.Emit e && e.event() instanceof OverlayEvent.Dropped d
            && d.reason() == OverlayEvent.DropReason.CAPACITY)
        .hasSize(1);
    assertThat(n.stream().membership().activeSize()).isEqualTo(4);
  }
}
