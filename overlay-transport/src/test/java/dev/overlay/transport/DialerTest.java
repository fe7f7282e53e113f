package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.protocol.Message;
import dev.overlay.testing.ManualExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Which addresses a dial tries, in what order, under which budget, and how it ends; no network. */
class DialerTest {

  private static final SplittableRandom IDS = new SplittableRandom(7);
  private static final PeerId PEER = PeerId.random(IDS);

  private final List<String> log = new ArrayList<>();
  private final List<Attempt> attempts = new ArrayList<>();
  private final List<Delayed> delayed = new ArrayList<>();
  private final ManualExecutor loop = new ManualExecutor();
  private boolean closed;
  private long now = 1_000_000_000L;
  private Dialer dialer = dialer(TransportConfig.defaults());

  private record Attempt(InetSocketAddress address, LinkHandler handler) {}

  /** Where punches connect from; null: this node was not bound for punching. */
  private InetSocketAddress punchFrom = new InetSocketAddress("192.168.1.10", 7000);
  private final List<Attempt> punched = new ArrayList<>();
  private final List<PeerId> punchRequests = new ArrayList<>();
  private final List<PeerId> relayRequests = new ArrayList<>();
  private final List<Attempt> relayed = new ArrayList<>();
  private boolean linkRelayed;

  private record Delayed(Runnable task, long delayNanos) {}

  private Dialer dialer(TransportConfig config) {
    return new Dialer(config, new SplittableRandom(1), () -> now, loop, (task, delay) -> delayed.add(new Delayed(task, delay)),
        new Connector() {
          @Override
          public void connect(InetSocketAddress address, LinkHandler handler) {
            attempts.add(new Attempt(address, handler));
          }

          @Override
          public void connectFrom(InetSocketAddress local, InetSocketAddress remote, LinkHandler handler) {
            assertThat(local).isEqualTo(punchFrom);
            punched.add(new Attempt(remote, handler));
          }

          @Override
          public void connectRelay(InetSocketAddress relay, byte[] token, LinkHandler handler) {
            assertThat(token).hasSize(16);
            relayed.add(new Attempt(relay, handler));
          }
        }, new LinkManager.Listener() {
          @Override
          public void linkUp(PeerId peer, PeerInfo info) {}

          @Override
          public void linkDown(PeerId peer, String reason) {}

          @Override
          public void dialFailed(PeerId peer, String reason) {
            log.add("dialFailed " + reason);
          }

          @Override
          public void received(PeerId peer, Message message, int frameBytes) {}

          @Override
          public void seedFound(InetSocketAddress address, PeerInfo info) {
            log.add("seedFound " + address.getPort());
          }

          @Override
          public void seedFailed(InetSocketAddress address, String reason) {
            log.add("seedFailed " + address.getPort() + " " + reason);
          }

          @Override
          public void event(TransportEvent event) {
            if (event instanceof TransportEvent.DialFailed f) log.add("event " + f.address() + " " + f.reason());
          }
        }, new Dialer.Links() {
          @Override
          public boolean closed() {
            return closed;
          }

          @Override
          public LinkHandler handler(PeerId expected, boolean pinned, String remote) {
            return new LinkHandler(null, expected, pinned, true, remote); // never in a pipeline here
          }

          @Override
          public void exhausted(PeerId peer) {
            log.add("exhausted");
          }

          @Override
          public LinkHandler punchHandler(PeerId peer, String remote) {
            return new LinkHandler(null, peer, false, false, remote);
          }

          @Override
          public InetSocketAddress punchFrom() {
            return punchFrom;
          }

          @Override
          public boolean relayedTo(PeerId peer) {
            return linkRelayed;
          }
        });
  }

  private static PeerInfo peer(Candidate... candidates) {
    return new PeerInfo(PEER, 1, List.of(candidates));
  }

  private static Candidate local(int port) {
    return new Candidate(Candidate.Kind.LOCAL, "10.0.0.1", port);
  }

