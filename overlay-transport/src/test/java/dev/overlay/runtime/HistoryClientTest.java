package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.TransportEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.Position;
import dev.overlay.core.StartAt;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The asking side of resends, against storage nodes played by hand: it keeps to what a storage
 * node allows, and a storage node that sends what was not asked for, or nothing, is left for the
 * next one, with what is missing reported.
 */
class HistoryClientTest {

  private static final StreamId STREAM = StreamId.of("kept");
  private static final PeerId PUB = PeerId.random(new SplittableRandom(1));
  private static final PeerInfo NODE_A = PeerInfo.of(PeerId.random(new SplittableRandom(2)), 1);
  private static final PeerInfo NODE_B = PeerInfo.of(PeerId.random(new SplittableRandom(3)), 1);

  private final List<Object> handled = new ArrayList<>();
  private final List<Message> sent = new ArrayList<>();
  private final List<PeerId> sentTo = new ArrayList<>();
  private final List<TransportEvent> events = new ArrayList<>();
  private final List<Runnable> timers = new ArrayList<>();
  /** Scheduled to run on the loop's next turn. */
  private final List<Runnable> due = new ArrayList<>();
  private HistoryClient client;

  private boolean trackers;
  private boolean joinedNow = true;

  @BeforeEach
  void setUp() {
    client = client(List.of(NODE_A, NODE_B));
  }

  private HistoryClient client(List<PeerInfo> configured) {
    return new HistoryClient(configured, new HistoryClient.Host() {
      @Override
      public void handle(Event event) {
        handled.add(event);
        if (event instanceof Event.History h) client.taken(h.messages().size()); // the core takes all
      }

      @Override
      public void send(PeerId to, Message message) {
        sent.add(message);
        sentTo.add(to);
      }

      @Override
      public int protocolVersion(PeerId peer) {
        return 4;
      }

      @Override
      public void event(TransportEvent event) {
        events.add(event);
      }

      @Override
      public void schedule(Runnable task, long millis) {
        if (millis == 0) {
          due.add(task);
        } else {
          timers.add(task);
        }
      }

      @Override
      public String name(StreamId stream) {
        return "kept";
      }

      @Override
      public boolean trackers() {
        return trackers;
      }

      @Override
      public boolean joined(StreamId stream) {
        return joinedNow;
      }
    }, 1);
  }

  // ---- Storage nodes named by a tracker -------------------------------------------------------

  @Test
  void aStartWithNoStorageNodeWaitsForATrackerToNameOneThenAsksIt() {
    trackers = true;
    client = client(List.of());
    client.start(STREAM, StartAt.since(java.time.Instant.ofEpochMilli(5_000)));
    assertThat(requests()).isEmpty();
    assertThat(events).as("not yet given up: the tracker's answer is on its way").isEmpty();
    client.introduced(STREAM, List.of(NODE_B));
    assertThat(requests()).singleElement().satisfies(r -> assertThat(r.fromMillis()).isEqualTo(5_000));
    assertThat(first()).isEqualTo(NODE_B.id());
    timers.get(0).run(); // the introduction wait ends: nothing is pending any more
    assertThat(events).isEmpty();
  }

  @Test
  void whenNoTrackerNamesAStorageNodeInTimeATimeStartIsReportedUnavailable() {
    trackers = true;
    client = client(List.of());
    client.start(STREAM, StartAt.since(java.time.Instant.ofEpochMilli(5_000)));
    timers.get(0).run();
    assertThat(events).singleElement().isInstanceOfSatisfying(TransportEvent.HistoryUnavailable.class,
        e -> assertThat(e.what()).contains("no tracker named one"));
    client.introduced(STREAM, List.of(NODE_B));
    assertThat(requests()).as("given up already").isEmpty();
  }

  @Test
  void pinnedStorageNodesAreAskedFirstThenThoseATrackerNamedEachOnce() {
    client = client(List.of(NODE_A));
    client.introduced(STREAM, List.of(NODE_A, NODE_B)); // A twice: asked once
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    assertThat(first()).as("the pinned one").isEqualTo(NODE_A.id());
    client.onEnd(NODE_A.id(), new Message.ResendEnd(STREAM, requests().get(0).request(), Message.ResendOutcome.FAILED, "disk"));
    assertThat(sentTo).containsExactly(NODE_A.id(), NODE_B.id());
    client.onEnd(NODE_B.id(), new Message.ResendEnd(STREAM, requests().get(1).request(), Message.ResendOutcome.FAILED, "disk"));
    assertThat(requests()).as("each asked once").hasSize(2);
    assertThat(events).singleElement().isInstanceOf(TransportEvent.HistoryUnavailable.class);
  }

