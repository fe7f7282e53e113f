package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.SeenConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.RecordingOutbox;
import dev.overlay.delivery.SeenMessages;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Timer;
import org.junit.jupiter.api.Test;

/** Announcements ahead of a delivering tree: one range and one StallCheck per publisher, bounded fetches. Exact outboxes. */
class AheadTrackerTest {

  private static final PeerId A = id(2);
  private static final PeerId B = id(3);
  private static final PeerId C = id(4);
  private static final PeerId PUB = id(9);
  private static final PeerId PUB2 = id(10);
  private static final long SESSION = 77;
  private static final long STALL = 250 * MS; // stallTimeout
  private static final long T2 = 100 * MS;

  private final RecordingOutbox out = new RecordingOutbox();
  private final SeenMessages seen = new SeenMessages(STREAM, SeenConfig.defaults(), new RecordingOutbox()); // its gap events are not ours
  private MissingRepair repair;
  private AheadTracker tracker;
  private final long t0 = 1_000 * MS;

  private void build(PlumtreeConfig config) {
    Lateness lateness = new Lateness();
    repair = new MissingRepair(STREAM, config, out, lateness, (now, ref, peer, firstRound) -> {}, (now, ref, from) -> tracker.deferToRange(now, ref, from));
    tracker = new AheadTracker(STREAM, config, out, seen, lateness, repair);
  }

  /** The tree brought messages first..last at {@code at}. */
  private void delivered(long at, long first, long last) {
    for (long seq = first; seq <= last; seq++) seen.record(at, PUB, SESSION, seq, A);
  }

  private static Output.Schedule stallCheck(PeerId publisher, long delay) {
    return new Output.Schedule(new Timer.StallCheck(STREAM, publisher), delay);
  }

  private static Output.Schedule fetch(long session, long seq) {
    return new Output.Schedule(new Timer.GraftTimeout(STREAM, new MessageRef(PUB, session, seq), 0), 0);
  }

  @Test
  void oneStallCheckPerPublisherHoweverManyAnnouncements() {
    build(PlumtreeConfig.defaults());
    delivered(t0, 1, 5);
    assertThat(tracker.treeDelivering(t0 + 100 * MS, PUB, SESSION)).isTrue();
    tracker.note(t0, PUB, SESSION, 6, 6, B);
    tracker.note(t0, PUB, SESSION, 6, 8, C);
    tracker.note(t0 + 10 * MS, PUB, SESSION, 9, 9, B);
    tracker.note(t0, PUB2, SESSION, 1, 3, B);
    assertThat(out.drain()).containsExactly(stallCheck(PUB, STALL), stallCheck(PUB2, STALL));
    assertThat(tracker.size()).isEqualTo(2);
    assertThat(repair.size()).as("no entry, no timer per message").isZero();
  }

  @Test
  void whileTheTreeDeliversTheCheckIsPutOffAndNothingIsFetched() {
    build(PlumtreeConfig.defaults());
    delivered(t0, 1, 5);
    tracker.note(t0, PUB, SESSION, 6, 8, B);
    out.clear();
    delivered(t0 + 100 * MS, 6, 6);

    tracker.onStallCheck(t0 + STALL, PUB);
    assertThat(out.drain()).as("checked again when the tree will have been silent for the stall wait")
        .containsExactly(stallCheck(PUB, 100 * MS));
    assertThat(tracker.stalls()).isZero();
    assertThat(repair.size()).isZero();
  }

