package dev.overlay.node;

import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static dev.overlay.core.testing.TestNode.info;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.overlay.config.NodeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.TestNode;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Announcement;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What one hostile peer can make the core do, frame by frame (issue 9, section 2). Each test is
 * an attack that worked before its fix: a hang, unbounded work, a forged view change.
 */
class HostilePeerTest {

  private static final PeerId PUB = id(40);
  private final TestNode node = new TestNode(1);

  /** Message {@code seq} of PUB, sealed by PUB, with its seal on the wire. */
  private static Message.Data data(long seq, int hops) {
    return TestNode.sealed(PUB, 77, seq, hops, new byte[] {(byte) seq});
  }

  private static long count(List<Output> commands, Class<?> type) {
    return commands.stream().filter(type::isInstance).count();
  }

  private static long graftTimers(List<Output> commands) {
    return commands.stream().filter(c -> c instanceof Output.Schedule s && s.timer() instanceof Timer.GraftTimeout).count();
  }

  private static List<Message.Data> sentData(List<Output> commands) {
    List<Message.Data> out = new ArrayList<>();
    for (Output c : commands) {
      if (c instanceof Output.Send s && s.message() instanceof Message.Data d) out.add(d);
    }
    return out;
  }

  private static List<DropReason> drops(List<Output> commands) {
    List<DropReason> out = new ArrayList<>();
    for (Output c : commands) {
      if (c instanceof Output.Emit e && e.event() instanceof OverlayEvent.Dropped d) out.add(d.reason());
    }
    return out;
  }

  // ---- IHAVE: overflow and work budget ------------------------------------------------------

