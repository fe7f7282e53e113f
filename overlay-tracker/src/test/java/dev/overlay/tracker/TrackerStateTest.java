package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class TrackerStateTest {

  private static final long S = 1_000_000_000L;
  private static final StreamId A = StreamId.of("a");
  private static final StreamId B = StreamId.of("b");

  record Sent(PeerId to, Message.TrackerMessage m) {}

  private final List<Sent> sent = new ArrayList<>();
  private final TrackerState.Replies out = (to, m) -> sent.add(new Sent(to, m));

  private static PeerInfo node(int i) {
    byte[] id = new byte[32];
    id[0] = (byte) i;
    id[1] = (byte) (i >> 8);
    return new PeerInfo(PeerId.fromBytes(id), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "10.0.0." + (i % 250), 30301)));
  }

  private static Message.TrackerRegister reg(StreamId s, PeerInfo n, long counter, boolean want) {
    return new Message.TrackerRegister(s, n, counter, want, 0);
  }

  private Message.TrackerMessage last() {
    return sent.get(sent.size() - 1).m();
  }

  @Test
  void aJoinerIsIntroducedToOtherLiveMembersNeverToItself() {
    TrackerState t = new TrackerState(TrackerConfig.builder().peersPerAnswer(3).build(), new SplittableRandom(1));
    for (int i = 0; i < 10; i++) t.handle(0, node(i).id(), reg(A, node(i), 1, false), out);
    assertThat(sent).isEmpty(); // heartbeats get no answer
    t.handle(1, node(42).id(), reg(A, node(42), 1, true), out);
    Message.TrackerPeers peers = (Message.TrackerPeers) last();
    assertThat(peers.peers()).hasSize(3).doesNotContain(node(42)).allMatch(p -> p.id().equals(node(p.id().toBytes()[0]).id()));
    assertThat(peers.counter()).isEqualTo(1);
    assertThat(t.registrations()).isEqualTo(11);
    assertThat(t.members(B)).isEmpty();
    assertThat(t.invariantViolations()).isEmpty();
  }

  // ---- Storage nodes ---------------------------------------------------------------------------

  private static Message.TrackerRegister storageReg(StreamId s, PeerInfo n, long counter, boolean storage) {
    return new Message.TrackerRegister(s, n, counter, false, 0, storage);
  }

  private Message.TrackerPeers join(TrackerState t, long now, int i) {
    t.handle(now, node(i).id(), "10.1." + i + ".1", reg(A, node(i), 1, true), out);
    return (Message.TrackerPeers) last();
  }

  @Test
  void storageNodesAreNamedToJoinersLongestRegisteredFirstNeverToThemselves() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    for (int i = 1; i <= 3; i++) t.handle(i, node(i).id(), "10.0." + i + ".1", storageReg(A, node(i), 1, true), out);
    for (int i = 10; i < 15; i++) t.handle(5, node(i).id(), "10.0." + i + ".1", reg(A, node(i), 1, false), out);
    assertThat(join(t, 6, 42).storageNodes()).containsExactly(node(1), node(2), node(3));
    t.handle(7, node(2).id(), "10.0.2.1", new Message.TrackerRegister(A, node(2), 2, true, 0, true), out);
    assertThat(((Message.TrackerPeers) last()).storageNodes()).as("a storage node is not named to itself").containsExactly(node(1), node(3));
    t.handle(8, node(1).id(), "10.0.1.1", storageReg(A, node(1), 2, false), out); // keeps no history any more
    assertThat(join(t, 9, 43).storageNodes()).containsExactly(node(2), node(3));
    t.handle(10, node(3).id(), new Message.TrackerLeave(A, 2), out);
    assertThat(join(t, 11, 44).storageNodes()).containsExactly(node(2));
    assertThat(t.members(B)).isEmpty();
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void aFloodOfStorageClaimsCannotCrowdOutAnEstablishedStorageNode() {
    TrackerState t = new TrackerState(TrackerConfig.builder().maxIdentitiesPerAddressPerStream(1_000).build(), new SplittableRandom(1));
    t.handle(0, node(1).id(), "10.0.1.1", storageReg(A, node(1), 1, true), out);
    for (int i = 100; i < 300; i++) t.handle(S, node(i).id(), "10.9.9." + (i % 250), storageReg(A, node(i), 1, true), out);
    List<PeerInfo> named = join(t, 2 * S, 42).storageNodes();
    assertThat(named).as("the established one first, then at most two from the claimants' address range")
        .hasSize(3).startsWith(node(1));
    assertThat(named.subList(1, 3)).allSatisfy(p -> assertThat(p.id()).isNotEqualTo(node(1).id()));
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void theFirstMemberGetsAnEmptyAnswer() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    t.handle(0, node(1).id(), reg(A, node(1), 1, true), out);
    assertThat(((Message.TrackerPeers) last()).peers()).isEmpty();
  }

  @Test
  void anOlderStatusThanTheOneHeldIsStale() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    t.handle(0, node(1).id(), reg(A, node(1), 5, false), out);
    t.handle(1, node(1).id(), new Message.TrackerLeave(A, 4), out); // overtaken: the node re-registered after it
    assertThat(t.members(A)).containsExactly(node(1).id());
    t.handle(2, node(1).id(), reg(A, node(1), 3, false), out);
    assertThat(((Message.TrackerRefused) last()).reason()).isEqualTo(Message.RefusalReason.STALE); // answered, not dropped
    assertThat(t.stats().stale()).isEqualTo(2);
    t.handle(3, node(1).id(), new Message.TrackerLeave(A, 6), out);
    assertThat(t.members(A)).isEmpty();
    assertThat(t.streams()).isZero();
  }

  @Test
  void registrationsExpireWithoutHeartbeatsAndExpiredOnesAreNotHandedOut() {
    TrackerState t = new TrackerState(TrackerConfig.builder().registrationTtl(Duration.ofSeconds(10)).build(), new SplittableRandom(1));
    t.handle(0, node(1).id(), reg(A, node(1), 1, false), out);
    t.handle(8 * S, node(2).id(), reg(A, node(2), 1, false), out);
    t.handle(11 * S, node(3).id(), reg(A, node(3), 1, true), out);
    assertThat(((Message.TrackerPeers) last()).peers()).containsExactly(node(2)); // node 1 is 11 s old
    assertThat(t.expire(11 * S)).isEqualTo(1);
    assertThat(t.members(A)).containsExactlyInAnyOrder(node(2).id(), node(3).id());
    assertThat(t.expire(30 * S)).isEqualTo(2);
    assertThat(t.streams()).isZero();
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void aNodeRegistersOnlyItself() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    t.handle(0, node(1).id(), reg(A, node(2), 1, true), out);
    assertThat(last()).isInstanceOfSatisfying(Message.TrackerRefused.class,
        r -> assertThat(r.reason()).isEqualTo(Message.RefusalReason.INVALID));
    assertThat(t.registrations()).isZero();
  }

  @Test
  void aFloodFromOneNodeIsRateLimitedWithARetryTimeAndOthersAreServed() {
    TrackerState t = new TrackerState(TrackerConfig.builder().requestsPerSecond(10).requestBurst(20).build(), new SplittableRandom(1));
    int refused = 0;
    for (int i = 1; i <= 1000; i++) {
      t.handle(0, node(1).id(), reg(A, node(1), i, true), out);
      if (last() instanceof Message.TrackerRefused r) {
        assertThat(r.reason()).isEqualTo(Message.RefusalReason.RATE_LIMITED);
        assertThat(r.retryAfterMillis()).isBetween(1L, 100L);
        refused++;
      }
    }
    assertThat(refused).isEqualTo(980);
    t.handle(0, node(2).id(), reg(A, node(2), 1, true), out);
    assertThat(((Message.TrackerPeers) last()).peers()).containsExactly(node(1));
    t.handle(S, node(1).id(), reg(A, node(1), 2000, true), out); // a second later: 10 tokens back
    assertThat(last()).isInstanceOf(Message.TrackerPeers.class);
  }

  @Test
  void fullTablesRefuseNewcomersButKeepServingMembers() {
    TrackerState t = new TrackerState(TrackerConfig.builder().maxStreams(1).maxMembersPerStream(2).build(), new SplittableRandom(1));
    t.handle(0, node(1).id(), reg(A, node(1), 1, false), out);
    t.handle(0, node(2).id(), reg(A, node(2), 1, false), out);
    t.handle(0, node(3).id(), reg(A, node(3), 1, true), out);
    assertThat(last()).isInstanceOfSatisfying(Message.TrackerRefused.class, r -> {
      assertThat(r.reason()).isEqualTo(Message.RefusalReason.FULL);
      assertThat(r.detail()).contains("members of this stream");
    });
    t.handle(0, node(3).id(), reg(B, node(3), 1, true), out);
    assertThat(((Message.TrackerRefused) last()).detail()).contains("streams (1)");
    t.handle(0, node(1).id(), reg(A, node(1), 2, true), out);
    assertThat(((Message.TrackerPeers) last()).peers()).containsExactly(node(2));
    assertThat(t.stats().refusedFull()).isEqualTo(2);
  }

  /** Random registrations, heartbeats, leaves, expiries and floods from many nodes: the tables stay consistent and capped. */
  @Property(tries = 60)
  void tablesStayConsistentAndWithinTheirCaps(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int maxMembers) {
    TrackerConfig config = TrackerConfig.builder().maxStreams(5).maxMembersPerStream(maxMembers).maxRegistrations(60)
        .maxRateLimitedNodes(30).peersPerAnswer(4).registrationTtl(Duration.ofSeconds(20)).build();
    SplittableRandom rng = new SplittableRandom(seed);
    TrackerState t = new TrackerState(config, new SplittableRandom(seed));
    long[] counters = new long[100];
    long now = 0;
    for (int step = 0; step < 2_000; step++) {
      int n = rng.nextInt(100);
      StreamId s = StreamId.of("s" + rng.nextInt(8));
      now += rng.nextLong(S / 4);
      sent.clear();
      switch (rng.nextInt(10)) {
        case 0 -> t.handle(now, node(n).id(), new Message.TrackerLeave(s, ++counters[n]), out);
        case 1 -> t.expire(now);
        case 2 -> t.handle(now, node(n).id(), reg(s, node(n), counters[n] - rng.nextInt(3), true), out); // maybe stale
        default -> t.handle(now, node(n).id(), reg(s, node(n), ++counters[n], rng.nextBoolean()), out);
      }
      assertThat(t.invariantViolations()).isEmpty();
      for (Sent x : sent) {
        assertThat(x.to()).isEqualTo(node(n).id());
        if (x.m() instanceof Message.TrackerPeers p) {
          assertThat(p.peers()).hasSizeLessThanOrEqualTo(4).noneMatch(pi -> pi.id().equals(node(n).id()));
          assertThat(p.peers()).doesNotHaveDuplicates();
        }
      }
    }
  }

  // ---- Hole punching ----------------------------------------------------------------------

  /** A node behind a NAT at {@code publicIp}: a LOCAL candidate, a REFLEXIVE one, and one more claiming another address. */
  private static PeerInfo natted(int i, String publicIp) {
    PeerInfo n = node(i);
    return new PeerInfo(n.id(), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "192.168.1.10", 7000),
        new Candidate(Candidate.Kind.REFLEXIVE, publicIp, 7000 + i), new Candidate(Candidate.Kind.REFLEXIVE, "198.51.100.99", 80)));
  }

  @Test
  void twoNodesOfOneStreamAreBothToldToPunchEachOnlyTheOthersAddressAsTheTrackerSeesIt() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    PeerInfo a = natted(1, "203.0.113.1");
    PeerInfo b = natted(2, "203.0.113.2");
    t.handle(0, a.id(), "203.0.113.1", reg(B, a, 1, false), out);
    t.handle(0, a.id(), "203.0.113.1", reg(A, a, 2, false), out);
    t.handle(0, b.id(), "203.0.113.2", reg(A, b, 1, false), out);

    t.handle(1, a.id(), "203.0.113.1", new Message.PunchRequest(B, b.id(), 77), out); // names a stream b is not in

    assertThat(sent).hasSize(2);
    assertThat(sent.get(0).to()).isEqualTo(a.id());
    assertThat(sent.get(0).m()).isEqualTo(new Message.PunchGo(A, new PeerInfo(b.id(), 1,
        List.of(new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.2", 7002))), TrackerState.PUNCH_DELAY_MILLIS, 77));
    assertThat(sent.get(1).to()).isEqualTo(b.id());
    assertThat(sent.get(1).m()).isEqualTo(new Message.PunchGo(A, new PeerInfo(a.id(), 1,
        List.of(new Candidate(Candidate.Kind.REFLEXIVE, "203.0.113.1", 7001))),
        TrackerState.PUNCH_DELAY_MILLIS + TrackerState.PUNCH_STAGGER_MILLIS, 77));
    assertThat(t.stats().punchesArranged()).isEqualTo(1);
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void aPunchIsRefusedWithoutACommonStreamOrAReflexiveCandidateAtTheLinksAddress() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    PeerInfo a = natted(1, "203.0.113.1");
    PeerInfo b = natted(2, "203.0.113.2");
    PeerInfo c = natted(3, "203.0.113.3");
    t.handle(0, a.id(), "203.0.113.1", reg(A, a, 1, false), out);
    t.handle(0, b.id(), "203.0.113.2", reg(B, b, 1, false), out);
    t.handle(0, c.id(), "198.51.100.7", reg(A, c, 1, false), out); // its reflexive candidates name other addresses

    t.handle(1, a.id(), "203.0.113.1", new Message.PunchRequest(A, b.id(), 1), out);
    assertThat(last()).isEqualTo(new Message.PunchRefused(A, b.id(), 1, "no stream in common with that node at this tracker"));
    t.handle(2, a.id(), "203.0.113.1", new Message.PunchRequest(A, c.id(), 2), out);
    assertThat(((Message.PunchRefused) last()).detail()).startsWith("that node has no reflexive candidate at the address");
    t.handle(3, a.id(), "203.0.113.1", new Message.PunchRequest(A, a.id(), 3), out);
    assertThat(((Message.PunchRefused) last()).detail()).isEqualTo("a node cannot punch to itself");

    assertThat(sent).hasSize(3).allMatch(x -> x.to().equals(a.id()));
    assertThat(t.stats().punchesRefused()).isEqualTo(3);
    assertThat(t.stats().punchesArranged()).isZero();
  }

  @Test
  void punchRequestsShareTheNodesRequestRate() {
    TrackerState t = new TrackerState(TrackerConfig.builder().requestsPerSecond(1).requestBurst(1).build(), new SplittableRandom(1));
    PeerInfo a = natted(1, "203.0.113.1");
    t.handle(0, a.id(), "203.0.113.1", reg(A, a, 1, false), out); // the one token
    t.handle(1, a.id(), "203.0.113.1", new Message.PunchRequest(A, node(2).id(), 1), out);
    assertThat(((Message.PunchRefused) last()).detail()).startsWith("more than 1.0 requests a second");
    assertThat(t.stats().refusedRateLimited()).isEqualTo(1);
  }

  @Test
  void aRelayIsArrangedOnlyByARelayingTrackerForNodesOfOneStreamWithOneTicketForBoth() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    PeerInfo a = natted(1, "203.0.113.1");
    PeerInfo b = natted(2, "203.0.113.2");
    t.handle(0, a.id(), "203.0.113.1", reg(A, a, 1, false), out);
    t.handle(0, b.id(), "203.0.113.2", reg(A, b, 1, false), out);
    t.handle(1, a.id(), "203.0.113.1", new Message.RelayRequest(A, b.id(), 5), out);
    assertThat(last()).isEqualTo(new Message.PunchRefused(A, b.id(), 5, "this tracker does not relay"));

    byte[] tokenA = new byte[16];
    tokenA[0] = 42;
    byte[] tokenB = new byte[16];
    tokenB[0] = 43;
    List<String> opened = new ArrayList<>();
    t.relay((now, x, y) -> {
      opened.add(x + " " + y);
      return new TrackerState.Relay.Offer("203.0.113.10", 7001, tokenA, tokenB, null);
    });
    sent.clear();
    t.handle(2, a.id(), "203.0.113.1", new Message.RelayRequest(A, b.id(), 6), out);

    assertThat(opened).containsExactly(a.id() + " " + b.id());
    assertThat(sent).as("each its own token").containsExactly(new Sent(a.id(), new Message.RelayGo(A, b, "203.0.113.10", 7001, tokenA, 6)),
        new Sent(b.id(), new Message.RelayGo(A, a, "203.0.113.10", 7001, tokenB, 6)));
    t.handle(3, a.id(), "203.0.113.1", new Message.RelayRequest(A, node(9).id(), 7), out);
    assertThat(((Message.PunchRefused) last()).detail()).isEqualTo("no stream in common with that node at this tracker");
    assertThat(t.stats().relaysArranged()).isEqualTo(1);
    assertThat(t.stats().relaysRefused()).isEqualTo(2);
  }

  @Test
  void aNodeWhoseLinkSpeaksNoPunchingOrIsGoneIsNeverSentASignal() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    PeerInfo a = natted(1, "203.0.113.1");
    PeerInfo b = natted(2, "203.0.113.2");
    PeerInfo c = natted(3, "203.0.113.3");
    java.util.Map<PeerId, Integer> versions = java.util.Map.of(a.id(), 3, b.id(), 2);
    TrackerState.Replies replies = new TrackerState.Replies() {
      @Override
      public void send(PeerId to, Message.TrackerMessage m) {
        sent.add(new Sent(to, m));
      }

      @Override
      public int version(PeerId node) {
        return versions.getOrDefault(node, 0);
      }
    };
    t.handle(0, a.id(), "203.0.113.1", reg(A, a, 1, false), replies);
    t.handle(0, b.id(), "203.0.113.2", reg(A, b, 1, false), replies);
    t.handle(0, c.id(), "203.0.113.3", reg(A, c, 1, false), replies);

    t.handle(1, a.id(), "203.0.113.1", new Message.PunchRequest(A, b.id(), 1), replies);
    assertThat(((Message.PunchRefused) last()).detail()).isEqualTo("that node speaks protocol version 2, without hole punching");
    t.handle(2, a.id(), "203.0.113.1", new Message.PunchRequest(A, c.id(), 2), replies);
    assertThat(((Message.PunchRefused) last()).detail()).isEqualTo("that node has no link to this tracker now");
    assertThat(sent).allMatch(x -> x.to().equals(a.id()));
  }

  @Test
  void aTrackerConnectsBackOnlyToTheCandidatesAtTheAddressTheNodeTalksFrom() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    List<String> checked = new ArrayList<>();
    t.dialBack((node, at, done) -> {
      checked.add(node + " " + at);
      done.accept(at.get(0).getAddress().getHostAddress() + ":" + at.get(0).getPort(), "reached");
    });
    PeerId id = node(1).id();
    PeerInfo open = new PeerInfo(id, 1, List.of(new Candidate(Candidate.Kind.LOCAL, "203.0.113.7", 7000),
        new Candidate(Candidate.Kind.LOCAL, "198.51.100.1", 25))); // the second: someone else's host
    t.handle(0, id, "203.0.113.7", reg(A, open, 1, false), out);
    t.handle(1, id, "203.0.113.7", new Message.ReachabilityRequest(A, 9), out);

    assertThat(checked).containsExactly(id + " [/203.0.113.7:7000]");
    assertThat(last()).isEqualTo(new Message.Reachability(A, 9, Message.Reachability.Outcome.REACHED, "203.0.113.7:7000", "reached"));
    t.handle(30_000_000_000L, id, "203.0.113.7", new Message.ReachabilityRequest(A, 10), out);
    assertThat(last()).isEqualTo(new Message.Reachability(A, 10, Message.Reachability.Outcome.REFUSED, "", "checked less than a minute ago"));

    PeerInfo natted = natted(2, "203.0.113.2");
    t.handle(2, natted.id(), "198.51.100.50", reg(A, natted, 1, false), out); // seen at another address than it claims
    t.handle(3, natted.id(), "198.51.100.50", new Message.ReachabilityRequest(A, 1), out);
    assertThat(((Message.Reachability) last()).detail()).startsWith("no candidate at the address this tracker sees the node at (198.51.100.50)");
    assertThat(((Message.Reachability) last()).outcome()).as("not a verdict").isEqualTo(Message.Reachability.Outcome.REFUSED);
    t.handle(4, node(3).id(), "203.0.113.3", new Message.ReachabilityRequest(A, 1), out);
    assertThat(((Message.Reachability) last()).detail()).isEqualTo("not registered in that stream here");
    assertThat(checked).hasSize(1);
    assertThat(t.stats().reachabilityRefused()).isEqualTo(3);
  }
}
