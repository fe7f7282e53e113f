package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.RecordingOutbox;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Data;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Repair of announced messages that did not come: GraftTimeout timers, GRAFT rounds, the bounded table. Exact outboxes. */
class MissingRepairTest {

  private static final PeerId A = id(2);
  private static final PeerId B = id(3);
  private static final PeerId C = id(4);
  private static final PeerId PUB = id(9);
  private static final long SESSION = 77;
  private static final long T1 = 250 * MS;
  private static final long T2 = 100 * MS;

  /** What the GRAFT hook saw, and how many commands the outbox held when it ran. */
  private record Hook(MessageRef ref, PeerId peer, boolean firstRound, int commandsBefore) {}

  private final RecordingOutbox out = new RecordingOutbox();
  private final Lateness lateness = new Lateness();
  private final List<Hook> hooks = new ArrayList<>();
  private final List<MessageRef> offered = new ArrayList<>();
  private boolean rangeTakesIt;
  private final long now = 1_000 * MS;

  private MissingRepair repair(PlumtreeConfig config) {
    return new MissingRepair(STREAM, config, out, lateness,
        (t, ref, peer, firstRound) -> hooks.add(new Hook(ref, peer, firstRound, out.commands().size())),
        (t, ref, from) -> {
          offered.add(ref);
          return rangeTakesIt;
        });
  }

  private static MessageRef ref(long seq) {
    return new MessageRef(PUB, SESSION, seq);
  }

  private static Timer.GraftTimeout timeout(long seq, int attempt) {
    return new Timer.GraftTimeout(STREAM, ref(seq), attempt);
  }

  private static List<Output> graft(PeerId peer, long seq, int nextAttempt, long wait) {
    return List.of(
        new Output.Send(peer, new Message.Graft(STREAM, ref(seq), true)),
        new Output.Emit(new OverlayEvent.Grafted(STREAM, peer, PUB, false)),
        new Output.Schedule(timeout(seq, nextAttempt), wait));
  }

  private static Data data(long seq) {
    return new Data(STREAM, PUB, SESSION, seq, 2, new byte[] {(byte) seq});
  }

  @Test
  void aMissingMessageSchedulesOneGraftTimeoutHoweverManyAnnounceIt() {
    MissingRepair repair = repair(PlumtreeConfig.defaults());
    repair.add(now, ref(1), A, T1);
    repair.add(now, ref(1), B, T1);
    repair.add(now + 10 * MS, ref(1), C, T1);
    assertThat(out.drain()).containsExactly(new Output.Schedule(timeout(1, 0), T1));
    assertThat(repair.size()).isEqualTo(1);
  }

  @Test
  void eachTimeoutAsksTheNextAnnouncerInOrderThenAllAgainInRoundsWithLongerWaits() {
    MissingRepair repair = repair(PlumtreeConfig.defaults());
    repair.add(now, ref(1), A, T1);
    repair.add(now, ref(1), B, T1);
    out.clear();

    repair.onGraftTimeout(now + T1, timeout(1, 0));
    assertThat(out.drain()).containsExactlyElementsOf(graft(A, 1, 1, T2));
    repair.onGraftTimeout(now + T1 + T2, timeout(1, 1));
    assertThat(out.drain()).containsExactlyElementsOf(graft(B, 1, 2, 2 * T2));
    repair.onGraftTimeout(now + T1 + 3 * T2, timeout(1, 2));
    assertThat(out.drain()).as("a second round: A again, the wait doubled again").containsExactlyElementsOf(graft(A, 1, 3, 4 * T2));

    assertThat(hooks).as("the hook runs before each GRAFT is sent, and knows a retry round").containsExactly(
        new Hook(ref(1), A, true, 0), new Hook(ref(1), B, true, 0), new Hook(ref(1), A, false, 0));
    assertThat(repair.graftsSent()).isEqualTo(3);
  }

  @Test
  void aStaleOrUnknownTimerDoesNothing() {
    MissingRepair repair = repair(PlumtreeConfig.defaults());
    repair.add(now, ref(1), A, T1);
    repair.onGraftTimeout(now + T1, timeout(1, 0));
    out.clear();

    repair.onGraftTimeout(now + T1, timeout(1, 0)); // already fired: the entry waits for attempt 1
    repair.onGraftTimeout(now + T1, timeout(2, 0)); // nothing missing under that number
    repair.arrived(now + T1 + 10 * MS, data(1), A);
    repair.onGraftTimeout(now + T1 + T2, timeout(1, 1)); // it came meanwhile
    assertThat(out.drain()).isEmpty();
    assertThat(repair.size()).isZero();
    assertThat(repair.graftsSent()).isEqualTo(1);
  }

  @Test
  void anAnnouncerThatLeftIsAskedNoMoreAndANewOneIsTriedAfterTheShortWait() {
    MissingRepair repair = repair(PlumtreeConfig.defaults());
    repair.add(now, ref(1), A, T1);
    repair.onGraftTimeout(now + T1, timeout(1, 0));
    repair.peerDown(A);
    out.clear();

    repair.onGraftTimeout(now + T1 + T2, timeout(1, 1));
    assertThat(out.drain()).as("nobody left to ask: wait for another announcement").isEmpty();
    repair.add(now + 2 * T1, ref(1), B, T1);
    assertThat(out.drain()).containsExactly(new Output.Schedule(timeout(1, 1), T2));
    repair.onGraftTimeout(now + 2 * T1 + T2, timeout(1, 1));
    assertThat(out.drain()).containsExactlyElementsOf(graft(B, 1, 2, 2 * T2));
  }