  @Test
  void numbersTheTreeWentPastAreFetchedFromTheAnnouncersThatHaveThem() {
    build(PlumtreeConfig.defaults());
    delivered(t0, 1, 5);
    tracker.note(t0, PUB, SESSION, 6, 7, B);
    tracker.note(t0, PUB, SESSION, 6, 9, C);
    out.clear();
    delivered(t0 + 200 * MS, 8, 8); // 6 and 7 were passed over

    tracker.onStallCheck(t0 + STALL, PUB);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 6), fetch(SESSION, 7), stallCheck(PUB, 200 * MS));
    repair.onGraftTimeout(t0 + STALL, new Timer.GraftTimeout(STREAM, new MessageRef(PUB, SESSION, 6), 0));
    assertThat(out.drain()).as("asked first of B, its first announcer")
        .startsWith(new Output.Send(B, new Message.Graft(STREAM, new MessageRef(PUB, SESSION, 6), true)));
  }

  @Test
  void aSilentTreeIsAStallAndEverythingAnnouncedIsFetched() {
    build(PlumtreeConfig.defaults());
    delivered(t0, 1, 5);
    tracker.note(t0, PUB, SESSION, 6, 7, B);
    tracker.note(t0, PUB, SESSION, 6, 8, C);
    out.clear();

    tracker.onStallCheck(t0 + STALL, PUB);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 6), fetch(SESSION, 7), fetch(SESSION, 8));
    assertThat(tracker.stalls()).isEqualTo(1);
    assertThat(tracker.size()).as("the range is done").isZero();
    assertThat(repair.size()).isEqualTo(3);
  }

  @Test
  void fetchingIsBoundedPerCheckAndTheNextCheckComesSoon() {
    build(PlumtreeConfig.defaults().toBuilder().maxMissingPerFrame(3).build());
    delivered(t0, 1, 1);
    tracker.note(t0, PUB, SESSION, 2, 8, B);
    out.clear();

    tracker.onStallCheck(t0 + STALL, PUB);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 2), fetch(SESSION, 3), fetch(SESSION, 4), stallCheck(PUB, T2));
    tracker.onStallCheck(t0 + STALL + T2, PUB);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 5), fetch(SESSION, 6), fetch(SESSION, 7), stallCheck(PUB, T2));
    tracker.onStallCheck(t0 + STALL + 2 * T2, PUB);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 8));
    assertThat(tracker.stalls()).isEqualTo(3);
    assertThat(tracker.size()).isZero();
  }

  @Test
  void aFullRepairTableStopsTheFetchUntilEntriesLeave() {
    build(PlumtreeConfig.defaults().toBuilder().maxMissing(2).build());
    delivered(t0, 1, 1);
    tracker.note(t0, PUB, SESSION, 2, 5, B);
    out.clear();

    tracker.onStallCheck(t0 + STALL, PUB);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 2), fetch(SESSION, 3), stallCheck(PUB, T2));
    assertThat(tracker.size()).isEqualTo(1);
  }

  @Test
  void aRangeNobodyServesAnyMoreIsGivenUp() {
    build(PlumtreeConfig.defaults());
    delivered(t0, 1, 5);
    tracker.note(t0, PUB, SESSION, 6, 8, B);
    tracker.peerDown(B);
    out.clear();

    tracker.onStallCheck(t0 + STALL, PUB);
    assertThat(out.drain()).isEmpty();
    assertThat(tracker.size()).isZero();
    assertThat(tracker.stalls()).isZero();
  }

  @Test
  void aNewSessionFetchesWhatTheOldOneAnnounced() {
    build(PlumtreeConfig.defaults());
    delivered(t0, 1, 5);
    tracker.note(t0, PUB, SESSION, 6, 6, B);
    out.clear();

    tracker.note(t0 + 10 * MS, PUB, SESSION + 1, 1, 2, B);
    assertThat(out.drain()).containsExactly(fetch(SESSION, 6), stallCheck(PUB, STALL));
    assertThat(tracker.size()).isEqualTo(1);
  }

  @Test
  void deferralJoinsOnlyAKnownPublishersRangeOfTheSameSessionAndNeverEvictsAnother() {
    build(PlumtreeConfig.defaults().toBuilder().maxPublisherTrees(1).build());
    tracker.deferAnnounced(t0, PUB, SESSION, 6, 9, B);
    assertThat(out.drain()).as("a publisher we never had costs nothing").isEmpty();

    delivered(t0, 1, 5);
    assertThat(tracker.deferToRange(t0, new MessageRef(PUB, SESSION, 6), B)).isTrue();
    assertThat(out.drain()).containsExactly(stallCheck(PUB, STALL));
    assertThat(tracker.deferToRange(t0, new MessageRef(PUB, SESSION + 1, 6), B)).as("another session").isFalse();
    assertThat(tracker.deferToRange(t0, new MessageRef(PUB2, SESSION, 6), B)).as("no room for a second range").isFalse();
    seen.record(t0, PUB2, SESSION, 1, A);
    tracker.deferAnnounced(t0, PUB2, SESSION, 2, 4, B);
    assertThat(out.drain()).as("PUB's range is not evicted for PUB2's").isEmpty();
    assertThat(tracker.deferred()).isEqualTo(1);
    assertThat(tracker.size()).isEqualTo(1);
  }
}
