package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.SeenConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.RecordingOutbox;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Announcement;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Timer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The three ways an overloaded tree used to feed its own overload (issue 10): fixed repair timers
 * that took a late tree for a broken one, a slow neighbour that was pushed everything until it
 * was disconnected, and GRAFT answers without a bound.
 */
class PlumtreeOverloadTest {

  private static final PeerId SELF = id(1);
  private static final PeerId A = id(2);
  private static final PeerId B = id(3);
  private static final PeerId C = id(4);
  private static final PeerId PUB = id(9);
  private static final long SESSION = 77;
  private static final long T1 = 250 * MS;

  private final RecordingOutbox out = new RecordingOutbox();
  private Plumtree tree;
  private long now = 1_000 * MS;

  private void build(PlumtreeConfig config) {
    tree = new Plumtree(STREAM, config, new SeenMessages(STREAM, SeenConfig.defaults(), out), out);
    tree.neighborUp(0, A);
    tree.neighborUp(0, B);
    tree.neighborUp(0, C);
  }

  private static Data data(long seq, int hops) {
    return new Data(STREAM, PUB, SESSION, seq, hops, new byte[] {(byte) seq});
  }

  private static Message.IHave ihave(long seq) {
    return new Message.IHave(STREAM, List.of(new Announcement(PUB, SESSION, seq, 1, 2)));
  }

