package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.introduction.Rendezvous;
import dev.overlay.protocol.Message;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The tracker client against a fake node, on virtual time: what it dials, sends and answers. */
class TrackerIntroducerTest {

  private static final StreamId STREAM = StreamId.of("s");
  private static final List<String> TRACKERS = List.of("127.0.0.1:7001", "127.0.0.1:7002");
  private static final Duration HEARTBEAT = Duration.ofSeconds(10);
  private static final SplittableRandom RNG = new SplittableRandom(1);

  private final FakeIntroductionHost host = new FakeIntroductionHost();
  private final TrackerIntroducer trackers = new TrackerIntroducer(host, TRACKERS, HEARTBEAT, Duration.ofSeconds(5));
  private final List<List<PeerInfo>> answers = new ArrayList<>();
  /** The stream's trackers in its rendezvous order: every node dials the first one first. */
  private final List<String> order = Rendezvous.order(TRACKERS, STREAM);
  private final PeerId first = PeerId.random(RNG);
  private final PeerId second = PeerId.random(RNG);

  @Test
  void registersAtTheStreamsFirstTrackerOnceItsLinkIsUp() {
    trackers.introduce(STREAM, answers::add);
    assertThat(host.dialled).containsExactly(address(order.get(0)));
    assertThat(host.sent).isEmpty(); // nothing to send on until the link is up

    linkUp(order.get(0), first);

    assertThat(host.sent).singleElement().satisfies(s -> {
      assertThat(s.to()).isEqualTo(first);
      assertThat(s.message()).isEqualTo(new Message.TrackerRegister(STREAM, host.self(), 1, true, 0));
    });
    assertThat(trackers.isInfrastructure(first)).isTrue();
  }

  @Test
  void theAnswerGoesToTheLatestRequestWithoutThisNode() {
    trackers.introduce(STREAM, answers::add);
    linkUp(order.get(0), first);
    PeerInfo other = peer();

    trackers.received(first, new Message.TrackerPeers(STREAM, 1, List.of(other, host.self())));

    assertThat(answers).containsExactly(List.of(other));
  }

  @Test
  void anAnswerFromAnotherTrackerOrToAnOldRequestIsNotTaken() {
    trackers.introduce(STREAM, answers::add);
    linkUp(order.get(0), first);

    trackers.received(second, new Message.TrackerPeers(STREAM, 1, List.of(peer()))); // not this stream's tracker
    trackers.received(first, new Message.TrackerPeers(STREAM, 7, List.of(peer()))); // answers no request in flight

    assertThat(answers).isEmpty();
    assertThat(trackers.counters()).containsEntry("tracker_messages_ignored", 1L);
  }

  @Test
  void everyTrackerUnreachableAnswersEmptySoTheCoreAsksAgainLater() {
    trackers.introduce(STREAM, answers::add);
    trackers.seedFailed(address(order.get(0)), "refused");
    assertThat(host.dialled).containsExactly(address(order.get(0)), address(order.get(1)));

    trackers.seedFailed(address(order.get(1)), "refused");

    assertThat(answers).containsExactly(List.of());
  }

  @Test
  void aRequestStillWithoutALinkAfterThreeSecondsGoesToTheNextTracker() {
    trackers.introduce(STREAM, answers::add);
    host.now += Duration.ofSeconds(3).toNanos();

    host.runEvery(); // the heartbeat finds the request too old

    assertThat(host.dialled).containsExactly(address(order.get(0)), address(order.get(1)));
  }

  @Test
  void aTrackerThatStopsAnsweringHasItsLinkClosedAndTheNextIsTried() {
    trackers.introduce(STREAM, answers::add);
    linkUp(order.get(0), first);
    host.linked.add(first);
    host.now += Duration.ofSeconds(3).toNanos();

    host.runEvery();

    assertThat(host.closed).containsExactly(first); // or the redial would find the stuck link again
    assertThat(host.dialled).containsExactly(address(order.get(0)), address(order.get(1)));
  }

  @Test
  void rateLimitedRetriesOnceAfterTheCappedWaitHoweverManyRefusalsCome() {
    trackers.introduce(STREAM, answers::add);
    linkUp(order.get(0), first);
    host.sent.clear();

    for (int i = 0; i < 3; i++) {
      trackers.received(first, new Message.TrackerRefused(STREAM, Message.RefusalReason.RATE_LIMITED, 3_600_000, "slow down"));
    }

    assertThat(host.after).singleElement().satisfies(a -> assertThat(a.delay()).isEqualTo(Duration.ofSeconds(5)));
    host.after.remove(0).task().run();
    assertThat(host.sent).singleElement().satisfies(s -> assertThat(s.message())
        .isEqualTo(new Message.TrackerRegister(STREAM, host.self(), 2, true, 0)));
    assertThat(answers).isEmpty(); // still waiting for peers, not told "none"
  }

