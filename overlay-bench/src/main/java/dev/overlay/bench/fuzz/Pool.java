package dev.overlay.bench.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.overlay.auth.SealFormat;
import dev.overlay.auth.Signatures;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.core.testing.TestKeys;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Seal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * What the fuzz targets build messages from: a few peers, streams, addresses and sequence
 * numbers, small enough that the fuzzer makes them collide (the interesting cases), with the
 * extremes (0, 1, the largest sequence number) among them.
 */
final class Pool {

  static final StreamId STREAM = StreamId.of("fuzz");
  static final List<StreamId> STREAMS = List.of(STREAM, StreamId.of("fuzz-2"), new StreamId(0));
  static final TestKeys KEYS = new TestKeys(7);
  private static final List<PeerId> PEERS = peers(12);
  private static final long[] SEQS = {1, 2, 3, 100, 1 << 20, Message.MAX_SEQ - 1, Message.MAX_SEQ};
  private static final String[] HOSTS = {"127.0.0.1", "10.0.0.1", "10.0.0.2", "198.51.100.7", "::1", "", "h".repeat(253)};

  private Pool() {}

  static List<PeerId> peers(int n) {
    Random r = new Random(99);
    List<PeerId> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(PeerId.random(r));
    return out;
  }

  static PeerId peer(FuzzedDataProvider d) {
    return PEERS.get(d.consumeInt(0, PEERS.size() - 1));
  }

  static StreamId stream(FuzzedDataProvider d) {
    return d.consumeInt(0, 7) == 0 ? STREAMS.get(d.consumeInt(1, STREAMS.size() - 1)) : STREAM;
  }

  static long seq(FuzzedDataProvider d) {
    return d.consumeBoolean() ? SEQS[d.consumeInt(0, SEQS.length - 1)] : d.consumeLong(1, 1_000);
  }

  static int hops(FuzzedDataProvider d) {
    return d.consumeBoolean() ? d.consumeInt(0, 8) : d.consumeInt(0, Message.MAX_HOPS);
  }

  static String address(FuzzedDataProvider d) {
    return HOSTS[d.consumeInt(0, HOSTS.length - 1)];
  }

  static PeerInfo info(FuzzedDataProvider d, PeerId id) {
    List<Candidate> c = new ArrayList<>();
    int n = d.consumeInt(0, 2);
    for (int i = 0; i < n; i++) {
      String h = address(d);
      if (h.isEmpty()) h = "x";
      c.add(new Candidate(Candidate.Kind.LOCAL, h, d.consumeInt(1, 65535)));
    }
    try {
      return new PeerInfo(id, d.consumeBoolean() ? d.consumeLong(0, 5) : d.consumeLong(), c);
    } catch (IllegalArgumentException tooLong) {
      return PeerInfo.of(id, 1);
    }
  }

  static PeerId peerOf(Message m) {
    return m instanceof Message.TrackerRegister r ? r.node().id() : PEERS.get(0);
  }

  static Message.TrackerMessage trackerMessage(FuzzedDataProvider d, List<PeerId> nodes) {
    StreamId s = stream(d);
    PeerId id = nodes.get(d.consumeInt(0, nodes.size() - 1));
    return switch (d.consumeInt(0, 2)) {
      case 0 -> new Message.TrackerRegister(s, info(d, id), d.consumeLong(0, 10), d.consumeBoolean(), d.consumeInt(0, 10));
      case 1 -> new Message.TrackerLeave(s, d.consumeLong(0, 10));
      default -> new Message.TrackerPeers(s, d.consumeLong(0, 10), List.of());
    };
  }

  /** A DATA message: sealed by its publisher, sealed by someone else, altered, or without a seal. */
  static Message.Data data(FuzzedDataProvider d) {
    PeerId publisher = peer(d);
    long session = d.consumeInt(0, 2);
    long seq = seq(d);
    byte[] payload = d.consumeBytes(d.consumeInt(0, 64));
    Message.Data m = new Message.Data(stream(d), publisher, session, seq, hops(d), payload);
    return switch (d.consumeInt(0, 3)) {
      case 0 -> m;
      case 1 -> seal(KEYS.of(peer(d)), m); // someone else's key
      case 2 -> {
        Message.Data sealed = seal(KEYS.of(publisher), m);
        yield new Message.Data(m.stream(), publisher, session, seq, m.hops(), d.consumeBytes(8), sealed.seal(), true); // altered
      }
      default -> seal(KEYS.of(publisher), m);
    };
  }

  static Message.Data seal(Signatures signer, Message.Data m) {
    byte[] digest = new byte[Seal.DIGEST_BYTES];
    new SealFormat().digest(m, digest, 0);
    byte[] sig = signer.sign(SealFormat.signedDigest(m.stream(), m.publisher(), m.session(), m.seq(), 1, digest));
    return m.withSeal(new Seal(m.seq(), 1, digest, signer.publicKey(), sig), true);
  }

  /** Any stream message a peer could send. */
  static Message message(FuzzedDataProvider d, PeerId from) {
    StreamId s = stream(d);
    return switch (d.consumeInt(0, 11)) {
      case 0 -> new Message.Join(s, info(d, d.consumeBoolean() ? from : peer(d)));
      case 1 -> new Message.ForwardJoin(s, info(d, peer(d)), d.consumeInt(0, 8));
      case 2 -> new Message.Neighbor(s, info(d, d.consumeBoolean() ? from : peer(d)), d.consumeBoolean());
      case 3 -> new Message.NeighborReply(s, d.consumeBoolean());
      case 4 -> new Message.Disconnect(s, d.consumeLong(0, 5), d.consumeBoolean());
      case 5 -> new Message.Shuffle(s, info(d, peer(d)), d.consumeInt(0, 8), peers(d), d.consumeLong(0, 3));
      case 6 -> new Message.ShuffleReply(s, peers(d), d.consumeLong(0, 3));
      case 7 -> {
        List<Message.Announcement> a = new ArrayList<>();
        int n = d.consumeInt(0, 6);
        for (int i = 0; i < n; i++) {
          long first = seq(d);
          int count = d.consumeBoolean() ? d.consumeInt(1, 4) : d.consumeInt(1, 4096);
          if (first > Message.MAX_SEQ - count + 1) first = Message.MAX_SEQ - count + 1; // what the decoder lets through
          a.add(new Message.Announcement(peer(d), d.consumeInt(0, 2), first, count, hops(d)));
        }
        yield new Message.IHave(s, a, d.consumeBoolean());
      }
      case 8 -> new Message.Graft(s, new MessageRef(peer(d), d.consumeInt(0, 2), seq(d)), d.consumeBoolean());
      case 9 -> new Message.Prune(s, peer(d));
      case 10 -> new Message.TrackerRefused(s, Message.RefusalReason.RATE_LIMITED, d.consumeLong(0, 1L << 32), "x");
      default -> data(d);
    };
  }

  private static List<PeerInfo> peers(FuzzedDataProvider d) {
    List<PeerInfo> out = new ArrayList<>();
    int n = d.consumeInt(0, 10);
    for (int i = 0; i < n; i++) out.add(info(d, peer(d)));
    return out;
  }

  static PeerId fromPool(int i) {
    return PEERS.get(i);
  }

  static int size() {
    return PEERS.size();
  }
}