  @Test
  void aTreeThatRunsLateIsWaitedForInsteadOfRepaired() {
    build(PlumtreeConfig.defaults());
    assertThat(tree.repairWaitNanos(now)).isEqualTo(T1);
    // The tree (A) brings each message 600 ms after B announced it; we GRAFT B at 250 ms each
    // time. Copies from A, whom we never asked, measure how late the tree runs. (Twenty
    // publishers, one message each: announcements for a publisher whose tree is delivering wait
    // in its range instead, and are no sample.)
    for (int p = 1; p <= 20; p++) {
      PeerId publisher = id(100 + p);
      tree.onIHave(now, B, new Message.IHave(STREAM, List.of(new Announcement(publisher, SESSION, 1, 1, 2))));
      tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, new MessageRef(publisher, SESSION, 1), 0));
      tree.onData(now + 600 * MS, A, new Data(STREAM, publisher, SESSION, 1, 3, new byte[] {1}));
      now += 600 * MS;
    }
    assertThat(tree.repairWaitNanos(now)).as("the wait follows the measured lateness").isGreaterThan(600 * MS);

    out.clear();
    now += 5_000 * MS; // the tree has gone quiet for the stall wait: an announcement is a missing message
    long wait = tree.repairWaitNanos(now);
    assertThat(wait).as("half of it after a half-life (5 s) without a late copy").isGreaterThan(T1);
    tree.onIHave(now, B, ihave(21));
    Timer.GraftTimeout first = new Timer.GraftTimeout(STREAM, new MessageRef(PUB, SESSION, 21), 0);
    assertThat(out.drain()).containsExactly(new Output.Schedule(first, wait));

    // Once the tree is on time again (no late copies), the estimate is back to the configured timeout.
    assertThat(tree.repairWaitNanos(now + 15_000 * MS)).isEqualTo(T1);
  }

  @Test
  void aCopyFromThePeerWeGraftedIsNoSampleOfTheTree() {
    build(PlumtreeConfig.defaults());
    for (long seq = 1; seq <= 20; seq++) {
      tree.onIHave(now, B, ihave(seq));
      tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, new MessageRef(PUB, SESSION, seq), 0));
      tree.onData(now + 3_000 * MS, B, data(seq, 3)); // B answered our GRAFT slowly
      now += 3_000 * MS;
    }
    assertThat(tree.repairWaitNanos(now)).isEqualTo(T1);
  }

  @Test
  void aSlowNeighbourIsMadeLazyAndStaysLazyForTheHoldEvenIfItGrafts() {
    build(PlumtreeConfig.defaults().toBuilder().demotionHold(Duration.ofSeconds(10)).build());
    tree.onData(now, A, data(1, 3));
    out.clear();

    tree.demote(now, B);
    assertThat(out.drain()).containsExactly(new Output.Emit(new OverlayEvent.Demoted(STREAM, B)));
    assertThat(tree.stats().demotions()).isEqualTo(1);

    tree.onData(now, A, data(2, 3));
    assertThat(out.drain()).as("B is announced to, not pushed to").containsExactly(
        new Output.Deliver(data(2, 3)),
        new Output.Send(C, data(2, 4)),
        new Output.Schedule(new Timer.LazyFlush(STREAM), 100 * MS));

    tree.drained(B); // its link can be written to again
    tree.onGraft(now + 1_000 * MS, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 2), true));
    assertThat(out.drain()).as("answered, but B stays lazy")
        .containsExactly(new Output.Send(B, data(2, 4).withSeal(null, true)));
    tree.onLazyFlush(now + 1_000 * MS);
    out.clear();
    tree.onData(now + 1_000 * MS, A, data(3, 3));
    assertThat(out.drain()).doesNotContain(new Output.Send(B, data(3, 4)));

    // After the hold, a GRAFT makes B eager again, as for any neighbour.
    tree.onGraft(now + 11_000 * MS, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 3), true));
    out.clear();
    tree.onData(now + 11_000 * MS, A, data(4, 3));
    assertThat(out.drain()).contains(new Output.Send(B, data(4, 4)));
  }

  @Test
  void demotingAPeerThatIsNoNeighbourDoesNothing() {
    build(PlumtreeConfig.defaults());
    tree.demote(now, id(7));
    assertThat(out.drain()).isEmpty();
    assertThat(tree.stats().demotions()).isZero();
  }

  @Test
  void graftAnswerBytesPerPeerAreBudgetedPerSecond() {
    // An answer here is about 49 bytes (a 1-byte payload, no seal): two fit, the third does not.
    build(PlumtreeConfig.defaults().toBuilder().graftAnswerBytesPerSecond(100).build());
    for (long seq = 1; seq <= 3; seq++) tree.onData(now, A, data(seq, 3));
    out.clear();

    for (long seq = 1; seq <= 3; seq++) {
      tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, seq), true));
    }
    assertThat(out.drain()).filteredOn(c -> c instanceof Output.Send).hasSize(2);
    assertThat(tree.stats().graftsRefused()).isEqualTo(1);

    tree.onGraft(now, C, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 3), true));
    assertThat(out.drain()).as("another peer has its own budget").hasSize(1);

    tree.onGraft(now + 1_000 * MS, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 3), true));
    assertThat(out.drain()).as("a new second, a new budget").hasSize(1);
  }

  @Test
  void announcementsPastTheBudgetForAPublisherNeverHeardAreNotKept() {
    build(PlumtreeConfig.defaults().toBuilder().maxMissingPerFrame(100).build());
    PeerId madeUp = id(66);
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(
        new Announcement(PUB, SESSION, 1, 100, 2), new Announcement(madeUp, 5, 1, 1_000, 2))));
    assertThat(tree.missingSize()).isEqualTo(100);
    tree.onStallCheck(now + 250 * MS, madeUp);
    assertThat(tree.missingSize()).as("a made-up publisher's range costs nothing").isEqualTo(100);
  }

  @Test
  void aDemotedPeerWhoseLinkIsBackedUpGetsNoGraftAnswerUntilItDrains() {
    build(PlumtreeConfig.defaults());
    tree.onData(now, A, data(1, 3));
    tree.demote(now, B);
    out.clear();
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), true));
    assertThat(out.drain()).as("it does not read what we sent it already").isEmpty();
    assertThat(tree.stats().graftsDeferred()).isEqualTo(1);

    tree.drained(B);
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), true));
    assertThat(out.drain()).containsExactly(new Output.Send(B, data(1, 4).withSeal(null, true)));
  }

  @Test
  void aSaturatedNodeAnswersNoGraftUntilItReadsAgain() {
    build(PlumtreeConfig.defaults());
    tree.onData(now, A, data(1, 3));
    out.clear();
    tree.saturated(true);
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), true));
    assertThat(out.drain()).isEmpty();
    assertThat(tree.stats().graftsDeferred()).isEqualTo(1);

    tree.saturated(false);
    tree.onGraft(now, B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 1), true));
    assertThat(out.drain()).containsExactly(new Output.Send(B, data(1, 4).withSeal(null, true)));
  }

  @Test
  void announcementsPastTheWorkBudgetAreFetchedLaterNotDropped() {
    build(PlumtreeConfig.defaults().toBuilder().maxMissingPerFrame(100).build());
    tree.onData(now - 10_000 * MS, A, data(1, 3)); // a publisher we know, whose tree has since gone quiet
    // B announces 250 messages the tree never brought (an overloaded tree falls that far behind).
    tree.onIHave(now, B, new Message.IHave(STREAM, List.of(
        new Announcement(PUB, SESSION, 2, 150, 2), new Announcement(PUB, SESSION, 152, 100, 2))));
    assertThat(tree.missingSize()).as("one frame makes at most the budget's work").isEqualTo(100);
    assertThat(tree.stats().workBudgetHits()).isEqualTo(1);
    assertThat(out.drain()).contains(new Output.Schedule(new Timer.StallCheck(STREAM, PUB), 250 * MS));

    tree.onStallCheck(now + 250 * MS, PUB);
    assertThat(tree.missingSize()).as("the next hundred").isEqualTo(200);
    tree.onStallCheck(now + 500 * MS, PUB);
    assertThat(tree.missingSize()).as("and the rest: nothing announced is lost").isEqualTo(250);
  }

  @Test
  void whenEveryAnnouncerWasAskedTheyAreAskedAgainEachWaitLonger() {
    build(PlumtreeConfig.defaults());
    MessageRef ref = new MessageRef(PUB, SESSION, 5);
    tree.onIHave(now, B, ihave(5));
    tree.onGraftTimeout(now + T1, new Timer.GraftTimeout(STREAM, ref, 0));
    out.clear();
    // B refused (it was backpressured) or its answer was lost: B is asked again, not given up on.
    tree.onGraftTimeout(now + T1 + 100 * MS, new Timer.GraftTimeout(STREAM, ref, 1));
    assertThat(out.drain()).containsExactly(
        new Output.Send(B, new Message.Graft(STREAM, ref, true)),
        new Output.Emit(new OverlayEvent.Grafted(STREAM, B, PUB, false)),
        new Output.Schedule(new Timer.GraftTimeout(STREAM, ref, 2), 200 * MS));
  }
}
