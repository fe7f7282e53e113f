package dev.overlay.auth;

import static dev.overlay.core.testing.TestNode.KEYS;
import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.AuthConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.TestNode;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import dev.overlay.protocol.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Messages are authenticated by their publisher's seal before anything else sees them (issue 9,
 * section 1). Each test is an attack that worked before seals: a neighbour delivering forged
 * messages in a publisher's name, or silencing it with forged sequence numbers.
 */
class PublisherAuthenticationTest {

  private static final PeerId PUB = id(40);
  private static final PeerId MALLORY = id(66);
  private static final long SESSION = 77;
  private final TestNode node = new TestNode(1);

  private static Message.Data real(long seq) {
    return TestNode.sealed(PUB, SESSION, seq, 1, ("real " + seq).getBytes());
  }

  /** A message in PUB's name, sealed with Mallory's key. */
  private static Message.Data forged(long seq) {
    return TestNode.sealed(KEYS.of(MALLORY), new Message.Data(STREAM, PUB, SESSION, seq, 1, ("fake " + seq).getBytes()));
  }

  private static List<DropReason> drops(List<Output> c) {
    List<DropReason> out = new ArrayList<>();
    for (Output x : c) {
      if (x instanceof Output.Emit e && e.event() instanceof OverlayEvent.Dropped d) out.add(d.reason());
    }
    return out;
  }

  private static long delivered(List<Output> c) {
    return c.stream().filter(x -> x instanceof Output.Deliver).count();
  }

  private static long dataSent(List<Output> c) {
    return c.stream().filter(x -> x instanceof Output.Send s && s.message() instanceof Message.Data).count();
  }