  @Test
  void aRefusalForOtherReasonsAnswersEmpty() {
    trackers.introduce(STREAM, answers::add);
    linkUp(order.get(0), first);

    trackers.received(first, new Message.TrackerRefused(STREAM, Message.RefusalReason.FULL, 0, "full"));

    assertThat(answers).containsExactly(List.of());
    assertThat(host.after).isEmpty();
  }

  @Test
  void leavingTellsTheTrackerWithTheNextCounter() {
    trackers.introduce(STREAM, answers::add);
    linkUp(order.get(0), first);
    host.sent.clear();

    trackers.left(STREAM);

    assertThat(host.sent).singleElement().satisfies(s -> assertThat(s.message()).isEqualTo(new Message.TrackerLeave(STREAM, 2)));
  }

  @Test
  void aBetterTrackerThatComesBackTakesTheStreamAgain() {
    trackers.introduce(STREAM, answers::add);
    trackers.seedFailed(address(order.get(0)), "refused");
    linkUp(order.get(1), second);
    trackers.received(second, new Message.TrackerPeers(STREAM, 1, List.of()));
    host.sent.clear();

    linkUp(order.get(0), first);

    assertThat(host.sent).singleElement().satisfies(s -> {
      assertThat(s.to()).isEqualTo(first);
      assertThat(s.message()).isInstanceOf(Message.TrackerRegister.class);
    });
  }

  private void linkUp(String tracker, PeerId id) {
    PeerInfo info = new PeerInfo(id, 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 7000)));
    trackers.seedFound(address(tracker), info);
    trackers.linkUp(info);
  }

  private static PeerInfo peer() {
    return new PeerInfo(PeerId.random(RNG), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 9000)));
  }

  private static InetSocketAddress address(String hostPort) {
    return HostPort.parse(hostPort, "tracker").address();
  }

  @Test
  void aNodeTraversingNatsAsksItsTrackerToReachItRightAfterRegisteringAndTakesOnlyTheLatestAnswer() {
    host.nat = true;
    trackers.introduce(STREAM, answers::add);
    host.linked.add(first);
    linkUp(order.get(0), first);

    assertThat(host.sent.get(0).message()).isInstanceOf(Message.TrackerRegister.class); // the candidates first
    Message.ReachabilityRequest asked = (Message.ReachabilityRequest) host.sent.get(1).message();
    assertThat(asked.stream()).isEqualTo(STREAM);
    assertThat(host.sent).filteredOn(x -> x.message() instanceof Message.ReachabilityRequest).hasSize(1);
    long nonce = asked.nonce();
    var reached = Message.Reachability.Outcome.REACHED;
    var notReached = Message.Reachability.Outcome.NOT_REACHED;

    trackers.received(first, new Message.Reachability(STREAM, nonce + 1, reached, "203.0.113.9:8000", "a guessed nonce"));
    trackers.received(second, new Message.Reachability(STREAM, nonce, reached, "203.0.113.9:8000", "not the tracker asked"));
    trackers.received(first, new Message.Reachability(STREAM, nonce, reached, "203.0.113.9:9", "none of this node's ports"));
    assertThat(host.reachability).isEmpty();
    trackers.received(first, new Message.Reachability(STREAM, nonce, notReached, "", "not reached: 203.0.113.1:8000: timed out"));
    trackers.received(first, new Message.Reachability(STREAM, nonce, reached, "203.0.113.9:8000", "the same nonce again"));
    assertThat(host.reachability).as("one answer, once").containsExactly("NOT_REACHED null \"not reached: 203.0.113.1:8000: timed out\"");
    assertThat(trackers.counters()).containsEntry("tracker_messages_ignored", 4L);

    host.every.get(0).run(); // a heartbeat a moment later: not asked again within 10 minutes
    assertThat(host.sent).filteredOn(x -> x.message() instanceof Message.ReachabilityRequest).hasSize(1);
  }

  @Test
  void aNodeNotTraversingNatsNeverAsks() {
    trackers.introduce(STREAM, answers::add);
    host.linked.add(first);
    linkUp(order.get(0), first);
    assertThat(host.sent).noneMatch(x -> x.message() instanceof Message.ReachabilityRequest);
  }
}