  @Test
  void aCopyFromAPeerWeDidNotAskSamplesTheTreesLatenessAndOneWeAskedDoesNot() {
    MissingRepair repair = repair(PlumtreeConfig.defaults());
    repair.add(now, ref(1), A, T1);
    repair.onGraftTimeout(now + T1, timeout(1, 0));
    repair.arrived(now + 2_000 * MS, data(1), A); // the answer to our GRAFT: Karn's rule
    assertThat(repair.repairWait(now + 2_000 * MS)).isEqualTo(T1);

    repair.add(now, ref(2), A, T1);
    repair.arrived(now + 2_000 * MS, data(2), B); // came by the tree, 2 s late
    assertThat(repair.repairWait(now + 2_000 * MS)).isGreaterThan(2_000 * MS);
  }

  @Test
  void aDuplicateEndsTheWaitWithoutASample() {
    MissingRepair repair = repair(PlumtreeConfig.defaults());
    repair.add(now, ref(1), A, T1);
    repair.arrivedAgain(data(1));
    assertThat(repair.size()).isZero();
    assertThat(repair.repairWait(now + 2_000 * MS)).isEqualTo(T1);
  }

  @Test
  void aFullTableDefersToTheRangeAndEvictsTheOldestOnlyWhenTheRangeCannotTakeIt() {
    MissingRepair repair = repair(PlumtreeConfig.defaults().toBuilder().maxMissing(2).build());
    repair.add(now, ref(1), A, T1);
    repair.add(now, ref(2), A, T1);
    assertThat(repair.full()).isTrue();
    out.clear();

    rangeTakesIt = true;
    repair.add(now, ref(3), A, T1);
    assertThat(out.drain()).as("kept on the range: no entry, no timer").isEmpty();
    repair.add(now, ref(2), B, T1); // an existing entry gains an announcer: the range is not asked
    assertThat(offered).containsExactly(ref(3));

    rangeTakesIt = false;
    repair.add(now, ref(4), A, T1);
    assertThat(out.drain()).containsExactly(
        new Output.Emit(new OverlayEvent.Dropped(STREAM, null, DropReason.CAPACITY,
            "missing-message table full (2): stopped waiting for the oldest")),
        new Output.Schedule(timeout(4, 0), T1));
    assertThat(offered).containsExactly(ref(3), ref(4));
    assertThat(repair.evicted()).isEqualTo(1);
    assertThat(repair.size()).isEqualTo(2);

    repair.onGraftTimeout(now + T1, timeout(1, 0));
    assertThat(out.drain()).as("the oldest, 1, was given up").isEmpty();
    repair.onGraftTimeout(now + T1, timeout(2, 0));
    assertThat(out.drain()).containsExactlyElementsOf(graft(A, 2, 1, T2));
  }

  @Test
  void expireDropsOnlyEntriesOlderThanTheTtl() {
    MissingRepair repair = repair(PlumtreeConfig.defaults().toBuilder().missingTtl(Duration.ofSeconds(30)).build());
    repair.add(now, ref(1), A, T1);
    repair.add(now + 10_000 * MS, ref(2), A, T1);
    out.clear();

    repair.expire(now + 30_000 * MS - 1);
    assertThat(repair.size()).as("not yet 30 s old").isEqualTo(2);
    repair.expire(now + 30_000 * MS);
    assertThat(repair.size()).isEqualTo(1);
    assertThat(out.drain()).as("given up, and said so").containsExactly(
        new Output.Emit(new OverlayEvent.GapUnrecoverable(STREAM, PUB, SESSION, 1, 1)));
    repair.onGraftTimeout(now + 30_000 * MS, timeout(1, 0));
    assertThat(out.drain()).isEmpty();
    repair.onGraftTimeout(now + 30_000 * MS, timeout(2, 0));
    assertThat(out.drain()).containsExactlyElementsOf(graft(A, 2, 1, T2));
    out.clear();
    repair.expire(now + 40_000 * MS);
    assertThat(repair.size()).isZero();
    assertThat(repair.full()).isFalse();
    assertThat(repair.givenUp()).isEqualTo(2);
  }

  @Test
  void aHoldIsTrackedOnceAndNeverDisplacesAnotherWait() {
    MissingRepair repair = repair(PlumtreeConfig.defaults().toBuilder().maxMissing(2).build());
    repair.add(now, ref(1), A, T1);
    assertThat(repair.holdOnce(now, ref(1), A)).as("first copy: held").isTrue();
    assertThat(repair.holdOnce(now, ref(1), A)).as("second copy: taken").isFalse();
    repair.add(now, ref(2), A, T1); // the table is full now
    out.clear();
    offered.clear();
    assertThat(repair.holdOnce(now, ref(3), A)).as("no room: taken at once").isFalse();
    assertThat(repair.size()).isEqualTo(2);
    assertThat(offered).isEmpty();
    assertThat(out.drain()).isEmpty();
  }

  @Test
  void consecutiveNumbersGivenUpTogetherAreOneEvent() {
    MissingRepair repair = repair(PlumtreeConfig.defaults().toBuilder().missingTtl(Duration.ofSeconds(30)).build());
    for (long seq : new long[] {3, 4, 5, 9}) repair.add(now, ref(seq), A, T1);
    out.clear();
    repair.expire(now + 30_000 * MS);
    assertThat(out.drain()).containsExactly(
        new Output.Emit(new OverlayEvent.GapUnrecoverable(STREAM, PUB, SESSION, 3, 5)),
        new Output.Emit(new OverlayEvent.GapUnrecoverable(STREAM, PUB, SESSION, 9, 9)));
  }
}