  @Test
  void aForgedMessageIsDroppedItsSenderCutOffAndTheRealOneStillDelivered() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.receive(2, forged(5));
    assertThat(delivered(c)).isZero();
    assertThat(dataSent(c)).isZero();
    assertThat(drops(c)).containsExactly(DropReason.FORGED);
    assertThat(c).contains(new Output.Disconnect(id(2)));
    assertThat(node.stream().membership().isActive(id(2))).isFalse();
    // Nothing was recorded as seen: the real message 5 is delivered when it comes.
    assertThat(delivered(node.receive(3, real(5)))).isOne();
  }

  @Test
  void aRealSealWithAnAlteredPayloadIsForged() {
    node.joinWithNeighbors(2, 3);
    Message.Data r = real(1);
    Message.Data altered = new Message.Data(STREAM, PUB, SESSION, 1, 1, "altered".getBytes(), r.seal(), true);
    List<Output> c = node.receive(2, altered);
    assertThat(drops(c)).containsExactly(DropReason.FORGED);
    assertThat(delivered(c)).isZero();
  }

  @Test
  void aSealWhoseSignatureWasTamperedWithIsForged() {
    node.joinWithNeighbors(2, 3);
    Message.Data r = real(1);
    byte[] sig = r.seal().signature().clone();
    sig[0] ^= 1;
    Seal bad = new Seal(r.seal().firstSeq(), r.seal().count(), r.seal().digests(), r.seal().publicKey(), sig);
    assertThat(drops(node.receive(2, r.withSeal(bad, true)))).containsExactly(DropReason.FORGED);
  }

  @Test
  void forgedNumbersFarAheadCannotSilenceAPublisher() {
    node.joinWithNeighbors(2, 3);
    node.receive(3, real(1));
    for (int i = 1; i <= 40; i++) node.receive(2, forged(10_000_000L * i)); // 2 is cut off at the first
    node.connected(4);
    node.receive(4, new Message.Neighbor(STREAM, TestNode.info(4), true));
    List<Output> all = new ArrayList<>();
    for (long seq = 2; seq <= 100; seq++) all.addAll(node.receive(3, real(seq)));
    assertThat(delivered(all)).isEqualTo(99);
    assertThat(all).noneMatch(x -> x instanceof Output.Emit e && e.event() instanceof OverlayEvent.GapAbandoned);
  }

  @Test
  void messagesWithoutASealAreDroppedButTheirSenderKeepsItsLink() {
    node.joinWithNeighbors(2, 3);
    List<Output> c = node.receive(2, new Message.Data(STREAM, PUB, SESSION, 1, 1, new byte[] {1}));
    assertThat(drops(c)).containsExactly(DropReason.UNSEALED);
    assertThat(delivered(c)).isZero();
    assertThat(c).noneMatch(x -> x instanceof Output.Disconnect);
  }

  @Test
  void everyMessageOfABatchIsAuthenticatedByTheSealThatCameBeforeIt() {
    node.joinWithNeighbors(2, 3);
    Signatures pub = KEYS.of(PUB);
    SealFormat f = new SealFormat();
    List<Message.Data> batch = new ArrayList<>();
    byte[] digests = new byte[3 * Seal.DIGEST_BYTES];
    for (int i = 0; i < 3; i++) {
      Message.Data m = new Message.Data(STREAM, PUB, SESSION, 10 + i, 1, new byte[] {(byte) i});
      f.digest(m, digests, i * Seal.DIGEST_BYTES);
      batch.add(m);
    }
    Seal seal = new Seal(10, 3, digests, pub.publicKey(), pub.sign(SealFormat.signedDigest(STREAM, PUB, SESSION, 10, 3, digests)));
    List<Output> c = new ArrayList<>();
    c.addAll(node.receive(2, batch.get(0).withSeal(seal, true)));
    c.addAll(node.receive(2, batch.get(1)));
    c.addAll(node.receive(2, batch.get(2)));
    assertThat(delivered(c)).isEqualTo(3);
    assertThat(drops(c)).isEmpty();
    assertThat(node.stream().authStats().sealsVerified()).isOne(); // one signature for the batch
  }

  @Test
  void aStreamOpenToSomePublishersOnlyDropsTheOthersWithoutForwarding() {
    TestNode gw = new TestNode(1);
    gw.on(new Event.JoinStream(STREAM, Set.of(PUB)));
    for (int p : new int[] {2, 3}) {
      gw.connected(p);
      gw.receive(p, new Message.Neighbor(STREAM, TestNode.info(p), true));
    }
    gw.out.clear();
    List<Output> c = gw.receive(2, TestNode.sealed(MALLORY, 5, 1, 1, new byte[] {1})); // validly sealed by its own publisher
    assertThat(drops(c)).containsExactly(DropReason.NOT_PERMITTED);
    assertThat(delivered(c)).isZero();
    assertThat(dataSent(c)).isZero();
    assertThat(delivered(gw.receive(2, real(1)))).isOne();
  }

  @Test
  void ourOwnMessagesAreSealedAtOnceWhenQuietAndBatchedWhenBusy() {
    node.joinWithNeighbors(2, 3);
    node.advance(1_000 * MS);
    List<Output> first = node.on(new Event.Publish(STREAM, new byte[] {1}));
    List<Message.Data> sent = sentData(first);
    assertThat(sent).hasSize(2).allSatisfy(d -> assertThat(d.sealOnWire()).isTrue());

    List<Output> busy = new ArrayList<>();
    busy.addAll(node.on(new Event.Publish(STREAM, new byte[] {2})));
    busy.addAll(node.on(new Event.Publish(STREAM, new byte[] {3})));
    assertThat(sentData(busy)).isEmpty(); // waiting for the next seal, at most sealInterval
    assertThat(busy).contains(new Output.Schedule(new Timer.SealFlush(STREAM), NodeConfigDefaults.SEAL_INTERVAL));

    node.advance(NodeConfigDefaults.SEAL_INTERVAL);
    List<Message.Data> batch = sentData(node.on(new Event.TimerFired(new Timer.SealFlush(STREAM))));
    assertThat(batch).extracting(Message.Data::seq).containsExactly(2L, 2L, 3L, 3L);
    assertThat(batch.get(0).seal().count()).isEqualTo(2);
    assertThat(batch).filteredOn(Message.Data::sealOnWire).hasSize(2).extracting(Message.Data::seq).containsOnly(2L);
  }

  @Test
  void verifyingIsBudgetedPerNeighbour() {
    node.joinWithNeighbors(2, 3);
    List<DropReason> dropped = new ArrayList<>();
    for (int seq = 1; seq <= 5_000; seq++) dropped.addAll(drops(node.receive(2, real(seq)))); // a seal per message, all at one instant
    assertThat(dropped).contains(DropReason.RATE_LIMITED);
    assertThat(node.stream().authStats().sealsVerified()).isLessThanOrEqualTo(AuthConfig.defaults().verificationsPerSecondPerPublisher());
  }

  private static List<Message.Data> sentData(List<Output> c) {
    List<Message.Data> out = new ArrayList<>();
    for (Output x : c) {
      if (x instanceof Output.Send s && s.message() instanceof Message.Data d) out.add(d);
    }
    return out;
  }

  /** The defaults these tests rely on. */
  private static final class NodeConfigDefaults {
    static final long SEAL_INTERVAL = AuthConfig.defaults().sealIntervalNanos();
  }
}