  private static Candidate reflexive(int port) {
    return new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.1", port);
  }

  /** The attempt fails as LinkManager reports it: out of the gate, then the dial moves on. */
  private void fail(Attempt a, String why) {
    a.handler().close(CloseReason.CONNECT_FAILED, why);
    dialer.finished(a.handler(), false);
    dialer.attemptFailed(PEER, a.handler(), a.handler().closeReason());
    dialer.tryNext(PEER);
  }

  @Test
  void localCandidatesAreTriedBeforeReflexiveOnesOneAtATimeUnresolved() {
    dialer.dial(PEER, peer(reflexive(2000), local(1000)));

    assertThat(attempts).singleElement().satisfies(a -> {
      assertThat(a.address().getPort()).isEqualTo(1000);
      assertThat(a.address().isUnresolved()).as("names are looked up by the connector, without blocking").isTrue();
      assertThat(a.handler().expected()).isEqualTo(PEER);
      assertThat(a.handler().gated).isTrue();
    });
    assertThat(dialer.attempts(PEER)).containsExactly(attempts.get(0).handler());
  }

  @Test
  void aFailedAttemptMovesOnAndTheLastOneEndsTheDialWithItsError() {
    dialer.dial(PEER, peer(local(1000), reflexive(2000)));
    fail(attempts.get(0), "refused");
    assertThat(attempts).hasSize(2);
    assertThat(attempts.get(1).address().getPort()).isEqualTo(2000);
    assertThat(log).isEmpty();

    fail(attempts.get(1), "timed out");

    assertThat(log).containsExactly("exhausted", "event 203.0.113.1:2000 timed out", "dialFailed timed out");
    assertThat(dialer.dialling(PEER)).isFalse();
  }

  @Test
  void aPeerWithNoAddressFailsAtOnce() {
    dialer.dial(PEER, peer());
    assertThat(attempts).isEmpty();
    assertThat(log).containsExactly("exhausted", "event - no address to dial", "dialFailed no address to dial");
  }

  @Test
  void aPeerWhoseDialFailedWaitsItsBackoffAndACancelledWaitDialsNothing() {
    dialer.dial(PEER, peer(local(1000)));
    fail(attempts.get(0), "refused");
    attempts.clear();

    dialer.dial(PEER, peer(local(1000)));
    assertThat(attempts).isEmpty();
    assertThat(delayed).singleElement().satisfies(d -> assertThat(d.delayNanos()).isPositive());

    dialer.cancel(PEER);
    delayed.get(0).task().run();
    assertThat(attempts).as("the wait belonged to a dial no longer wanted").isEmpty();

    dialer.dial(PEER, peer(local(1001))); // another address: 1000 itself is in the gate's backoff now
    delayed.get(1).task().run();
    assertThat(attempts).hasSize(1);
  }

  @Test
  void addressesTheGateRefusesAreSkippedWithTheirReason() {
    dialer = dialer(TransportConfig.builder().maxDialsInProgress(1).build());
    PeerId other = PeerId.random(IDS);
    dialer.dial(other, new PeerInfo(other, 1, List.of(local(9000)))); // takes the one slot

    dialer.dial(PEER, peer(local(1000)));

    assertThat(attempts).hasSize(1);
    assertThat(log).hasSize(3);
    assertThat(log.get(0)).isEqualTo("exhausted");
    assertThat(log.get(2)).startsWith("dialFailed not dialled 10.0.0.1:1000: ").contains("in progress");
  }

