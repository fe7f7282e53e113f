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
import org.junit.jupiter.api.Test;

/**
 * What one identity, or one source address, can take of a tracker, and how restarts and stale
 * statuses are answered (issue 9, section 4).
 */
class TrackerQuotaTest {

  private static final long S = 1_000_000_000L;
  private static final StreamId A = StreamId.of("a");

  record Sent(PeerId to, Message.TrackerMessage m) {}

  private final List<Sent> sent = new ArrayList<>();
  private final TrackerState.Replies out = (to, m) -> sent.add(new Sent(to, m));

  private static PeerInfo node(int i, long incarnation) {
    byte[] id = new byte[32];
    id[0] = (byte) i;
    id[1] = (byte) (i >> 8);
    id[2] = 7;
    return new PeerInfo(PeerId.fromBytes(id), incarnation, List.of(new Candidate(Candidate.Kind.LOCAL, "10.0.0.1", 30301)));
  }

  private static PeerInfo node(int i) {
    return node(i, 1);
  }

  private static Message.TrackerRegister reg(StreamId s, PeerInfo n, long counter, boolean want) {
    return new Message.TrackerRegister(s, n, counter, want, 0);
  }

  private Message.TrackerMessage last() {
    return sent.get(sent.size() - 1).m();
  }

  private static Message.RefusalReason refusal(Message.TrackerMessage m) {
    return m instanceof Message.TrackerRefused r ? r.reason() : null;
  }

  @Test
  void aNodeRestartedWithItsKeyIsTakenAtOnceThoughItsCounterStartsOver() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    t.handle(0, node(2).id(), "10.0.0.2", reg(A, node(2), 1, false), out);
    t.handle(0, node(1).id(), "10.0.0.1", reg(A, node(1, 100), 40, false), out);
    t.handle(S, node(1).id(), "10.0.0.1", reg(A, node(1, 200), 1, true), out); // restarted: incarnation up, counter 1
    assertThat(last()).isInstanceOfSatisfying(Message.TrackerPeers.class, p -> {
      assertThat(p.counter()).isEqualTo(1);
      assertThat(p.peers()).extracting(PeerInfo::id).containsExactly(node(2).id());
    });
    assertThat(t.stats().stale()).isZero();
    assertThat(t.registrations()).isEqualTo(2);
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void aStaleStatusIsAnsweredNotDroppedSilently() {
    TrackerState t = new TrackerState(TrackerConfig.defaults(), new SplittableRandom(1));
    t.handle(0, node(2).id(), "10.0.0.2", reg(A, node(2), 1, false), out);
    t.handle(0, node(1).id(), "10.0.0.1", reg(A, node(1), 5, false), out);
    t.handle(S, node(1).id(), "10.0.0.1", reg(A, node(1), 3, false), out);
    assertThat(refusal(last())).isEqualTo(Message.RefusalReason.STALE);
    t.handle(S, node(1).id(), "10.0.0.1", reg(A, node(1), 4, true), out); // a join with a stale counter still gets peers
    assertThat(last()).isInstanceOfSatisfying(Message.TrackerPeers.class, p -> assertThat(p.counter()).isEqualTo(4));
    assertThat(t.stats().stale()).isEqualTo(2);
  }

  @Test
  void oneIdentityHoldsABoundedNumberOfStreams() {
    TrackerState t = new TrackerState(TrackerConfig.builder().maxStreamsPerNode(3).build(), new SplittableRandom(1));
    for (int s = 0; s < 3; s++) t.handle(0, node(1).id(), "10.0.0.1", reg(StreamId.of("s" + s), node(1), 1, false), out);
    assertThat(sent).isEmpty();
    t.handle(0, node(1).id(), "10.0.0.1", reg(StreamId.of("s3"), node(1), 1, false), out);
    assertThat(refusal(last())).isEqualTo(Message.RefusalReason.FULL);
    assertThat(((Message.TrackerRefused) last()).detail()).contains("this node");
    assertThat(t.streams()).isEqualTo(3);
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void oneSourceAddressHoldsABoundedNumberOfRegistrationsWhateverItsIdentities() {
    TrackerState t = new TrackerState(TrackerConfig.builder().maxRegistrationsPerAddress(5).build(), new SplittableRandom(1));
    for (int i = 0; i < 5; i++) t.handle(0, node(i).id(), "198.51.100.7", reg(StreamId.of("s" + i), node(i), 1, false), out);
    t.handle(0, node(9).id(), "198.51.100.7", reg(StreamId.of("s9"), node(9), 1, false), out);
    assertThat(refusal(last())).isEqualTo(Message.RefusalReason.FULL);
    sent.clear();
    t.handle(0, node(10).id(), "203.0.113.9", reg(StreamId.of("s10"), node(10), 1, false), out);
    assertThat(sent).isEmpty(); // another address is not held back
    t.handle(0, node(0).id(), "198.51.100.7", new Message.TrackerLeave(StreamId.of("s0"), 2), out);
    t.handle(0, node(9).id(), "198.51.100.7", reg(StreamId.of("s9"), node(9), 2, false), out);
    assertThat(t.members(StreamId.of("s9"))).containsExactly(node(9).id()); // a slot freed by a leave is taken
    assertThat(t.invariantViolations()).isEmpty();
  }

  @Test
  void aStreamTakesABoundedNumberOfIdentitiesFromOneAddress() {
    TrackerState t = new TrackerState(TrackerConfig.builder().maxIdentitiesPerAddressPerStream(4).build(), new SplittableRandom(1));
    for (int i = 0; i < 10; i++) t.handle(0, node(i).id(), "198.51.100.7", reg(A, node(i), 1, false), out);
    assertThat(t.members(A)).hasSize(4);
    assertThat(sent).hasSize(6).allSatisfy(x -> assertThat(refusal(x.m())).isEqualTo(Message.RefusalReason.FULL));
  }

  @Test
  void introductionsPreferEstablishedMembersAndSpreadOverAddresses() {
    TrackerConfig config = TrackerConfig.builder().registrationTtl(Duration.ofHours(1)).establishedAge(Duration.ofMinutes(10))
        .maxIdentitiesPerAddressPerStream(1000).maxRegistrationsPerAddress(10_000).build();
    TrackerState t = new TrackerState(config, new SplittableRandom(1));
    List<PeerId> honest = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      t.handle(0, node(i).id(), "192.0." + (10 + i) + ".1", reg(A, node(i), 1, false), out);
      honest.add(node(i).id());
    }
    long later = 20 * 60 * S;
    java.util.Set<PeerId> sybilIds = new java.util.HashSet<>();
    for (int i = 100; i < 200; i++) {
      t.handle(later, node(i).id(), "198.51.100.7", reg(A, node(i), 1, false), out);
      sybilIds.add(node(i).id());
    }
    int sybils = 0;
    int answers = 0;
    for (int j = 0; j < 40; j++) {
      int newcomer = 1000 + j;
      sent.clear();
      t.handle(later + S, node(newcomer).id(), "203.0." + j + ".1", reg(A, node(newcomer), 1, true), out);
      Message.TrackerPeers p = (Message.TrackerPeers) last();
      assertThat(p.peers()).extracting(PeerInfo::id).containsAll(honest);
      for (PeerInfo x : p.peers()) {
        answers++;
        if (sybilIds.contains(x.id())) sybils++;
      }
    }
    assertThat((double) sybils / answers).isLessThan(0.5);
  }
}