  @Test
  void anAnnouncementAtTheEndOfTheSequenceSpaceDoesNotHangTheNode() {
    node.joinWithNeighbors(2, 3);
    node.receive(2, data(1, 1));
    node.advance(1_000 * MS); // the tree is quiet, so announced numbers are fetched, not awaited
    // seq + 1 overflowed to Long.MIN_VALUE in the scan for unseen numbers, which then never ended.
    Message.IHave ihave = new Message.IHave(STREAM, List.of(new Announcement(PUB, 77, Long.MAX_VALUE - 1, 2, 1)));
    List<Output> c = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> node.receive(2, ihave));
    assertThat(graftTimers(c)).isZero();
    assertThat(node.stream().broadcast().missingSize()).isZero();
  }

  @Test
  void oneIHaveCreatesABoundedNumberOfMissingEntriesAndTimers() {
    node.joinWithNeighbors(2, 3);
    List<Announcement> many = new ArrayList<>();
    for (int i = 0; i < 64; i++) many.add(new Announcement(id(100 + i), 5, 1, 1024, 1)); // 65,536 numbers
    List<Output> c = node.receive(2, new Message.IHave(STREAM, many));

    int budget = NodeConfig.defaults().broadcast().maxMissingPerFrame();
    assertThat(graftTimers(c)).isLessThanOrEqualTo(budget);
    assertThat(node.stream().broadcast().missingSize()).isLessThanOrEqualTo(budget);
    assertThat(drops(c)).containsOnlyOnce(DropReason.WORK_BUDGET);
  }

  // ---- Neighbours only ----------------------------------------------------------------------

  @Test
  void dataFromAPeerThatIsNoNeighbourIsNeitherDeliveredNorForwarded() {
    node.joinWithNeighbors(2, 3);
    node.connected(9);
    List<Output> c = node.receive(9, data(1, 0));
    assertThat(count(c, Output.Deliver.class)).isZero();
    assertThat(sentData(c)).isEmpty();
    assertThat(drops(c)).containsExactly(DropReason.NOT_NEIGHBOR);
    // ... nor recorded as seen: the real copy is still delivered.
    assertThat(node.receive(2, data(1, 1))).contains(new Output.Deliver(data(1, 1)));
  }

  @Test
  void aGraftFromAPeerThatIsNoNeighbourGetsNothingFromTheCache() {
    node.joinWithNeighbors(2, 3);
    node.receive(2, data(1, 1)); // cached
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Graft(STREAM, new MessageRef(PUB, 77, 1), true));
    assertThat(sentData(c)).isEmpty();
    assertThat(drops(c)).containsExactly(DropReason.NOT_NEIGHBOR);
  }

  @Test
  void anIHaveFromAPeerThatIsNoNeighbourStartsNoRepair() {
    node.joinWithNeighbors(2, 3);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.IHave(STREAM, List.of(new Announcement(PUB, 77, 1, 100, 1))));
    assertThat(graftTimers(c)).isZero();
    assertThat(node.stream().broadcast().missingSize()).isZero();
    assertThat(drops(c)).containsExactly(DropReason.NOT_NEIGHBOR);
  }

  @Test
  void aPruneFromAPeerThatIsNoNeighbourChangesNoTree() {
    node.joinWithNeighbors(2, 3);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Prune(STREAM, PUB));
    assertThat(drops(c)).containsExactly(DropReason.NOT_NEIGHBOR);
  }

  @Test
  void framesStillInFlightFromAFormerNeighbourAreTakenDuringTheGracePeriodOnly() {
    node.joinWithNeighbors(2, 3);
    node.receive(2, new Message.Disconnect(STREAM, 1, true)); // 2 evicted us; its last pushes are on the way
    node.advance(100 * MS);
    assertThat(node.receive(2, data(1, 1))).contains(new Output.Deliver(data(1, 1)));
    node.advance(10_000 * MS);
    assertThat(drops(node.receive(2, data(2, 1)))).containsExactly(DropReason.NOT_NEIGHBOR);
  }

  // ---- Membership walks ---------------------------------------------------------------------

  @Test
  void aForwardJoinFromAPeerThatIsNoNeighbourDialsNobody() {
    node.joinWithNeighbors(2);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.ForwardJoin(STREAM, info(20), 0));
    assertThat(count(c, Output.Connect.class)).isZero();
    assertThat(c).noneMatch(x -> x instanceof Output.Send s && s.message() instanceof Message.Neighbor);
    assertThat(drops(c)).containsExactly(DropReason.NOT_NEIGHBOR);
  }

  @Test
  void aShuffleFromAPeerThatIsNoNeighbourIsNotAnswered() {
    node.joinWithNeighbors(2);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.Shuffle(STREAM, info(21), 0, List.of(info(22)), 5));
    assertThat(count(c, Output.Connect.class)).isZero();
    assertThat(c).noneMatch(x -> x instanceof Output.Send);
    assertThat(node.stream().membership().passiveView()).extracting(PeerInfo::id).doesNotContain(id(21), id(22));
  }

  @Test
  void aShuffleReplyToNoShuffleOfOursIsIgnored() {
    node.joinWithNeighbors(2);
    node.connected(9);
    List<Output> c = node.receive(9, new Message.ShuffleReply(STREAM, List.of(info(30), info(31)), 12345));
    assertThat(node.stream().membership().passiveView()).extracting(PeerInfo::id).doesNotContain(id(30), id(31));
    assertThat(drops(c)).containsExactly(DropReason.UNSOLICITED);
  }

  @Test
  void theReplyToOurShuffleIsMergedOnce() {
    node.joinWithNeighbors(2);
    List<Output> tick = node.on(new Event.TimerFired(new Timer.ShuffleTick(STREAM, node.stream().membership().timerGeneration())));
    long nonce = tick.stream().filter(x -> x instanceof Output.Send s && s.message() instanceof Message.Shuffle)
        .map(x -> ((Message.Shuffle) ((Output.Send) x).message()).nonce()).findFirst().orElseThrow();
    node.connected(9);
    node.receive(9, new Message.ShuffleReply(STREAM, List.of(info(30)), nonce));
    assertThat(node.stream().membership().passiveView()).extracting(PeerInfo::id).contains(id(30));
    List<Output> again = node.receive(9, new Message.ShuffleReply(STREAM, List.of(info(31)), nonce));
    assertThat(node.stream().membership().passiveView()).extracting(PeerInfo::id).doesNotContain(id(31));
    assertThat(drops(again)).containsExactly(DropReason.UNSOLICITED);
  }

  @Test
  void forwardJoinWalksEndingHereCannotPileUpNeighbourRequests() {
    node.joinWithNeighbors(2);
    int connects = 0;
    for (int i = 0; i < 100; i++) {
      connects += count(node.receive(2, new Message.ForwardJoin(STREAM, info(200 + i), 0)), Output.Connect.class);
    }
    int cap = NodeConfig.defaults().membership().maxPendingRequests();
    assertThat(node.stream().membership().pendingSize()).isLessThanOrEqualTo(cap);
    assertThat(connects).isLessThanOrEqualTo(cap);
  }

  @Test
  void aForwardJoinCannotLockAPeerOutWithAHugeIncarnation() {
    node.joinWithNeighbors(2, 3);
    node.receive(2, new Message.ForwardJoin(STREAM, info(20, Long.MAX_VALUE), 3));
    node.connected(20);
    List<Output> c = node.receive(20, new Message.Join(STREAM, info(20, 5)));
    assertThat(drops(c)).doesNotContain(DropReason.STALE_INCARNATION);
    assertThat(c).anyMatch(x -> x instanceof Output.Send s && s.message() instanceof Message.ForwardJoin);
  }

  @Test
  void joinsFromOnePeerAreRateLimited() {
    node.joinWithNeighbors(2, 3);
    node.connected(9);
    int walks = 0;
    List<DropReason> dropped = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      List<Output> c = node.receive(9, new Message.Join(STREAM, info(9)));
      walks += c.stream().filter(x -> x instanceof Output.Send s && s.message() instanceof Message.ForwardJoin).count();
      dropped.addAll(drops(c));
    }
    assertThat(walks).isLessThanOrEqualTo(2); // one JOIN's walks, to 2 and 3
    assertThat(dropped).contains(DropReason.RATE_LIMITED);
  }

  // ---- Data limits --------------------------------------------------------------------------

  @Test
  void aMessageAtTheHopLimitIsDeliveredButGoesNoFurther() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.receive(2, data(1, Message.MAX_HOPS));
    assertThat(count(c, Output.Deliver.class)).isOne();
    assertThat(sentData(c)).isEmpty();
    node.advance(1_000 * MS);
    List<Output> flush = node.on(new Event.TimerFired(new Timer.LazyFlush(STREAM)));
    assertThat(flush).noneMatch(x -> x instanceof Output.Send s && s.message() instanceof Message.IHave i
        && i.announcements().stream().anyMatch(a -> a.hops() > Message.MAX_HOPS));
  }

  @Test
  void aPayloadOverTheNodesLimitIsDropped() {
    TestNode small = new TestNode(1, NodeConfig.builder().maxPayloadBytes(10).build());
    small.joinWithNeighbors(2, 3);
    List<Output> c = small.receive(2, TestNode.sealed(PUB, 77, 1, 1, new byte[11]));
    assertThat(count(c, Output.Deliver.class)).isZero();
    assertThat(drops(c)).containsExactly(DropReason.TOO_LARGE);
  }
}