  @Test
  void anAddressWrittenAnotherWayIsTheSameAddress() {
    assertThat(Dialer.addressKey(InetSocketAddress.createUnresolved("::ffff:10.0.0.1", 1000))).isEqualTo("10.0.0.1:1000");
    assertThat(Dialer.addressKey(InetSocketAddress.createUnresolved("2001:DB8:0:0::1", 1000))).isEqualTo("2001:db8:0:0:0:0:0:1:1000");
    assertThat(Dialer.addressKey(InetSocketAddress.createUnresolved("Node.Example.", 1000))).isEqualTo("node.example:1000");
    assertThat(Dialer.addressKey(InetSocketAddress.createUnresolved("zz:not-a-literal", 1000)))
        .as("not parsed, so never looked up").isEqualTo("zz:not-a-literal:1000");
    assertThat(Dialer.addressKey(InetSocketAddress.createUnresolved("1.2.3.4.5", 1000))).isEqualTo("1.2.3.4.5:1000");

    dialer.dial(PEER, peer(local(1000)));
    fail(attempts.get(0), "refused"); // 10.0.0.1:1000 is in backoff now
    PeerId other = PeerId.random(IDS);
    dialer.dial(other, new PeerInfo(other, 1, List.of(new Candidate(Candidate.Kind.LOCAL, "::ffff:10.0.0.1", 1000))));

    assertThat(attempts).hasSize(1);
    assertThat(log.get(log.size() - 1)).startsWith("dialFailed not dialled 10.0.0.1:1000: address in backoff");
  }

  @Test
  void cancellingClosesTheAttempt() {
    dialer.dial(PEER, peer(local(1000)));
    LinkHandler h = attempts.get(0).handler();

    dialer.cancel(PEER);

    assertThat(h.closeKind()).isEqualTo(CloseReason.DIAL_CANCELLED);
    assertThat(dialer.dialling(PEER)).isFalse();
  }

  @Test
  void aPinnedSeedIsDialledExpectingItsKeyAndIsReportedFoundOnce() {
    PeerId pinned = PeerId.random(IDS);
    InetSocketAddress seed = InetSocketAddress.createUnresolved("seed.example", 7000);
    dialer.dialSeed(seed, pinned);
    LinkHandler h = attempts.get(0).handler();
    assertThat(h.expected()).isEqualTo(pinned);
    assertThat(h.pinned()).as("a mismatch is then a pinned-key refusal, not a learnt id").isTrue();

    dialer.seedReady(h, peer());
    dialer.seedReady(h, peer());
    dialer.seedClosed(h);

    assertThat(log).containsExactly("seedFound 7000");
  }

  @Test
  void aSeedDialTheBudgetRefusesIsReportedFromTheLoopNotFromInsideTheCaller() {
    dialer = dialer(TransportConfig.builder().maxDialsInProgress(1).build());
    dialer.dial(PEER, peer(local(1000)));

    dialer.dialSeed(InetSocketAddress.createUnresolved("seed.example", 7000), null);
    assertThat(log).isEmpty();

    loop.runAll();
    assertThat(log).singleElement().asString().startsWith("seedFailed 7000 not dialled: ");
  }

  @Test
  void aClosingNodeDialsNothing() {
    closed = true;
    dialer.dial(PEER, peer(local(1000)));
    dialer.dialSeed(InetSocketAddress.createUnresolved("seed.example", 7000), null);
    assertThat(attempts).isEmpty();
    assertThat(dialer.dialling(PEER)).as("nothing left behind").isFalse();
  }

  // ---- Hole punching ----------------------------------------------------------------------

  private void punchesGoTo(boolean trackerAsked) {
    dialer.punchVia(peer -> {
      punchRequests.add(peer);
      return trackerAsked;
    });
  }

  private void relaysGoTo(boolean trackerAsked) {
    dialer.relayVia(peer -> {
      relayRequests.add(peer);
      return trackerAsked;
    });
  }

  private void failPunch(Attempt a, String why) {
    a.handler().close(CloseReason.CONNECT_FAILED, why);
    dialer.finished(a.handler(), false);
    dialer.attemptFailed(PEER, a.handler(), a.handler().closeReason());
    dialer.tryNext(PEER);
  }