  @Test
  void everyPinnedStorageNodeIsAskedBeforeAnyATrackerNamed() {
    PeerInfo named = PeerInfo.of(PeerId.random(new SplittableRandom(4)), 1);
    client = client(List.of(NODE_A, NODE_B));
    client.introduced(STREAM, List.of(named));
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    for (int i = 0; i < 2; i++) {
      client.onEnd(sentTo.get(i), new Message.ResendEnd(STREAM, requests().get(i).request(), Message.ResendOutcome.FAILED, "disk"));
    }
    assertThat(sentTo.subList(0, 2)).containsExactlyInAnyOrder(NODE_A.id(), NODE_B.id());
    assertThat(sentTo.get(2)).isEqualTo(named.id());
  }

  @Test
  void aTrackerNamedStorageNodeWithNothingIsNotBelievedTheNextIsAsked() {
    client = client(List.of());
    client.introduced(STREAM, List.of(NODE_A, NODE_B));
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    PeerId asked = first();
    client.onEnd(asked, new Message.ResendEnd(STREAM, requests().get(0).request(), Message.ResendOutcome.COMPLETE, ""));
    assertThat(requests()).as("the other one too").hasSize(2);
    PeerId other = sentTo.get(1);
    assertThat(other).isNotEqualTo(asked);
    client.onEnd(other, new Message.ResendEnd(STREAM, requests().get(1).request(), Message.ResendOutcome.COMPLETE, ""));
    assertThat(events).as("the last one's nothing ends it").singleElement().isInstanceOf(TransportEvent.HistoryReceived.class);
  }

  @Test
  void onlyAPinnedStorageNodesHolesEndAnInOrderWait() {
    client = client(List.of(NODE_A));
    client.introduced(STREAM, List.of(NODE_B));
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    Message.ResendRequest r = requests().get(0);
    client.onBatch(NODE_A.id(), new Message.ResendBatch(STREAM, r.request(), List.of(data(1, 1), data(1, 5))));
    assertThat(handled).contains(new Event.HistoryGap(STREAM, PUB, 1, 2, 4));
    client.onEnd(NODE_A.id(), new Message.ResendEnd(STREAM, r.request(), Message.ResendOutcome.FAILED, "disk"));
    handled.clear();
    Message.ResendRequest again = requests().get(1);
    client.onBatch(NODE_B.id(), new Message.ResendBatch(STREAM, again.request(), List.of(data(1, 9))));
    assertThat(handled).as("a tracker-named node's claim is no reason to stop waiting").noneMatch(e -> e instanceof Event.HistoryGap);
  }


  private PeerId first() {
    return sentTo.get(0);
  }

  private List<Message.ResendRequest> requests() {
    return sent.stream().filter(m -> m instanceof Message.ResendRequest).map(m -> (Message.ResendRequest) m).toList();
  }

  private static Message.Data data(long session, long seq) {
    return new Message.Data(STREAM, PUB, session, seq, 0, new byte[] {1});
  }

