package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.SeenConfig;
import dev.overlay.config.TreeStrategy;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StartAt;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.RecordingOutbox;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Announcement;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Timer;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PlumtreeTest {

  private static final PeerId SELF = id(1);
  private static final PeerId A = id(2);
  private static final PeerId B = id(3);
  private static final PeerId C = id(4);
  private static final PeerId PUB = id(9);
  private static final long SESSION = 77;
  private static final long T1 = 250 * MS;
  private static final long T2 = 100 * MS;

  private RecordingOutbox out;
  private Plumtree tree;
  private long now;

  @BeforeEach
  void setUp() {
    build(PlumtreeConfig.defaults());
  }

  private void build(PlumtreeConfig config) {
    build(config, SeenConfig.defaults());
  }

  private void build(PlumtreeConfig config, SeenConfig seenConfig) {
    out = new RecordingOutbox();
    tree = new Plumtree(STREAM, config, new SeenMessages(STREAM, seenConfig, out), out);
    tree.neighborUp(0, A);
    tree.neighborUp(0, B);
    tree.neighborUp(0, C);
    now = 1_000 * MS; // past every grace period
  }

  private static Data data(long seq, int hops) {
    return new Data(STREAM, PUB, SESSION, seq, hops, new byte[] {(byte) seq});
  }

  /** Message {@code seq} of PUB's {@code n}th session after SESSION (it restarted), two hops away. */
  private static Data laterSession(int n, long seq) {
    return new Data(STREAM, PUB, SESSION + n, seq, 2, new byte[] {1});
  }

  @Test
  void publishingPushesToEveryEagerNeighbour() {
    PublishResult r = tree.publish(now, SELF, SESSION, 1, new byte[] {7});
    Data d = new Data(STREAM, SELF, SESSION, 1, 0, new byte[] {7});
    assertThat(out.drain()).containsExactly(new Output.Send(A, d), new Output.Send(B, d), new Output.Send(C, d));
    assertThat(r).isEqualTo(new PublishResult(STREAM, SESSION, 1, PublishResult.Status.SENT, 3, 0));
  }

  @Test
  void aFirstCopyIsDeliveredAndForwardedOneHopFurtherButNotBack() {
    tree.onData(now, A, data(1, 3));
    assertThat(out.drain()).containsExactly(
        new Output.Deliver(data(1, 3)),
        new Output.Send(B, data(1, 4)),
        new Output.Send(C, data(1, 4)));
  }

  @Test
  void aDuplicatePrunesItsSenderOnlyOnce() {
    tree.onData(now, A, data(1, 3));
    tree.onData(now, A, data(2, 3)); // A is the front-runner
    out.clear();
    tree.onData(now, B, data(1, 5));
    assertThat(out.drain()).containsExactly(
        new Output.Send(B, new Message.Prune(STREAM, PUB)),
        new Output.Emit(new OverlayEvent.Pruned(STREAM, B, PUB)));

    tree.onData(now + 10 * MS, B, data(2, 5)); // still in flight when B got our PRUNE
    assertThat(out.drain()).isEmpty();

    tree.onData(now + 1_100 * MS, B, data(2, 5)); // B did not stop: tell it again
    assertThat(out.drain()).containsExactly(
        new Output.Send(B, new Message.Prune(STREAM, PUB)),
        new Output.Emit(new OverlayEvent.Pruned(STREAM, B, PUB)));
  }

  @Test
  void theFrontRunnerIsNotPrunedForOlderMessages() {
    tree.onData(now, B, data(1, 5));
    tree.onData(now, A, data(2, 2)); // A brings the newest message first
    out.clear();
    tree.onData(now, A, data(1, 2)); // and an older one, late
    assertThat(out.drain()).isEmpty();
  }

  @Test
  void aNewLinkIsNotPrunedDuringItsGracePeriod() {
    tree.onData(now, A, data(1, 3));
    tree.neighborUp(now, id(5));
    out.clear();
    tree.onData(now + 100 * MS, id(5), data(1, 6));
    assertThat(out.drain()).isEmpty();
    tree.onData(now + 600 * MS, id(5), data(1, 6));
    assertThat(out.drain()).contains(new Output.Send(id(5), new Message.Prune(STREAM, PUB)));
  }

  @Test
  void aPrunedPeerGetsAnnouncementsInsteadOfPushes() {
    tree.onPrune(now, B, new Message.Prune(STREAM, PUB));
    tree.onData(now, A, data(1, 3));
    assertThat(out.drain()).containsExactly(
        new Output.Deliver(data(1, 3)),
        new Output.Send(C, data(1, 4)),
        new Output.Schedule(new Timer.LazyFlush(STREAM), 100 * MS));
    tree.onData(now, A, data(2, 3));
    tree.onData(now, A, data(3, 3));
    out.clear();

    tree.onLazyFlush(now + 100 * MS);
    assertThat(out.drain()).containsExactly(new Output.Send(B,
        new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 1, 3, 4)))));
  }

  @Test
  void anAnnouncedMessageThatDoesNotArriveIsGrafted() {
    MessageRef ref = new MessageRef(PUB, SESSION, 5);
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 5, 1, 2))));
    assertThat(out.drain()).containsExactly(new Output.Schedule(new Timer.GraftTimeout(STREAM, ref, 0), T1));

    tree.onIHave(now, C, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 5, 1, 3))));
    assertThat(out.drain()).isEmpty(); // already waiting; C is the second candidate

    tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, ref, 0));
    assertThat(out.drain()).containsExactly(
        new Output.Send(B, new Message.Graft(STREAM, ref, true)),
        new Output.Emit(new OverlayEvent.Grafted(STREAM, B, PUB, false)),
        new Output.Schedule(new Timer.GraftTimeout(STREAM, ref, 1), T2));

    tree.onGraftTimeout(now + T1 + T2, new Timer.GraftTimeout(STREAM, ref, 1));
    assertThat(out.drain()).containsExactly(
        new Output.Send(C, new Message.Graft(STREAM, ref, true)),
        new Output.Emit(new OverlayEvent.Grafted(STREAM, C, PUB, false)),
        // Each further attempt waits twice as long: under load a GRAFT answer is late, not lost.
        new Output.Schedule(new Timer.GraftTimeout(STREAM, ref, 2), 2 * T2));

    tree.onData(now + T1 + 2 * T2, C, data(5, 4));
    out.clear();
    tree.onGraftTimeout(now + T1 + 2 * T2, new Timer.GraftTimeout(STREAM, ref, 2));
    assertThat(out.drain()).as("the message came: the timer is stale").isEmpty();
  }

  @Test
  void announcementsAheadOfATreeThatIsStillDeliveringWaitForIt() {
    tree.onData(now, A, data(1, 3)); // the tree delivers
    out.clear();
    tree.onIHave(now + 10 * MS, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2, 50, 2))));
    assertThat(out.drain()).as("one check for the whole range, no graft timers")
        .containsExactly(new Output.Schedule(new Timer.StallCheck(STREAM, PUB), 250 * MS));
    assertThat(tree.missingSize()).isZero();

    for (int s = 2; s <= 30; s++) tree.onData(now + 200 * MS, A, data(s, 3)); // late, but coming
    out.clear();
    tree.onStallCheck(now + 260 * MS, PUB);
    assertThat(out.drain()).as("still delivering: look again a stall timeout after its last delivery")
        .containsExactly(new Output.Schedule(new Timer.StallCheck(STREAM, PUB), 190 * MS));

    for (int s = 31; s <= 51; s++) tree.onData(now + 300 * MS, A, data(s, 3));
    out.clear();
    tree.onStallCheck(now + 450 * MS, PUB);
    assertThat(out.drain()).as("caught up: nothing to fetch").isEmpty();
    assertThat(tree.stats().graftsSent()).isZero();
  }

  @Test
  void aTreeThatStopsDeliveringHasTheAnnouncedMessagesFetched() {
    tree.onData(now, A, data(1, 3));
    tree.onIHave(now + 10 * MS, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2, 3, 2))));
    tree.onData(now + 20 * MS, A, data(2, 3)); // then A goes quiet
    out.clear();
    tree.onStallCheck(now + 280 * MS, PUB); // 260 ms after its last delivery
    MessageRef three = new MessageRef(PUB, SESSION, 3);
    MessageRef four = new MessageRef(PUB, SESSION, 4);
    assertThat(out.drain()).as("grafted at once: the stall timeout was the wait").containsExactly(
        new Output.Schedule(new Timer.GraftTimeout(STREAM, three, 0), 0),
        new Output.Schedule(new Timer.GraftTimeout(STREAM, four, 0), 0));
    assertThat(tree.stats().stalls()).isEqualTo(1);
    tree.onGraftTimeout(now + 280 * MS, new Timer.GraftTimeout(STREAM, three, 0));
    assertThat(out.sent(Message.Graft.class)).containsExactly(new Message.Graft(STREAM, three, true));
  }

  @Test
  void aHoleIsFetchedFromThePeerThatWentPastIt() {
    tree.onData(now, A, data(1, 3));
    tree.onIHave(now + 10 * MS, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2, 4, 2))));
    tree.onData(now + 20 * MS, A, data(2, 3));
    out.clear();
    tree.onData(now + 20 * MS, A, data(4, 3)); // 3 skipped
    MessageRef three = new MessageRef(PUB, SESSION, 3);
    assertThat(out.commands(Output.Schedule.class)).as("it may still come another way: wait graftTimeout1")
        .containsExactly(new Output.Schedule(new Timer.GraftTimeout(STREAM, three, 0), T1));
    tree.onData(now + 20 * MS, A, data(5, 3));
    out.clear();
    tree.onStallCheck(now + 100 * MS, PUB);
    assertThat(out.drain()).as("the check finds it already missing; B is another candidate").isEmpty();
    tree.onGraftTimeout(now + 20 * MS + T1, new Timer.GraftTimeout(STREAM, three, 0));
    assertThat(out.sent(Message.Graft.class)).containsExactly(new Message.Graft(STREAM, three, true));
    assertThat(out.commands(Output.Send.class).get(0).to()).isEqualTo(A);
    assertThat(tree.stats().gapsRepaired()).isEqualTo(1);
  }

  @Test
  void aNewNeighbourHearsTheNewestMessageOfEachRecentPublisher() {
    tree.onData(now, A, data(1, 3));
    tree.onData(now, A, data(2, 3));
    out.clear();
    tree.neighborUp(now, id(5));
    assertThat(out.drain()).containsExactly(new Output.Send(id(5),
        new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2, 1, 0)), true)));
  }

  @Test
  void aCatchUpFetchesWhatWeMissedOfAPublisherWeFollow() {
    tree.onData(now, A, data(1, 3));
    out.clear();
    tree.onIHave(now + 1_000 * MS, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 9, 1, 0)), true));
    assertThat(out.drain()).containsExactly(new Output.Schedule(new Timer.GraftTimeout(STREAM, new MessageRef(PUB, SESSION, 9), 0), T1));
    tree.onData(now + 1_300 * MS, B, data(9, 1)); // the graft's answer opens the hole 2..8
    assertThat(tree.missingSize()).isEqualTo(7);
  }

  @Test
  void aCatchUpAboutAPublisherWeNeverHeardOfIsIgnored() {
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 9, 1, 0)), true));
    assertThat(out.drain()).isEmpty();
    assertThat(tree.missingSize()).isZero();
  }

  @Test
  void aNewSessionOfAPublisherWeFollowIsFetchedFromItsStart() {
    tree.onData(now, A, data(1, 3));
    out.clear();
    tree.onData(now, A, new Data(STREAM, PUB, SESSION + 1, 4, 3, new byte[] {4})); // it restarted; 1..3 passed us by
    assertThat(tree.missingSize()).isEqualTo(3);
  }

  @Test
  void withNoRecentDeliveryAnAnnouncementIsMissingAsInThePaper() {
    tree.onData(now, A, data(1, 3));
    MessageRef ref = new MessageRef(PUB, SESSION, 2);
    out.clear();
    tree.onIHave(now + 300 * MS, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2, 1, 2))));
    assertThat(out.drain()).containsExactly(new Output.Schedule(new Timer.GraftTimeout(STREAM, ref, 0), T1));
  }

  @Test
  void anAnnouncerThatLeftIsStillAskedButNotTrackedAsALink() {
    MessageRef ref = new MessageRef(PUB, SESSION, 5);
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 5, 1, 2))));
    tree.neighborDown(now, B);
    tree.onIHave(now, id(7), new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 5, 1, 2))));
    out.clear();
    tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, ref, 0));
    assertThat(out.sent(Message.Graft.class)).containsExactly(new Message.Graft(STREAM, ref, true));
    assertThat(tree.lazySetsWithinNeighbors()).isTrue();
  }

  @Test
  void anAnnouncementOfSomethingWeHaveNeedsNothing() {
    tree.onData(now, A, data(1, 3));
    out.clear();
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 1, 1, 4))));
    assertThat(out.drain()).isEmpty();
  }

  @Test
  void aGraftIsAnsweredFromTheCacheOneHopFurther() {
    tree.onData(now, A, data(1, 3));
    tree.onPrune(now, B, new Message.Prune(STREAM, PUB));
    out.clear();
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), true));
    assertThat(out.drain()).containsExactly(new Output.Send(B, data(1, 4)));
    tree.onData(now, A, data(2, 3));
    assertThat(out.drain()).as("B is pushed to again").contains(new Output.Send(B, data(2, 4)));
  }

  @Test
  void aPeerGraftingUsGetsTheAnnouncementsQueuedWhileItWasLazy() {
    tree.onPrune(now, B, new Message.Prune(STREAM, PUB));
    tree.onData(now, A, data(1, 3)); // B lazy: announced later, not pushed
    tree.onData(now, A, data(2, 3));
    out.clear();
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 2), false));
    assertThat(out.drain()).containsExactly(new Output.Send(B,
        new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 1, 2, 4)))));
  }

  @Test
  void aGraftForAMessageNoLongerCachedIsADrop() {
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 99), true));
    assertThat(out.drain()).containsExactly(new Output.Emit(new OverlayEvent.Dropped(STREAM, B, DropReason.NOT_CACHED,
        "GRAFT for " + new MessageRef(PUB, SESSION, 99))));
  }

  @Test
  void aMuchShorterAnnouncedPathIsGraftedOnceThenBacksOff() {
    tree.onData(now, A, data(1, 10)); // A is our parent, 10 hops out
    tree.onData(now, B, data(1, 12)); // B's copy is a duplicate: B pruned
    out.clear();
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 1, 1, 2))));
    assertThat(out.drain()).containsExactly(
        new Output.Send(B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), false)),
        new Output.Emit(new OverlayEvent.Grafted(STREAM, B, PUB, true)));

    tree.onData(now + 600 * MS, A, data(2, 10)); // A still first: B loses the race
    tree.onData(now + 600 * MS, B, data(2, 12));
    out.clear();
    tree.onIHave(now + 700 * MS, B, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2, 1, 2))));
    assertThat(out.drain()).as("not again within the back-off").isEmpty();
  }

  @Test
  void losingTheFrontRunnerAsksThePrunedNeighboursToPush() {
    tree.onData(now, A, data(1, 3));
    tree.onData(now, B, data(1, 4)); // B pruned
    out.clear();
    tree.neighborDown(now, A);
    assertThat(out.drain()).containsExactly(
        new Output.Send(B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), false)),
        new Output.Emit(new OverlayEvent.Grafted(STREAM, B, PUB, false)));
  }

  @Test
  void noPruneForCopiesThatRaceAPrunedParent() {
    tree.onData(now, A, data(1, 3));
    tree.onData(now, B, data(1, 5)); // B pruned
    tree.onData(now, B, data(2, 5)); // B's in-flight copy is first for message 2
    out.clear();
    tree.onData(now, C, data(2, 4)); // C's copy came second, but the first was from a pruned peer
    assertThat(out.drain()).isEmpty();
  }

  @Test
  void perPublisherTreesAreIndependent() {
    PeerId other = id(10);
    tree.onPrune(now, B, new Message.Prune(STREAM, PUB));
    tree.onData(now, A, new Data(STREAM, other, 5, 1, 1, new byte[0]));
    assertThat(out.drain()).contains(new Output.Send(B, new Data(STREAM, other, 5, 1, 2, new byte[0])));
  }

  @Test
  void aSharedTreeAppliesAPruneToEveryPublisher() {
    build(PlumtreeConfig.builder().treeStrategy(TreeStrategy.SHARED).build());
    PeerId other = id(10);
    tree.onPrune(now, B, new Message.Prune(STREAM, PUB));
    tree.onData(now, A, new Data(STREAM, other, 5, 1, 1, new byte[0]));
    assertThat(out.drain()).doesNotContain(new Output.Send(B, new Data(STREAM, other, 5, 1, 2, new byte[0])));
  }

  @Test
  void aGapIsReportedAndItsFillingToo() {
    tree.onData(now, A, data(1, 3));
    out.clear();
    tree.onData(now, A, data(4, 3));
    assertThat(out.events(OverlayEvent.GapDetected.class))
        .containsExactly(new OverlayEvent.GapDetected(STREAM, PUB, SESSION, 2, 3));
    tree.onData(now, B, data(3, 3));
    assertThat(out.events(OverlayEvent.GapResolved.class))
        .containsExactly(new OverlayEvent.GapResolved(STREAM, PUB, SESSION, 3, 3));
  }

  @Test
  void nearTheSeenLimitAStragglerInsideAHoleIsFetchedAgainInsteadOfAHoleBeingAbandoned() {
    build(PlumtreeConfig.defaults(), SeenConfig.builder().maxIntervalsPerSession(4).build());
    tree.onData(now, A, data(1, 3));
    tree.onData(now, A, data(10, 3)); // hole 2..9
    tree.onData(now, A, data(20, 3)); // hole 11..19: three intervals, the split limit of four
    out.clear();
    tree.onData(now, C, data(5, 3)); // would split 2..9 in two
    MessageRef five = new MessageRef(PUB, SESSION, 5);
    assertThat(out.drain()).as("not delivered, nor forwarded: it stays missing, as since 10 came").isEmpty();
    assertThat(tree.stats().heldBack()).isEqualTo(1);

    tree.onData(now, A, data(30, 3)); // a new hole above: the fourth interval, nothing given up
    for (long seq = 2; seq <= 4; seq++) tree.onData(now, B, data(seq, 3)); // the hole's lower edge fills
    assertThat(out.events(OverlayEvent.GapAbandoned.class)).isEmpty();
    out.clear();
    tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, five, 0));
    assertThat(out.drain()).contains(new Output.Send(A, new Message.Graft(STREAM, five, true)));
    tree.onData(now + T1 + 10 * MS, A, data(5, 4)); // the answer now joins 2..4
    assertThat(out.commands(Output.Deliver.class)).containsExactly(new Output.Deliver(data(5, 4)));
    assertThat(out.events(OverlayEvent.GapAbandoned.class)).isEmpty();
  }

  @Test
  void messagesPublishedWithNoNeighbourAreAnnouncedToTheFirstNeighboursAsARange() {
    for (PeerId n : List.of(A, B, C)) tree.neighborDown(now, n);
    for (long seq = 1; seq <= 3; seq++) {
      assertThat(tree.publish(now, SELF, SESSION, seq, new byte[] {7}).status()).isEqualTo(PublishResult.Status.NO_PEERS);
    }
    out.clear();
    tree.neighborUp(now + 100 * MS, A);
    // Not just the newest: A may never have heard of us, and would start after the three.
    assertThat(out.drain()).containsExactly(
        new Output.Send(A, new Message.IHave(STREAM, List.of(new Announcement(SELF, SESSION, 1, 3, 0)), true)));
    tree.neighborUp(now + 150 * MS, B);
    assertThat(out.drain()).as("a second newcomer before we pushed again is told too")
        .containsExactly(new Output.Send(B, new Message.IHave(STREAM, List.of(new Announcement(SELF, SESSION, 1, 3, 0)), true)));
    tree.publish(now + 200 * MS, SELF, SESSION, 4, new byte[] {7}); // pushed: A and B fetch 1..3, the tree carries them on
    out.clear();
    tree.neighborUp(now + 300 * MS, C);
    assertThat(out.drain()).as("from then on a newcomer starts with the next message, as any does")
        .containsExactly(new Output.Send(C, new Message.IHave(STREAM, List.of(new Announcement(SELF, SESSION, 4, 1, 0)), true)));
  }

  @Test
  void aSecondSpellWithNoNeighbourIsAnnouncedFromItsOwnStart() {
    build(PlumtreeConfig.builder().messageCacheCapacity(4).build());
    for (PeerId n : List.of(A, B, C)) tree.neighborDown(now, n);
    tree.publish(now, SELF, SESSION, 1, new byte[] {7}); // NO_PEERS
    for (long seq = 2; seq <= 6; seq++) tree.publish(now, SELF, SESSION, seq, new byte[] {7}); // 1 and 2 leave the cache
    out.clear();
    tree.neighborUp(now + 100 * MS, A);
    assertThat(out.drain()).as("1 is gone: the range starts at the first still cached, 3, not at 6")
        .containsExactly(new Output.Send(A, new Message.IHave(STREAM, List.of(new Announcement(SELF, SESSION, 3, 4, 0)), true)));
  }

  @Test
  void aCopyHeldBackOnceIsTakenTheSecondTimeEvenIfItStillSplitsAHole() {
    build(PlumtreeConfig.defaults(), SeenConfig.builder().maxIntervalsPerSession(4).build());
    tree.onData(now, A, data(1, 3));
    tree.onData(now, A, data(10, 3));
    tree.onData(now, A, data(20, 3)); // three intervals: splits are held back
    out.clear();
    tree.onData(now, C, data(5, 3));
    assertThat(out.commands(Output.Deliver.class)).isEmpty();
    tree.onData(now + T1, C, data(5, 4)); // 2..4 never came: the second copy is taken anyway
    assertThat(out.commands(Output.Deliver.class)).containsExactly(new Output.Deliver(data(5, 4)));
    assertThat(tree.stats().heldBack()).isEqualTo(1);
  }

  @Test
  void aCatchUpFromThePublisherItselfIsFetchedEvenByANewSubscriber() {
    tree.onIHave(now, PUB, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 1, 3, 0)), true));
    assertThat(tree.missingSize()).isEqualTo(3);
    MessageRef first = new MessageRef(PUB, SESSION, 1);
    out.clear();
    tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, first, 0));
    assertThat(out.drain()).contains(new Output.Send(PUB, new Message.Graft(STREAM, first, true)));

    tree.onIHave(now, A, new Message.IHave(STREAM, List.of(new Announcement(id(8), SESSION, 1, 3, 0)), true));
    assertThat(out.drain()).as("a catch-up about a publisher we never heard of, from someone else: ignored").isEmpty();
    assertThat(tree.missingSize()).isEqualTo(3);
  }

  @Test
  void aMissingMessageNobodyCouldSupplyIsReportedWhenItsRepairIsGivenUp() {
    tree.onData(now, A, data(1, 3));
    tree.onData(now, A, data(4, 3)); // 2 and 3 missing, fetched from A
    for (long seq = 2; seq <= 3; seq++) {
      tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, new MessageRef(PUB, SESSION, seq), 0));
    }
    tree.onData(now + T1 + 10 * MS, A, data(3, 4)); // 3 came; 2 never will (not cached anywhere)
    out.clear();
    tree.housekeeping(now + 31_000 * MS); // missingTtl (30 s) later: the repair gives up
    assertThat(out.events(OverlayEvent.GapUnrecoverable.class))
        .containsExactly(new OverlayEvent.GapUnrecoverable(STREAM, PUB, SESSION, 2, 2));
    assertThat(tree.stats().gapsUnrecoverable()).isEqualTo(1);
  }

  @Test
  void numbersOnlyAnnouncedAndNeverSeenAroundAreNotReportedAsLost() {
    // An IHAVE is not signed: a made-up range of a publisher we never had is no known gap.
    tree.onIHave(now, A, new Message.IHave(STREAM, List.of(new Announcement(id(8), SESSION, 1, 2, 2)), false));
    assertThat(tree.missingSize()).isEqualTo(2);
    out.clear();
    tree.housekeeping(now + 31_000 * MS);
    assertThat(tree.missingSize()).isZero();
    assertThat(out.events(OverlayEvent.GapUnrecoverable.class)).isEmpty();
  }

  @Test
  void identicalPayloadsAreDistinctMessages() {
    byte[] same = {1, 2, 3};
    tree.onData(now, A, new Data(STREAM, PUB, SESSION, 1, 1, same));
    tree.onData(now, A, new Data(STREAM, PUB, SESSION, 2, 1, same));
    assertThat(out.commands(Output.Deliver.class)).hasSize(2);
  }

  @Test
  void everyTableStaysWithinItsCap() {
    build(PlumtreeConfig.builder().messageCacheCapacity(8).maxMissing(4).maxPendingAnnouncements(4).build());
    tree.onPrune(now, B, new Message.Prune(STREAM, PUB));
    for (int i = 1; i <= 50; i++) {
      tree.onData(now, A, data(2 * i, 3)); // every other one: many announcement runs, many gaps
      // The holes the tree went past are missing (the ones ahead of it wait: see the stall tests).
      tree.onIHave(now, C, new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, 2 * i - 1, 1, 3))));
    }
    assertThat(tree.cacheSize()).isLessThanOrEqualTo(8);
    assertThat(tree.missingSize()).isLessThanOrEqualTo(4);
    assertThat(tree.pendingAnnouncements()).isLessThanOrEqualTo(4);
    // Past the missing table, holes wait in the publisher's range (fetched as it empties), not dropped.
    assertThat(tree.stats().missingDeferred()).isPositive();
    assertThat(tree.stats().aheadNow()).isEqualTo(1);
    assertThat(out.events(OverlayEvent.Dropped.class)).noneMatch(d -> d.reason() == DropReason.CAPACITY);
  }

  // ---- Start positions (StartAt) ------------------------------------------------------------

  /** The seen set of the tree {@link #joinWith} made. */
  private SeenMessages seen;

  /** A node that joins with {@code start}, then meets A. */
  private void joinWith(StartAt start, SeenConfig seenConfig) {
    out = new RecordingOutbox();
    seen = new SeenMessages(STREAM, seenConfig, out);
    tree = new Plumtree(STREAM, PlumtreeConfig.defaults(), seen, out);
    tree.startAt(0, start);
    tree.neighborUp(0, A);
    now = 1_000 * MS;
    out.clear();
  }

  private static Message.IHave catchUp(PeerId publisher, long session, long newest) {
    return new Message.IHave(STREAM, List.of(new Announcement(publisher, session, newest, 1, 0)), true);
  }

  /** Runs the stall check the catch-up scheduled, and returns the numbers it asked A for. */
  private List<Long> fetchedAfterCheck(PeerId publisher) {
    assertThat(out.drain()).as("checked at once, not after the stall wait")
        .containsExactly(new Output.Schedule(new Timer.StallCheck(STREAM, publisher), 0));
    tree.onStallCheck(now, publisher);
    return out.commands(Output.Schedule.class).stream()
        .filter(sc -> sc.timer() instanceof Timer.GraftTimeout)
        .map(sc -> ((Timer.GraftTimeout) sc.timer()).ref().seq()).toList();
  }

  @Test
  void aResumedSessionFetchesEverythingAfterItsPositionThatACatchUpNames() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onIHave(now, A, catchUp(PUB, SESSION, 12));
    assertThat(fetchedAfterCheck(PUB)).containsExactly(6L, 7L, 8L, 9L, 10L, 11L, 12L);
    out.clear();
    tree.onData(now, A, data(9, 2));
    tree.onData(now, A, data(5, 2)); // at or before the position: already processed
    tree.onData(now, A, data(6, 2));
    tree.onData(now, A, data(9, 2));
    assertThat(out.commands(Output.Deliver.class)).as("9 waits for 7 and 8: in order").containsExactly(new Output.Deliver(data(6, 2)));
  }

  @Test
  void aStreamJoinedFromAPositionDeliversEachSessionInOrder() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onData(now, A, data(9, 2));
    tree.onData(now, A, data(8, 2));
    assertThat(out.commands(Output.Deliver.class)).isEmpty();
    assertThat(tree.stats().orderHeldNow()).isEqualTo(2);
    tree.onData(now, A, data(6, 2));
    tree.onData(now, A, data(7, 2));
    tree.onData(now, A, data(10, 2));
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(6L, 7L, 8L, 9L, 10L);
    assertThat(tree.stats().orderHeldNow()).isZero();
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).isEmpty();
  }

  @Test
  void historyFromAStorageNodeFillsTheHoleAndReleasesWhatWaited() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 0)), SeenConfig.defaults());
    tree.onData(now, A, data(3, 2)); // live, ahead of the history
    tree.onHistory(now, data(2, 0), null);
    tree.onHistory(now, data(1, 0), null);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(1L, 2L, 3L);
  }

  @Test
  void aHoleTheStorageNodeLacksIsNotWaitedFor() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 0)), SeenConfig.defaults());
    tree.onHistory(now, data(1, 0), null);
    tree.onHistory(now, data(4, 0), null); // 2 and 3 skipped by the storage node
    tree.historyGap(now, PUB, SESSION, 2, 3);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(1L, 4L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).singleElement()
        .satisfies(e -> assertThat(e.reason()).contains("storage node lacks"));
    tree.historyGap(now, PUB, SESSION, 2, 3); // again, or for a hole already passed: nothing
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).hasSize(1);
  }

  @Test
  void aPinnedStorageNodesClaimReleasesEveryHoleInsideIt() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 0)), SeenConfig.defaults());
    tree.onHistory(now, data(1, 0), null);
    tree.onData(now, A, data(5, 2)); // from a cache, inside what the storage node will say it lacks
    tree.onHistory(now, data(7, 0), null);
    tree.historyGap(now, PUB, SESSION, 2, 6);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(1L, 5L, 7L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).extracting(e -> e.fromSeq()).containsExactly(2L, 6L);
  }

  @Test
  void aNewSessionOfAFollowedPublisherWaitsOnlyForWhatWillBeFetched() {
    // Ordered (another publisher's position), but PUB's history is not asked for: a hole longer
    // than one fetch is fetched only in its newest part, so the order starts there, not at 1.
    joinWith(StartAt.after(new Position(id(30), 1, 0)), SeenConfig.defaults());
    tree.onData(now, A, data(1, 2));
    tree.onData(now, A, laterSession(1, 3_000));
    for (long seq = 1_976; seq < 3_000; seq++) tree.onData(now, A, laterSession(1, seq));
    List<Long> delivered = out.commands(Output.Deliver.class).stream().filter(d -> d.message().session() == SESSION + 1)
        .map(d -> d.message().seq()).toList();
    assertThat(delivered).hasSize(1_025).startsWith(1_976L).endsWith(3_000L).isSorted();
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).isEmpty();
  }

  @Test
  void aStorageNodesClaimAloneMovesNothing() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 0)), SeenConfig.defaults());
    tree.onHistory(now, data(1, 0), null);
    tree.historyGap(now, PUB, SESSION, 2, 1_000_000); // nothing held after it: nothing to release
    tree.onData(now, A, data(9, 2)); // held behind 2..8
    tree.historyGap(now, PUB, SESSION, 2, 5); // 6..8 are missing too
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(1L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).isEmpty();
    tree.onData(now, A, data(2, 2));
    assertThat(out.commands(Output.Deliver.class)).as("2 still counts: the claim moved nothing").extracting(d -> d.message().seq())
        .containsExactly(1L, 2L);
  }

  @Test
  void noMessageWaitsLongerThanOrderWaitEvenIfItsHolesFillOneByOne() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 0)), SeenConfig.defaults());
    tree.onData(now, A, data(3, 2));
    tree.onData(now, A, data(5, 2));
    tree.onData(now + 20_000 * MS, A, data(1, 2)); // progress, but 3 and 5 have waited 20 s already
    tree.housekeeping(now + 30_000 * MS);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(1L, 3L, 5L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).extracting(e -> e.fromSeq()).containsExactly(2L, 4L);
  }

  @Test
  void aPublisherFloodingSessionNumbersPushesOutOnlyItsOwnSessions() {
    out = new RecordingOutbox();
    tree = new Plumtree(STREAM, PlumtreeConfig.defaults(), new SeenMessages(STREAM, SeenConfig.builder().maxSessionsPerPublisher(8).build(), out), out);
    tree.startAt(0, StartAt.after(new Position(PUB, SESSION, 0), new Position(id(30), 1, 0)));
    tree.neighborUp(0, A);
    out.clear();
    tree.onData(now, A, new Data(STREAM, id(30), 1, 2, 1, new byte[] {1})); // another publisher's session, waiting for 1
    for (long session = SESSION; session < SESSION + 5; session++) {
      tree.onData(now, A, new Data(STREAM, PUB, session, 2, 1, new byte[] {1}));
    }
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).singleElement()
        .satisfies(e -> assertThat(e.publisher()).isEqualTo(PUB))
        .satisfies(e -> assertThat(e.reason()).contains("sessions of this publisher"));
    assertThat(tree.stats().orderHeldNow()).as("the other publisher's message still waits for its 1").isEqualTo(5);
  }

  @Test
  void aHoleWaitedForLongerThanOrderWaitIsSkippedWithAnEventAndItsLateMessageIsStillDelivered() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onData(now, A, data(8, 2));
    tree.housekeeping(now + 29_000 * MS);
    assertThat(out.commands(Output.Deliver.class)).as("still waiting within orderWait (30 s)").isEmpty();
    tree.housekeeping(now + 30_000 * MS);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(8L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).singleElement()
        .satisfies(e -> assertThat(new long[] {e.fromSeq(), e.toSeq()}).containsExactly(6, 7));
    out.clear();
    tree.onData(now + 30_001 * MS, A, data(6, 2));
    assertThat(out.commands(Output.Deliver.class)).as("late, out of order, but not lost").extracting(d -> d.message().seq()).containsExactly(6L);
    assertThat(tree.stats().deliveredLate()).isEqualTo(1);
    assertThat(tree.stats().orderSkips()).isEqualTo(1);
  }

  @Test
  void theOrderBufferIsBoundedAndReleasesOverTheHoleWhenFull() {
    out = new RecordingOutbox();
    tree = new Plumtree(STREAM, PlumtreeConfig.builder().orderHoldMessages(3).build(), new SeenMessages(STREAM, SeenConfig.defaults(), out), out);
    tree.startAt(0, StartAt.after(new Position(PUB, SESSION, 0)));
    tree.neighborUp(0, A);
    out.clear();
    for (long seq = 2; seq <= 4; seq++) tree.onData(now, A, data(seq, 2));
    assertThat(out.commands(Output.Deliver.class)).isEmpty();
    tree.onData(now, A, data(5, 2)); // one past the cap of 3
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(2L, 3L, 4L, 5L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).singleElement()
        .satisfies(e -> assertThat(e.reason()).contains("order buffer is full"));
  }

  private static final StartAt SINCE = StartAt.since(java.time.Instant.parse("2026-12-01T10:00:00Z"));

  @Test
  void sinceHoldsASessionFirstHeardLiveUntilItsStoredHistoryComes() {
    joinWith(SINCE, SeenConfig.defaults());
    tree.onData(now, A, data(10, 2)); // live, before the storage node's answer
    tree.onData(now, A, data(11, 2));
    assertThat(out.commands(Output.Deliver.class)).as("where the session starts is the storage node's to say").isEmpty();
    tree.onHistory(now, data(7, 0), null);
    tree.onHistory(now, data(8, 0), null);
    tree.onHistory(now, data(9, 0), null);
    tree.historyEnded(now);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(7L, 8L, 9L, 10L, 11L);
    assertThat(tree.stats().deliveredLate()).isZero();
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).isEmpty();
  }

  @Test
  void sinceReleasesASessionTheStorageNodesDidNotHaveWhenTheirAnswerEnds() {
    joinWith(SINCE, SeenConfig.defaults());
    tree.onData(now, A, data(10, 2));
    tree.onData(now, A, data(12, 2)); // 11 still on its way
    tree.historyEnded(now);
    assertThat(out.commands(Output.Deliver.class)).as("started at its first message, 12 waits for 11").extracting(d -> d.message().seq())
        .containsExactly(10L);
    tree.onData(now, A, data(11, 2));
    out.clear();
    tree.onData(now, B, new Data(STREAM, id(30), 5, 40, 2, new byte[] {1})); // a session first heard after the answer
    assertThat(out.commands(Output.Deliver.class)).as("no answer to wait for any more").hasSize(1);
  }

  @Test
  void sinceGivenInAStreamTheNodeHearsAlreadyPassesWhatItDeliveredBefore() {
    joinWith(StartAt.live(), SeenConfig.defaults());
    tree.onData(now, A, data(5, 2));
    tree.onData(now, A, data(6, 2));
    tree.startAt(now, SINCE); // a second subscription, from a time
    out.clear();
    tree.onData(now, A, data(7, 2));
    for (long seq = 1; seq <= 6; seq++) tree.onHistory(now, data(seq, 0), null);
    assertThat(out.commands(Output.Deliver.class)).as("5 and 6 were delivered before: not again, and not waited for")
        .extracting(d -> d.message().seq()).containsExactly(1L, 2L, 3L, 4L, 7L);
  }

  @Test
  void aStoredMessageAboveOneHeardLiveStartsTheSessionAtTheLiveOne() {
    joinWith(SINCE, SeenConfig.defaults());
    tree.onData(now, A, data(10, 2));
    tree.onHistory(now, data(11, 0), null); // the storage node's first of the session, past the live one
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(10L, 11L);
    tree.housekeeping(now + 5_000 * MS);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).isEmpty();
  }

  @Test
  void sinceGivenInAStreamWhoseStoredPartWasAllDeliveredStartsAtTheFirstStoredCopy() {
    joinWith(StartAt.live(), SeenConfig.defaults());
    tree.onData(now, A, data(5, 2));
    tree.onData(now, A, data(6, 2));
    tree.startAt(now, SINCE);
    out.clear();
    tree.onData(now, A, data(7, 2));
    tree.onHistory(now, data(5, 0), null); // copies of what the node delivered before the start
    tree.onHistory(now, data(6, 0), null);
    assertThat(out.commands(Output.Deliver.class)).as("not held until the answer ends").extracting(d -> d.message().seq())
        .containsExactly(7L);
  }

  @Test
  void twoSinceStartsWaitForBothAnswers() {
    joinWith(SINCE, SeenConfig.defaults());
    tree.startAt(now, SINCE);
    tree.onData(now, A, data(10, 2));
    tree.historyEnded(now);
    assertThat(out.commands(Output.Deliver.class)).as("the second answer is still open").isEmpty();
    tree.historyEnded(now);
    assertThat(out.commands(Output.Deliver.class)).hasSize(1);
  }

  @Test
  void answersStillOpenAfterOrderWaitHoldNoNewSession() {
    joinWith(SINCE, SeenConfig.defaults()); // given at 0
    tree.housekeeping(30_000 * MS);
    tree.onData(30_001 * MS, A, data(10, 2));
    assertThat(out.commands(Output.Deliver.class)).as("the answer had orderWait to come").hasSize(1);
  }

  @Test
  void sinceWaitsForTheStorageNodesNoLongerThanOrderWaitAfterTheStart() {
    joinWith(SINCE, SeenConfig.defaults()); // given at 0; now is 1 s
    tree.onData(now, A, data(10, 2));
    tree.housekeeping(29_999 * MS);
    assertThat(out.commands(Output.Deliver.class)).isEmpty();
    tree.housekeeping(30_000 * MS);
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(10L);
    out.clear();
    tree.onHistory(now + 31_000 * MS, data(9, 0), null);
    assertThat(out.commands(Output.Deliver.class)).as("late, counted, not lost").extracting(d -> d.message().seq()).containsExactly(9L);
    assertThat(tree.stats().deliveredLate()).isEqualTo(1);
  }

  @Test
  void sinceHoldsOnlyWithinTheOrderBuffer() {
    out = new RecordingOutbox();
    tree = new Plumtree(STREAM, PlumtreeConfig.builder().orderHoldMessages(3).build(), new SeenMessages(STREAM, SeenConfig.defaults(), out), out);
    tree.startAt(0, SINCE);
    tree.neighborUp(0, A);
    out.clear();
    for (long seq = 10; seq <= 13; seq++) tree.onData(now, A, data(seq, 2)); // one past the cap of 3
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(10L, 11L, 12L, 13L);
    assertThat(tree.stats().orderHeldNow()).isZero();
  }

  @Test
  void leavingTheStreamReleasesWhatWaitsForItsOrderOverItsHoles() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onData(now, A, data(8, 2));
    tree.onData(now, A, data(9, 2));
    tree.leave(now);
    assertThat(out.commands(Output.Deliver.class)).as("arrived before the leave: not dropped").extracting(d -> d.message().seq())
        .containsExactly(8L, 9L);
    assertThat(out.events(OverlayEvent.OrderSkipped.class)).singleElement()
        .satisfies(e -> assertThat(new long[] {e.fromSeq(), e.toSeq()}).containsExactly(6, 7))
        .satisfies(e -> assertThat(e.reason()).contains("left the stream"));
    assertThat(tree.stats().orderHeldNow()).isZero();
  }

  @Test
  void aLaterSessionOfAResumedPublisherIsAskedOfStorageNodesOnce() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onData(now, A, data(6, 2));
    assertThat(out.commands(Output.HistoryWanted.class)).as("the position's session: asked at the start already").isEmpty();
    tree.onData(now, A, laterSession(1, 40)); // restarted while we were away
    tree.onData(now, A, laterSession(1, 41));
    assertThat(out.commands(Output.HistoryWanted.class))
        .containsExactly(new Output.HistoryWanted(STREAM, PUB, SESSION + 1, 1, 39));
  }

  @Test
  void aRetiredSessionThatComesBackIsNotAskedForAgain() {
    // Two sessions are remembered per publisher: SESSION falls off when the third begins.
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onData(now, A, laterSession(1, 40));
    tree.onData(now, A, laterSession(2, 40));
    out.clear();
    tree.onData(now, A, data(90, 2)); // a replay of the position's own session, or a late answer
    assertThat(out.commands(Output.HistoryWanted.class)).as("not a later session: not fetched again from storage").isEmpty();
    assertThat(out.commands(Output.Deliver.class)).as("old news, not delivered").isEmpty();
    assertThat(seen.contains(PUB, SESSION, 90)).isFalse();
    assertThat(seen.contains(PUB, SESSION + 1, 40)).as("the sessions remembered were not pushed out").isTrue();
    assertThat(seen.contains(PUB, SESSION + 2, 40)).isTrue();
  }

  @Test
  void aPublisherWhoseHistoryIsWantedIsNotForgottenForSilence() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    tree.onData(now, A, data(6, 2));
    seen.expire(now + 3_600_000 * MS); // an hour of silence
    tree.onData(now + 3_600_000 * MS, A, laterSession(1, 40)); // restarted meanwhile
    assertThat(out.commands(Output.HistoryWanted.class)).as("its restart's first messages are still fetched")
        .containsExactly(new Output.HistoryWanted(STREAM, PUB, SESSION + 1, 1, 39));
  }

  @Test
  void aLaterSessionOfAPublisherWithoutAPositionIsLeftToTheCaches() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.defaults());
    PeerId other = id(30);
    tree.onData(now, A, new Data(STREAM, other, 1, 3, 2, new byte[] {1}));
    tree.onData(now, A, new Data(STREAM, other, 2, 40, 2, new byte[] {1}));
    assertThat(out.commands(Output.HistoryWanted.class)).isEmpty();
  }

  @Test
  void aLiveStreamDeliversMessagesAsTheyCome() {
    joinWith(StartAt.live(), SeenConfig.defaults());
    tree.onData(now, A, data(1, 2));
    tree.onData(now, A, data(3, 2));
    tree.onData(now, A, data(2, 2));
    assertThat(out.commands(Output.Deliver.class)).extracting(d -> d.message().seq()).containsExactly(1L, 3L, 2L);
    assertThat(tree.stats().orderHeldNow()).isZero();
  }

  @Test
  void withoutAStartACatchUpAboutAPublisherNeverHeardOfIsIgnored() {
    joinWith(StartAt.live(), SeenConfig.defaults());
    tree.onIHave(now, A, catchUp(PUB, SESSION, 12));
    assertThat(out.drain()).isEmpty();
    assertThat(tree.missingSize()).isZero();
  }

  @Test
  void latestStartsAPublisherNeverHeardOfThatManyMessagesBack() {
    joinWith(StartAt.latest(3), SeenConfig.defaults());
    tree.onIHave(now, A, catchUp(PUB, SESSION, 10));
    assertThat(fetchedAfterCheck(PUB)).containsExactly(8L, 9L, 10L);
    out.clear();
    tree.onData(now, A, data(7, 2)); // older than asked for
    tree.onData(now, A, data(8, 2));
    assertThat(out.commands(Output.Deliver.class)).containsExactly(new Output.Deliver(data(8, 2)));
  }

  @Test
  void latestAsksForNoMoreThanThePublisherHas() {
    joinWith(StartAt.latest(100), SeenConfig.defaults());
    tree.onIHave(now, A, catchUp(PUB, SESSION, 2));
    assertThat(fetchedAfterCheck(PUB)).containsExactly(1L, 2L);
  }

  @Test
  void aCatchUpNeverBeginsASessionOfAResumedPublisher() {
    // Catch-ups are not signed: a made-up session must not push the application's own out.
    joinWith(StartAt.after(new Position(PUB, SESSION, 5)), SeenConfig.builder().maxSessionsPerPublisher(2).build());
    for (int s = 1; s <= 3; s++) tree.onIHave(now, A, catchUp(PUB, SESSION + s, 3));
    out.clear();
    tree.onIHave(now, A, catchUp(PUB, SESSION, 8));
    assertThat(fetchedAfterCheck(PUB)).as("the position's session still starts after 5").containsExactly(6L, 7L, 8L);
    out.clear();
    tree.onData(now, A, data(5, 2));
    assertThat(out.commands(Output.Deliver.class)).as("5 was processed before the restart").isEmpty();
  }

  @Test
  void aHoleLongerThanOneFetchInAResumedSessionIsFetchedWhole() {
    joinWith(StartAt.after(new Position(PUB, SESSION, 0)), SeenConfig.defaults());
    tree.onData(now, A, data(3_000, 2)); // the tree reached us before any catch-up did
    List<Long> grafted = out.commands(Output.Schedule.class).stream()
        .filter(sc -> sc.timer() instanceof Timer.GraftTimeout)
        .map(sc -> ((Timer.GraftTimeout) sc.timer()).ref().seq()).toList();
    assertThat(grafted).as("the newest part, as for any hole").hasSize(1_024).startsWith(1_976L).endsWith(2_999L);
    assertThat(out.commands(Output.Schedule.class)).as("and the older part on the publisher's range, checked at once")
        .contains(new Output.Schedule(new Timer.StallCheck(STREAM, PUB), 0));
    out.clear();
    tree.onStallCheck(now, PUB);
    List<Long> older = out.commands(Output.Schedule.class).stream()
        .filter(sc -> sc.timer() instanceof Timer.GraftTimeout)
        .map(sc -> ((Timer.GraftTimeout) sc.timer()).ref().seq()).toList();
    assertThat(older).hasSize(1_024).startsWith(1L).endsWith(1_024L);
  }

  @Test
  void catchUpsNamingMadeUpPublishersCannotPushOutOnesWeFollow() {
    joinWith(StartAt.latest(10), SeenConfig.builder().maxPublishers(2).build());
    tree.onData(now, A, data(1, 2)); // PUB: followed
    tree.onIHave(now, A, catchUp(id(20), SESSION, 50)); // fills the set
    tree.onIHave(now, A, catchUp(id(21), SESSION, 50)); // no room: ignored, nothing evicted
    assertThat(out.events(OverlayEvent.Dropped.class)).isEmpty();
    out.clear();
    tree.onData(now, A, data(2, 2));
    assertThat(out.commands(Output.Deliver.class)).as("PUB still followed").containsExactly(new Output.Deliver(data(2, 2)));
  }
}