  @Test
  void aPeerBehindANatWhoseAddressesAllFailedIsPunchedToOnTheTrackersSignal() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(local(1000), reflexive(2000)));
    fail(attempts.get(0), "unreachable");
    fail(attempts.get(1), "timed out");

    assertThat(punchRequests).containsExactly(PEER);
    assertThat(log).as("the dial waits for the signal instead of failing").isEmpty();
    assertThat(dialer.dialling(PEER)).isTrue();

    dialer.punch(peer(local(1000), reflexive(2000)), 100_000_000L);
    Delayed go = delayed.get(delayed.size() - 1);
    assertThat(go.delayNanos()).isEqualTo(100_000_000L);
    assertThat(punched).as("not before the moment the tracker named").isEmpty();
    go.task().run();

    assertThat(punched).singleElement().satisfies(a -> {
      assertThat(a.address().getHostString() + ":" + a.address().getPort()).isEqualTo("203.0.113.1:2000");
      assertThat(a.handler().punched).isTrue();
      assertThat(a.handler().expected()).isEqualTo(PEER);
    });
    assertThat(attempts).as("the direct address 2000 was in backoff; the punch is not held back by it").hasSize(2);
    assertThat(dialer.counters().punchesStarted()).isEqualTo(1);

    failPunch(punched.get(0), "timed out");
    assertThat(log).containsExactly("exhausted", "event 203.0.113.1:2000 hole punch failed: timed out",
        "dialFailed hole punch failed: timed out");
    assertThat(dialer.counters().punchesFailed()).isEqualTo(1);
    assertThat(dialer.dialling(PEER)).isFalse();
  }

  @Test
  void withoutASignalTheDialFailsAfterItsWaitWithBothReasons() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(reflexive(2000)));
    fail(attempts.get(0), "timed out");
    Delayed wait = delayed.get(delayed.size() - 1);
    assertThat(wait.delayNanos()).isEqualTo(Dialer.PUNCH_SIGNAL_WAIT_NANOS);

    wait.task().run();

    assertThat(log).last().asString().isEqualTo("dialFailed timed out; no signal to punch from a tracker in 5 s");
    assertThat(punched).isEmpty();
  }

  @Test
  void theTrackersRefusalEndsTheDialWithItsReason() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(reflexive(2000)));
    fail(attempts.get(0), "timed out");

    dialer.punchRefused(PEER, "no stream in common");

    assertThat(log).last().asString().isEqualTo("dialFailed timed out; hole punch refused by the tracker: no stream in common");
    dialer.punch(peer(reflexive(2000)), 0); // a late signal, for a dial that is over: a punch for another node now
    assertThat(dialer.counters().punchesStarted()).isEqualTo(1);
  }

  @Test
  void noPunchIsAskedForAPeerWithoutAReflexiveCandidateOrWithoutATracker() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(local(1000)));
    fail(attempts.get(0), "refused");
    assertThat(punchRequests).isEmpty();
    assertThat(log).last().asString().isEqualTo("dialFailed refused");

    PeerId other = PeerId.random(IDS);
    punchesGoTo(false); // no tracker to ask
    dialer.dial(other, new PeerInfo(other, 1, List.of(reflexive(3000))));
    LinkHandler h = attempts.get(1).handler();
    h.close(CloseReason.CONNECT_FAILED, "timed out");
    dialer.finished(h, false);
    dialer.attemptFailed(other, h, h.closeReason());
    dialer.tryNext(other);
    assertThat(punchRequests).containsExactly(other);
    assertThat(log).last().asString().isEqualTo("dialFailed timed out");
  }

  @Test
  void punchesForOtherNodesAreCappedAndTheirFailuresNeverReachTheCore() {
    List<PeerId> others = new ArrayList<>();
    for (int i = 0; i <= Dialer.MAX_PUNCHES_FOR_OTHERS; i++) {
      PeerId p = PeerId.random(IDS);
      others.add(p);
      dialer.punch(new PeerInfo(p, 1, List.of(new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.2", 4000 + i))), 0);
    }
    assertThat(dialer.counters().punchesStarted()).isEqualTo(Dialer.MAX_PUNCHES_FOR_OTHERS);
    assertThat(dialer.counters().punchesRefused()).isEqualTo(1);
    assertThat(log).last().asString().contains(Dialer.MAX_PUNCHES_FOR_OTHERS + " punches for other nodes under way");

    delayed.get(0).task().run();
    Attempt a = punched.get(0);
    a.handler().close(CloseReason.CONNECT_FAILED, "timed out");
    dialer.finished(a.handler(), false);
    dialer.attemptFailed(others.get(0), a.handler(), a.handler().closeReason());
    dialer.tryNext(others.get(0));

    assertThat(log).noneMatch(l -> l.startsWith("dialFailed") || l.equals("exhausted"));
    PeerId next = PeerId.random(IDS);
    dialer.punch(new PeerInfo(next, 1, List.of(new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.2", 5000))), 0);
    assertThat(dialer.counters().punchesStarted()).as("the failed punch freed its slot").isEqualTo(Dialer.MAX_PUNCHES_FOR_OTHERS + 1);
  }

  @Test
  void aNodeNotBoundForPunchingNeitherAsksNorPunches() {
    punchFrom = null;
    punchesGoTo(true);
    dialer.dial(PEER, peer(reflexive(2000)));
    fail(attempts.get(0), "timed out");
    assertThat(punchRequests).isEmpty();
    dialer.punch(peer(reflexive(2000)), 0);
    assertThat(dialer.counters().punchesRefused()).isEqualTo(1);
  }

  @Test
  void whenTheSignalledPunchFailsOurDialAsksForARelayAndConnectsThroughIt() {
    punchesGoTo(true);
    relaysGoTo(true);
    dialer.dial(PEER, peer(reflexive(2000)));
    fail(attempts.get(0), "timed out");
    dialer.punch(peer(reflexive(2000)), 0);
    delayed.get(delayed.size() - 1).task().run();
    failPunch(punched.get(0), "timed out");

    assertThat(relayRequests).containsExactly(PEER);
    assertThat(log).as("waiting for the relay, not failed").isEmpty();
    dialer.relay(peer(reflexive(2000)), InetSocketAddress.createUnresolved("203.0.113.10", 7001), new byte[16]);

    assertThat(relayed).singleElement().satisfies(a -> {
      assertThat(a.address().getPort()).isEqualTo(7001);
      assertThat(a.handler().relayed).isTrue();
      assertThat(a.handler().expected()).isEqualTo(PEER);
    });
    failPunch(relayed.get(0), "refused");
    assertThat(log).last().asString().isEqualTo("dialFailed relay failed: refused (before it, hole punch failed: timed out)");
    assertThat(dialer.counters().relaysFailed()).isEqualTo(1);
    assertThat(dialer.counters().punchesFailed()).isEqualTo(1);
  }

  @Test
  void aRelayIsNeverAskedForBeforeATrackerSignalledAPunch() {
    punchesGoTo(true);
    relaysGoTo(true);
    dialer.dial(PEER, peer(reflexive(2000)));
    fail(attempts.get(0), "timed out");
    dialer.punchRefused(PEER, "no stream in common with that node at this tracker");

    assertThat(relayRequests).as("a peer the tracker does not hold is not relayed").isEmpty();
    assertThat(log).last().asString().startsWith("dialFailed");
  }

  @Test
  void aRelayedLinkAsksForAPunchNowAndThenWhileItStaysRelayed() {
    punchesGoTo(true);
    linkRelayed = true;
    dialer.upgradeLater(PEER, peer(reflexive(2000)));
    Delayed later = delayed.get(0);
    assertThat(later.delayNanos()).isEqualTo(Dialer.UPGRADE_NANOS);

    later.task().run();
    assertThat(punchRequests).containsExactly(PEER);
    assertThat(delayed).as("and again later").anyMatch(d -> d.delayNanos() == Dialer.UPGRADE_NANOS && d != later);

    linkRelayed = false; // the link went, or became direct
    delayed.get(delayed.size() - 1).task().run();
    assertThat(punchRequests).hasSize(1);
  }

  @Test
  void aPunchOverItsAddressBudgetNeitherHangsADialNorCutsOneShort() {
    punchesGoTo(true);
    for (int i = 0; i < Dialer.MAX_PUNCHES_PER_ADDRESS; i++) { // a tracker aims four made-up ids at one address
      PeerId decoy = PeerId.random(IDS);
      dialer.punch(new PeerInfo(decoy, 1, List.of(reflexive(2000))), 0);
    }
    assertThat(dialer.counters().punchesStarted()).isEqualTo(Dialer.MAX_PUNCHES_PER_ADDRESS);

    // Our own dial, still trying directly: the signal over budget leaves that attempt alone.
    dialer.dial(PEER, peer(local(1000), reflexive(2000)));
    LinkHandler direct = attempts.get(0).handler();
    dialer.punch(peer(local(1000), reflexive(2000)), 0);
    assertThat(direct.closeKind()).as("the direct attempt carries on").isNull();
    assertThat(dialer.attempts(PEER)).containsExactly(direct);

    // Then, waiting for a signal: over budget, the dial fails at once, with the reason.
    fail(attempts.get(0), "unreachable");
    fail(attempts.get(1), "timed out");
    assertThat(log).noneMatch(l -> l.startsWith("dialFailed"));
    dialer.punch(peer(local(1000), reflexive(2000)), 0);
    assertThat(log).last().asString().startsWith("dialFailed timed out; hole punch not started: 4 punches to that address");
    assertThat(dialer.dialling(PEER)).isFalse();
  }

  @Test
  void aPunchIsAskedForAsTheDialTriesThePeersMappingAndItsSignalSupersedesTheDirectAttempt() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(local(1000), reflexive(2000)));
    assertThat(punchRequests).as("not while trying the LAN address").isEmpty();
    fail(attempts.get(0), "unreachable");

    assertThat(attempts).hasSize(2); // the mapping, directly
    assertThat(punchRequests).as("asked at once, in parallel").containsExactly(PEER);
    LinkHandler direct = attempts.get(1).handler();

    dialer.punch(peer(local(1000), reflexive(2000)), 0);
    delayed.get(delayed.size() - 1).task().run();

    assertThat(direct.closeKind()).isEqualTo(CloseReason.DIAL_CANCELLED);
    assertThat(punched).singleElement().satisfies(a -> assertThat(a.address().getPort()).isEqualTo(2000));
    assertThat(log).isEmpty();
  }

  @Test
  void aRefusalOfTheEarlyRequestIsToldWhenTheDialFailsWithoutWaitingForASignal() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(reflexive(2000)));
    dialer.punchRefused(PEER, "no stream in common with that node at this tracker");
    int timers = delayed.size();

    fail(attempts.get(0), "timed out");

    assertThat(delayed).as("no wait for a signal that will not come").hasSize(timers);
    assertThat(log).last().asString()
        .isEqualTo("dialFailed timed out; hole punch refused by the tracker: no stream in common with that node at this tracker");
  }

  // ---- Happy Eyeballs (RFC 8305) ------------------------------------------------------------

  private static Candidate local(String host, int port) {
    return new Candidate(Candidate.Kind.LOCAL, host, port);
  }

  private static Candidate reflexive(String host, int port) {
    return new Candidate(Candidate.Kind.REFLEXIVE, host, port);
  }

  /** The timer the dial set last: after a connection attempt delay, the next address starts. */
  private Delayed lastTimer() {
    return delayed.get(delayed.size() - 1);
  }

  private List<Integer> ports() {
    return attempts.stream().map(a -> a.address().getPort()).toList();
  }

  @Test
  void withinEachKindTheFamiliesAlternateIpv6First() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001), local("2001:db8::1", 1002),
        reflexive("203.0.113.1", 2000), reflexive("2001:db8::2", 2001)));

    for (int i = 0; i < 5; i++) fail(attempts.get(i), "unreachable");

    assertThat(ports()).containsExactly(1002, 1000, 1001, 2001, 2000);
  }

  @Test
  void whileAnAttemptIsPendingTheNextAddressStartsAfterTheConnectionAttemptDelay() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("2001:db8::1", 1001)));
    assertThat(ports()).containsExactly(1001);
    assertThat(lastTimer().delayNanos()).isEqualTo(Dialer.CONNECTION_ATTEMPT_DELAY_NANOS).isEqualTo(250_000_000L);

    lastTimer().task().run();

    assertThat(ports()).as("both in flight: a black-holed IPv6 path costs 250 ms, not a connect timeout").containsExactly(1001, 1000);
    assertThat(attempts).allSatisfy(a -> assertThat(a.handler().closeKind()).isNull());
    assertThat(dialer.attempts(PEER)).containsExactly(attempts.get(0).handler(), attempts.get(1).handler());
  }

  @Test
  void aFailureStartsTheNextAddressAtOnceAndMakesTheEarlierTimerStale() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001), local("10.0.0.3", 1002)));
    Delayed first = lastTimer();

    fail(attempts.get(0), "refused");
    assertThat(ports()).containsExactly(1000, 1001);

    first.task().run();
    assertThat(ports()).as("the timer of the attempt that failed names an earlier race step").containsExactly(1000, 1001);

    lastTimer().task().run();
    assertThat(ports()).containsExactly(1000, 1001, 1002);
  }

  @Test
  void theFirstConnectionUpCancelsTheOthersWithoutPuttingTheirAddressesInBackoff() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001), local("10.0.0.3", 1002)));
    lastTimer().task().run();
    Delayed afterSecond = lastTimer();
    LinkHandler slow = attempts.get(0).handler();
    LinkHandler fast = attempts.get(1).handler();

    assertThat(dialer.counters().inProgress()).isEqualTo(2);
    dialer.connected(PEER, fast);

    assertThat(slow.closeKind()).isEqualTo(CloseReason.RACE_LOST);
    assertThat(dialer.attempts(PEER)).containsExactly(fast);
    afterSecond.task().run();
    assertThat(ports()).as("no more racing once a connection is up").containsExactly(1000, 1001);

    dialer.finished(slow, false); // as LinkManager reports the cancelled one's close
    assertThat(dialer.counters().inProgress()).as("out of the gate's count").isEqualTo(1);
    PeerId other = PeerId.random(IDS);
    dialer.dial(other, new PeerInfo(other, 1, List.of(local("10.0.0.1", 1000))));
    assertThat(ports()).as("a cancelled attempt did not fail: its address is not in backoff").containsExactly(1000, 1001, 1000);
    assertThat(log).isEmpty();
  }

  @Test
  void aConnectionThatFailsItsHandshakeLetsTheAddressesNotYetTriedGoOn() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001)));
    dialer.connected(PEER, attempts.get(0).handler());
    lastTimer().task().run();
    assertThat(ports()).containsExactly(1000);

    fail(attempts.get(0), "TLS handshake failed");

    assertThat(ports()).containsExactly(1000, 1001);
  }

  @Test
  void aRaceWonByAnAddressThatOnlyAcceptsTcpPutsTheLosersInBackoffAfterAll() {
    // An address that accepts TCP and never proves a key must not keep another out of its backoff.
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001), local("10.0.0.3", 1002)));
    lastTimer().task().run();
    dialer.connected(PEER, attempts.get(1).handler()); // 1000 lost the race
    dialer.finished(attempts.get(0).handler(), false);

    fail(attempts.get(1), "closed during the TLS handshake");
    assertThat(ports()).as("the address not yet tried; the loser is not raced again").containsExactly(1000, 1001, 1002);
    fail(attempts.get(2), "refused");
    assertThat(log).containsExactly("exhausted", "event 10.0.0.3:1002 refused", "dialFailed refused");

    PeerId other = PeerId.random(IDS);
    dialer.dial(other, new PeerInfo(other, 1, List.of(local("10.0.0.1", 1000))));
    assertThat(ports()).hasSize(3);
    assertThat(log).last().asString().startsWith("dialFailed not dialled 10.0.0.1:1000: address in backoff");
  }

  @Test
  void anAddressWrittenTwiceOrAnotherWayIsDialledOnce() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.1", 1000), local("::ffff:10.0.0.1", 1000)));
    assertThat(delayed).as("nothing to race").isEmpty();

    fail(attempts.get(0), "refused");

    assertThat(ports()).containsExactly(1000);
    assertThat(log).containsExactly("exhausted", "event 10.0.0.1:1000 refused", "dialFailed refused");
  }

  @Test
  void aDialRacesAtMostTwoAttemptsAndOnlyWhileHalfTheGatesSlotsAreFree() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001), local("10.0.0.3", 1002)));
    lastTimer().task().run();
    lastTimer().task().run();
    assertThat(ports()).containsExactly(1000, 1001);
    fail(attempts.get(0), "refused");
    assertThat(ports()).as("a failure makes room").containsExactly(1000, 1001, 1002);

    dialer = dialer(TransportConfig.builder().maxDialsInProgress(4).build());
    attempts.clear();
    PeerId other = PeerId.random(IDS);
    dialer.dial(other, new PeerInfo(other, 1, List.of(local("10.0.1.1", 1000)))); // half the slots now taken
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("10.0.0.2", 1001)));
    lastTimer().task().run();
    assertThat(attempts).as("no race while the gate is half full").hasSize(2);
  }

  @Test
  void aPunchSignalDoesNotDropADirectConnectionThatIsAlreadyUp() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), reflexive("203.0.113.1", 2000)));
    lastTimer().task().run(); // the mapping directly, and a punch asked at once
    LinkHandler lan = attempts.get(0).handler();
    dialer.connected(PEER, lan); // the LAN address answered after all

    dialer.punch(peer(local("10.0.0.1", 1000), reflexive("203.0.113.1", 2000)), 0);

    assertThat(lan.closeKind()).isNull();
    assertThat(attempts.get(1).handler().closeKind()).isEqualTo(CloseReason.RACE_LOST);
    assertThat(punched).isEmpty();
    assertThat(dialer.attempts(PEER)).containsExactly(lan);
  }

  @Test
  void whenEveryRacingAttemptFailsTheDialFailsOnceWithTheLastError() {
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), local("2001:db8::1", 1001)));
    lastTimer().task().run();

    fail(attempts.get(1), "network unreachable");
    assertThat(log).as("the other is still in flight").isEmpty();
    assertThat(dialer.dialling(PEER)).isTrue();

    fail(attempts.get(0), "timed out");
    assertThat(log).as("the address is the one whose error it is")
        .containsExactly("exhausted", "event 2001:db8:0:0:0:0:0:1:1001 timed out", "dialFailed timed out");
    assertThat(dialer.dialling(PEER)).isFalse();
  }

  @Test
  void aPunchSignalCancelsEveryRacingAttempt() {
    punchesGoTo(true);
    dialer.dial(PEER, peer(local("10.0.0.1", 1000), reflexive("203.0.113.1", 2000)));
    lastTimer().task().run();
    assertThat(punchRequests).as("asked as the dial tries the mapping").containsExactly(PEER);

    dialer.punch(peer(local("10.0.0.1", 1000), reflexive("203.0.113.1", 2000)), 0);
    lastTimer().task().run();

    assertThat(attempts).hasSize(2).allSatisfy(a -> assertThat(a.handler().closeKind()).isEqualTo(CloseReason.DIAL_CANCELLED));
    assertThat(punched).singleElement().satisfies(a -> assertThat(a.address().getPort()).isEqualTo(2000));
  }
}