  @Test
  void atMostTwoRequestsGoToAStorageNodeAtOnceTheRestWaitTheirTurn() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0), new Position(PUB, 2, 0), new Position(PUB, 3, 0)));
    assertThat(requests()).hasSize(2);
    Message.ResendRequest r = requests().get(0);
    client.onEnd(first(), new Message.ResendEnd(STREAM, r.request(), Message.ResendOutcome.COMPLETE, ""));
    assertThat(requests()).as("the third goes when one ends").hasSize(3);
    assertThat(requests().get(2).session()).isEqualTo(3);
  }

  @Test
  void aBatchOfAnotherSessionThanAskedIsLeftForTheNextStorageNode() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 10)));
    Message.ResendRequest r = requests().get(0);
    assertThat(r.fromSeq()).isEqualTo(11);
    PeerId a = first();
    client.onBatch(a, new Message.ResendBatch(STREAM, r.request(), List.of(data(1, 11), data(1, 12))));
    client.onBatch(a, new Message.ResendBatch(STREAM, r.request(), List.of(data(9, 13))));
    assertThat(client.violations()).isEqualTo(1);
    Message.ResendRequest again = requests().get(1);
    assertThat(sentTo.get(sent.indexOf(again))).as("the other storage node").isNotEqualTo(a);
    assertThat(again.fromSeq()).as("from where the first got to").isEqualTo(13);
    client.onBatch(a, new Message.ResendBatch(STREAM, again.request(), List.of(data(1, 13))));
    assertThat(client.violations()).as("only the node asked may answer").isEqualTo(2);
  }

  @Test
  void whatAStorageNodeLacksIsReportedAndAResentOldMessageIsAViolation() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 10)));
    Message.ResendRequest r = requests().get(0);
    client.onBatch(first(), new Message.ResendBatch(STREAM, r.request(), List.of(data(1, 11), data(1, 15))));
    assertThat(events).singleElement().satisfies(e -> assertThat(((TransportEvent.HistoryUnavailable) e).what()).contains("12..14"));
    client.onBatch(first(), new Message.ResendBatch(STREAM, r.request(), List.of(data(1, 15))));
    assertThat(client.violations()).isEqualTo(1);
  }

  @Test
  void aBusyStorageNodeIsAskedAgainLaterThenTheNextOne() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    PeerId a = first();
    for (int i = 0; i < HistoryClient.REFUSED_RETRIES; i++) {
      Message.ResendRequest r = requests().get(requests().size() - 1);
      client.onEnd(a, new Message.ResendEnd(STREAM, r.request(), Message.ResendOutcome.REFUSED, "busy"));
      timers.get(timers.size() - 1).run(); // the retry's wait
      assertThat(sentTo.get(sentTo.size() - 1)).isEqualTo(a);
    }
    Message.ResendRequest r = requests().get(requests().size() - 1);
    client.onEnd(a, new Message.ResendEnd(STREAM, r.request(), Message.ResendOutcome.REFUSED, "busy"));
    assertThat(sentTo.get(sentTo.size() - 1)).as("then the next one").isNotEqualTo(a);
  }

  @Test
  void aTimeStartWithoutStorageNodesIsReported() {
    HistoryClient none = client(List.of()); // and no trackers
    none.start(STREAM, StartAt.since(java.time.Instant.ofEpochSecond(1_000)));
    assertThat(events).singleElement().isInstanceOf(TransportEvent.HistoryUnavailable.class);
  }

  // ---- The end of a time start's answer (Event.HistoryEnded) -----------------------------------

  private static final StartAt SINCE = StartAt.since(java.time.Instant.ofEpochSecond(1_000));

  @Test
  void aTimeStartsAnswerEndsInTheCoreAfterEveryMessageOfIt() {
    client.start(STREAM, SINCE);
    Message.ResendRequest r = requests().get(0);
    client.onBatch(first(), new Message.ResendBatch(STREAM, r.request(), List.of(data(1, 1), data(1, 2))));
    assertThat(handled).noneMatch(e -> e instanceof Event.HistoryEnded);
    client.onEnd(first(), new Message.ResendEnd(STREAM, r.request(), Message.ResendOutcome.COMPLETE, ""));
    assertThat(handled).last().as("after the history, so sessions heard live start after it").isEqualTo(new Event.HistoryEnded(STREAM));
  }

  @Test
  void aTimeStartThatNoStorageNodeCanAnswerEndsInTheCoreToo() {
    client.start(STREAM, SINCE);
    client.onEnd(sentTo.get(0), new Message.ResendEnd(STREAM, requests().get(0).request(), Message.ResendOutcome.FAILED, "disk"));
    assertThat(handled).as("the next one is asked first").noneMatch(e -> e instanceof Event.HistoryEnded);
    client.onEnd(sentTo.get(1), new Message.ResendEnd(STREAM, requests().get(1).request(), Message.ResendOutcome.FAILED, "disk"));
    assertThat(handled).filteredOn(e -> e instanceof Event.HistoryEnded).containsExactly(new Event.HistoryEnded(STREAM));

    handled.clear();
    client(List.of()).start(STREAM, SINCE); // none at all, and no trackers
    assertThat(handled).containsExactly(new Event.HistoryEnded(STREAM));
  }

  @Test
  void aPositionsAnswerIsNoTimeStartsEnd() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    client.onEnd(first(), new Message.ResendEnd(STREAM, requests().get(0).request(), Message.ResendOutcome.COMPLETE, ""));
    assertThat(handled).noneMatch(e -> e instanceof Event.HistoryEnded);
  }

  // ---- Later sessions the core wants (follow) -------------------------------------------------

  /** Runs what was scheduled to run at once (a follow is asked on the loop's next turn). */
  private void runDue() {
    List<Runnable> now = new ArrayList<>(due);
    due.clear();
    now.forEach(Runnable::run);
  }

  @Test
  void aLaterSessionTheCoreWantsIsAskedForTheHoleBelowItsFirstMessageHeard() {
    client.follow(STREAM, PUB, 7, 1, 39);
    assertThat(requests()).as("not inside the core's turn").isEmpty();
    runDue();
    assertThat(requests()).singleElement().satisfies(r -> {
      assertThat(r.publisher()).isEqualTo(PUB);
      assertThat(r.session()).isEqualTo(7);
      assertThat(r.fromSeq()).isEqualTo(1);
      assertThat(r.toSeq()).isEqualTo(39);
    });
    client.follow(STREAM, PUB, 7, 1, 39);
    runDue();
    assertThat(requests()).as("asked already").hasSize(1);
    HistoryClient none = client(List.of());
    none.follow(STREAM, PUB, 8, 1, 9);
    runDue();
    assertThat(requests()).as("no storage node: left to the caches").hasSize(1);
    assertThat(events).isEmpty();
  }

  private final java.util.Set<Long> answered = new java.util.HashSet<>();

  /** Answers every request sent, COMPLETE, and those that go out in their place, until none is open. */
  private void answerAll() {
    for (boolean more = true; more; ) {
      more = false;
      for (Message.ResendRequest r : requests()) {
        if (!answered.add(r.request())) continue;
        more = true;
        client.onEnd(sentTo.get(sent.indexOf(r)), new Message.ResendEnd(r.stream(), r.request(), Message.ResendOutcome.COMPLETE, ""));
      }
    }
  }

  @Test
  void laterSessionsAskedForAreBoundedPerStreamAtOnceAndPerMinute() {
    for (int s = 1; s <= HistoryClient.MAX_FOLLOWS + 3; s++) client.follow(STREAM, PUB, s, 1, 9);
    runDue();
    assertThat(client.open()).isEqualTo(HistoryClient.MAX_FOLLOWS);
    assertThat(client.followsRefused()).isEqualTo(3);
    assertThat(events).as("the first refusal of the minute is said, the rest counted").singleElement()
        .satisfies(e -> assertThat(((TransportEvent.HistoryUnavailable) e).what()).contains("being asked for already"));
    client.follow(StreamId.of("other"), PUB, 1, 1, 9);
    runDue();
    assertThat(client.open()).as("another stream has its own").isEqualTo(HistoryClient.MAX_FOLLOWS + 1);

    answerAll();
    assertThat(client.open()).isZero();
    for (int s = 100; s < 100 + HistoryClient.MAX_FOLLOWS_PER_MINUTE - HistoryClient.MAX_FOLLOWS; s++) { // the minute's rest
      client.follow(STREAM, PUB, s, 1, 9);
      runDue();
      answerAll();
    }
    long refusedBefore = client.followsRefused();
    client.follow(STREAM, PUB, 999, 1, 9);
    runDue();
    assertThat(client.followsRefused()).as("a restart loop is bounded per minute too").isEqualTo(refusedBefore + 1);
    assertThat(client.open()).isZero();
    timers.forEach(Runnable::run); // the minute ends
    client.follow(STREAM, PUB, 1_000, 1, 9);
    runDue();
    assertThat(client.open()).isEqualTo(1);
  }

  @Test
  void aFollowAfterLeavingIsNotAskedAndAnAbandonedAskStandsInForNoNewOne() {
    client.follow(STREAM, PUB, 7, 1, 39);
    runDue();
    client.follow(STREAM, PUB, 8, 1, 9); // revealed before the leave, asked after it
    client.left(STREAM);
    joinedNow = false;
    runDue();
    assertThat(requests()).as("not for a stream the node left").hasSize(1);
    joinedNow = true; // joined again
    client.follow(STREAM, PUB, 7, 1, 39);
    runDue();
    assertThat(requests()).as("the abandoned ask is no reason not to ask").hasSize(2);
  }

  @Test
  void leavingTheStreamEndsItsRequestsQuietly() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0), new Position(PUB, 2, 0), new Position(PUB, 3, 0)));
    Message.ResendRequest sentOne = requests().get(0);
    client.left(STREAM);
    assertThat(client.open()).as("the one not sent yet is gone; the sent ones wait for their ends").isEqualTo(2);
    handled.clear();
    client.onBatch(first(), new Message.ResendBatch(STREAM, sentOne.request(), List.of(data(1, 1))));
    assertThat(handled).as("not taken for the stream's next membership").noneMatch(e -> e instanceof Event.History);
    assertThat(sent).as("no credit").noneMatch(m -> m instanceof Message.ResendCredit);
    for (Message.ResendRequest r : requests()) {
      client.onEnd(sentTo.get(sent.indexOf(r)), new Message.ResendEnd(STREAM, r.request(), Message.ResendOutcome.COMPLETE, ""));
    }
    assertThat(client.open()).isZero();
    assertThat(requests()).as("the third was never sent").hasSize(2);
    assertThat(events).isEmpty();
    assertThat(client.violations()).isZero();
  }

  @Test
  void aSilentStorageNodeIsGivenUp() {
    client.start(STREAM, StartAt.after(new Position(PUB, 1, 0)));
    PeerId a = first();
    timers.get(0).run(); // the stall check: nothing came
    assertThat(sentTo.get(sentTo.size() - 1)).isNotEqualTo(a);
    assertThat(handled).contains(new Event.HoldLink(a.equals(NODE_A.id()) ? NODE_A : NODE_B, false));
  }
}
