package dev.overlay.core.testing;

import dev.overlay.auth.SealFormat;
import dev.overlay.auth.Signatures;
import dev.overlay.config.NodeConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.node.NodeState;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import dev.overlay.stream.StreamState;
import java.util.List;
import java.util.SplittableRandom;

/** Drives one {@link NodeState} by hand and records what it does. Peers are numbered. */
public final class TestNode {

  public static final StreamId STREAM = StreamId.of("test-stream");
  public static final long MS = 1_000_000;
  /** Every test node's and test publisher's key. */
  public static final TestKeys KEYS = new TestKeys(42);

  public final RecordingOutbox out = new RecordingOutbox();
  public final NodeState state;
  public final PeerInfo self;
  public long now;

  public TestNode(int n) {
    this(n, NodeConfig.defaults());
  }

  public TestNode(int n, NodeConfig config) {
    self = info(n);
    state = new NodeState(config, self, new SplittableRandom(n), KEYS.of(self.id()), out);
    state.start(0);
    out.clear();
  }

  /** Peer {@code n}'s id: distinct, and stable across runs. */
  public static PeerId id(int n) {
    return new PeerId(0x5EED_0000L + n, n, n * 31L, n * 131L);
  }

  public static PeerInfo info(int n) {
    return PeerInfo.of(id(n), 1);
  }

  public static PeerInfo info(int n, long incarnation) {
    return PeerInfo.of(id(n), incarnation);
  }

  public List<Output> on(Event e) {
    state.handle(now, e);
    return out.drain();
  }

  public List<Output> receive(int from, Message m) {
    return on(new Event.Received(id(from), m));
  }

  public List<Output> connected(int peer) {
    return on(new Event.PeerConnected(id(peer)));
  }

  public StreamState stream() {
    return state.stream(STREAM);
  }

  /** Joins the stream and makes each peer an active neighbour by accepting its high-priority request. */
  public void joinWithNeighbors(int... peers) {
    on(new Event.JoinStream(STREAM));
    for (int p : peers) {
      connected(p);
      receive(p, new Message.Neighbor(STREAM, info(p), true));
    }
    out.clear();
  }

  public void advance(long nanos) {
    now += nanos;
  }

  /**
   * Message {@code seq} of {@code publisher}'s session, sealed by the publisher alone, with its
   * seal on the wire: what a neighbour forwards as the first message of a batch.
   */
  public static Message.Data sealed(PeerId publisher, long session, long seq, int hops, byte[] payload) {
    return sealed(KEYS.of(publisher), new Message.Data(STREAM, publisher, session, seq, hops, payload));
  }

  /** {@code m} sealed by {@code signer} (alone under its seal), seal on the wire. */
  public static Message.Data sealed(Signatures signer, Message.Data m) {
    byte[] digest = new byte[Seal.DIGEST_BYTES];
    new SealFormat().digest(m, digest, 0);
    byte[] sig = signer.sign(SealFormat.signedDigest(m.stream(), m.publisher(), m.session(), m.seq(), 1, digest));
    return m.withSeal(new Seal(m.seq(), 1, digest, signer.publicKey(), sig), true);
  }
}
