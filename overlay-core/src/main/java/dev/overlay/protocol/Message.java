package dev.overlay.protocol;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.util.Arrays;
import java.util.List;

/**
 * Every message two nodes exchange about a stream. One record per wire message; the protobuf
 * schema ({@code overlay/v1/overlay.proto}) mirrors this file, and {@code dev.overlay.wire.WireCodec}
 * converts between them.
 *
 * <p>Where each message goes: membership messages ({@link Join} … {@link ShuffleReply}) are
 * handled by {@code dev.overlay.membership.HyParView}; broadcast messages ({@link Data} …
 * {@link Prune}) by {@code dev.overlay.broadcast.Plumtree}. {@code dev.overlay.node.NodeState#handle} routes by
 * {@link #stream()} to the stream's {@code StreamState}, which dispatches by type. Tracker
 * messages ({@link TrackerMessage}) go between a node's runtime and a tracker; the core never
 * sees them.
 */
public sealed interface Message {

  /**
   * The most links a message may cross. One at this count is delivered but not forwarded, so
   * no node ever sends a hop count a peer would refuse (peers close a link that sends more).
   */
  int MAX_HOPS = 1024;

  /**
   * The largest sequence number a peer may name: far beyond any real session (146,000 years at
   * a million messages a second), and small enough that {@code seq + count} never overflows.
   */
  long MAX_SEQ = 1L << 62;

  /**
   * The largest payload any node sends or takes (a node may set a smaller limit). Telemetry is
   * tens to hundreds of bytes; larger payloads belong on another channel.
   */
  int MAX_PAYLOAD_BYTES = 64 * 1024;

  StreamId stream();

  // ---- Membership: HyParView -------------------------------------------------------------

  /** A new node asks a contact to let it into the stream's overlay. */
  record Join(StreamId stream, PeerInfo sender) implements Message {}

  /** A random walk announcing a joiner; ends where the joiner is offered a neighbour slot. */
  record ForwardJoin(StreamId stream, PeerInfo joiner, int ttl) implements Message {}

  /**
   * Asks the receiver to become an active neighbour. A high-priority request is always
   * accepted (the receiver evicts someone if it must); a low-priority one only if there is room.
   */
  record Neighbor(StreamId stream, PeerInfo sender, boolean highPriority) implements Message {}

  /** The answer to {@link Neighbor}. The requester adds the peer to its active view only on acceptance. */
  record NeighborReply(StreamId stream, boolean accepted) implements Message {}

  /**
   * The sender removed the receiver from its active view. {@code alive} says whether the sender
   * stays in the stream (keep it as a passive peer) or is leaving.
   */
  record Disconnect(StreamId stream, long incarnation, boolean alive) implements Message {}

  /**
   * A random walk carrying a sample of the origin's views, to refresh passive views.
   * {@code nonce} is the origin's, random per shuffle: only a reply echoing it is taken.
   */
  record Shuffle(StreamId stream, PeerInfo origin, int ttl, List<PeerInfo> peers, long nonce) implements Message {
    public Shuffle {
      peers = List.copyOf(peers);
    }
  }

  /**
   * Sent straight to the shuffle's origin: a sample of the receiver's passive view. The origin
   * ignores a reply whose {@code nonce} is not that of its shuffle under way.
   */
  record ShuffleReply(StreamId stream, List<PeerInfo> peers, long nonce) implements Message {
    public ShuffleReply {
      peers = List.copyOf(peers);
    }
  }

  // ---- Broadcast: Plumtree ---------------------------------------------------------------

  /**
   * A published message, pushed eagerly along the tree. {@code hops} counts the links it has
   * crossed so far (0 when it leaves the publisher).
   *
   * <p>Immutable. A class rather than a record only to memoise {@link #withHops} for the next
   * hop: every node forwarding a message at the same hop count can share one copy, which keeps
   * the simulator's heap (and the message caches in it) about a hundred times smaller.
   */
  final class Data implements Message {
    private final StreamId stream;
    private final PeerId publisher;
    private final long session;
    private final long seq;
    private final int hops;
    private final byte[] payload;
    /** The publisher's seal covering this message (null before it is sealed or authenticated). */
    private final Seal seal;
    /** Whether the seal goes on the wire with this copy: for the first message of its batch on each link. */
    private final boolean sealOnWire;
    /**
     * The copy one hop further, made once and shared. For the simulator's sake: there every node
     * forwards the same message object, and without this memo 10,000 nodes would each allocate
     * their own copy per hop (a real node forwards each message once, so it costs it nothing).
     * A benign race: any thread computing it computes an equal, immutable object.
     */
    private Data nextHop;

    public Data(StreamId stream, PeerId publisher, long session, long seq, int hops, byte[] payload) {
      this(stream, publisher, session, seq, hops, payload, null, false);
    }

    public Data(StreamId stream, PeerId publisher, long session, long seq, int hops, byte[] payload, Seal seal,
        boolean sealOnWire) {
      this.stream = stream;
      this.publisher = publisher;
      this.session = session;
      this.seq = seq;
      this.hops = hops;
      this.payload = payload;
      this.seal = seal;
      this.sealOnWire = sealOnWire && seal != null;
    }

    @Override
    public StreamId stream() {
      return stream;
    }

    public PeerId publisher() {
      return publisher;
    }

    public long session() {
      return session;
    }

    public long seq() {
      return seq;
    }

    public int hops() {
      return hops;
    }

    /** The payload bytes; shared, never modified. */
    public byte[] payload() {
      return payload;
    }

    /** The seal that covers this message, or null. */
    public Seal seal() {
      return seal;
    }

    /** Whether this copy carries its seal on the wire. */
    public boolean sealOnWire() {
      return sealOnWire;
    }

    public MessageRef ref() {
      return new MessageRef(publisher, session, seq);
    }

    /** One hop further; the seal stays attached, off the wire (the sender decides per link). */
    public Data withHops(int newHops) {
      return withHops(newHops, seal);
    }

    /** One hop further, with {@code seal} attached (off the wire): the copy a node forwards. */
    public Data withHops(int newHops, Seal seal) {
      if (newHops == hops + 1) {
        Data next = nextHop;
        if (next == null || next.seal != seal) {
          next = new Data(stream, publisher, session, seq, newHops, payload, seal, false);
          nextHop = next;
        }
        return next;
      }
      return new Data(stream, publisher, session, seq, newHops, payload, seal, false);
    }

    /** This message with {@code seal} attached, on the wire or not. */
    public Data withSeal(Seal seal, boolean onWire) {
      if (seal == this.seal && onWire == sealOnWire) return this;
      return new Data(stream, publisher, session, seq, hops, payload, seal, onWire);
    }

    public boolean sameId(PeerId p, long s, long q) {
      return seq == q && session == s && publisher.equals(p);
    }

    /** Equal messages: same id, hops and payload. Seals are compared apart (they are the same for authentic copies). */
    @Override
    public boolean equals(Object o) {
      return o instanceof Data d && d.stream.equals(stream) && d.publisher.equals(publisher)
          && d.session == session && d.seq == seq && d.hops == hops && Arrays.equals(d.payload, payload);
    }

    @Override
    public int hashCode() {
      return (publisher.hashCode() * 31 + Long.hashCode(seq)) * 31 + Long.hashCode(session);
    }

    @Override
    public String toString() {
      return "Data[" + stream + " " + publisher + "/" + Long.toHexString(session) + "/" + seq
          + " hops=" + hops + " " + payload.length + "B" + (sealOnWire ? " +" + seal : "") + "]";
    }
  }

  /**
   * Lazy push: the sender has these messages. Consecutive sequence numbers from one publisher
   * session travel as one {@link Announcement} range, so a batch costs a few bytes per publisher.
   */
  /**
   * Announcements. With {@code catchUp} it is the newest message the sender has of each recent
   * publisher, sent when a link comes up: the receiver fetches what it lacks up to there if it
   * already follows that publisher, and ignores publishers it has never heard of (a new
   * subscriber starts with the next message, not with history).
   */
  record IHave(StreamId stream, List<Announcement> announcements, boolean catchUp) implements Message {
    public IHave {
      announcements = List.copyOf(announcements);
    }

    public IHave(StreamId stream, List<Announcement> announcements) {
      this(stream, announcements, false);
    }
  }

  /**
   * Messages {@code firstSeq .. firstSeq+count-1} of one publisher session. {@code hops} is the
   * largest hop count among them when the announcer received them.
   */
  record Announcement(PeerId publisher, long session, long firstSeq, int count, int hops) {
    public long lastSeq() {
      return firstSeq + count - 1;
    }
  }

  /**
   * Makes the link eager again for the tree of {@code ref.publisher()}. With {@code wantMessage}
   * the receiver also sends the message {@code ref}; without it this is a tree optimisation.
   */
  record Graft(StreamId stream, MessageRef ref, boolean wantMessage) implements Message {}

  /** The sender received a duplicate over this link: make it lazy for the tree of {@code publisher}. */
  record Prune(StreamId stream, PeerId publisher) implements Message {}

  // ---- Trackers: introductions, between a node's runtime and a tracker --------------------

  /** A message between a node and a tracker; never handled by the protocol core. */
  sealed interface TrackerMessage extends Message {}

  // ---- Resends: history from a storage node (the runtime's business, never the core's) -----

  /** Messages between a node and a storage node about history; handled by the runtime. */
  sealed interface ResendMessage extends Message {
    long request();
  }

  /** The most messages one {@link ResendBatch} carries. */
  int MAX_RESEND_BATCH = 1_024;
  /** The most credit an asker may grant, in bytes as {@link ResendBatch#cost} counts them. */
  int MAX_RESEND_CREDIT = 16 << 20;

  /**
   * "Send me this history": one publisher session's messages {@code fromSeq..toSeq} ({@code toSeq}
   * 0: up to the newest stored), or, with {@code publisher} null, every session's messages stored
   * from {@code fromMillis} on. {@code credit} bytes ({@link ResendBatch#cost}) may come before more credit is given.
   */
  record ResendRequest(StreamId stream, long request, PeerId publisher, long session, long fromSeq, long toSeq,
      long fromMillis, int credit) implements ResendMessage {}

  /** Room for {@code credit} more bytes ({@link ResendBatch#cost}) of the request. */
  record ResendCredit(StreamId stream, long request, int credit) implements ResendMessage {}

  /** Some of the history asked for, in order, each message with its seal as {@link Data} carries one. */
  record ResendBatch(StreamId stream, long request, List<Data> messages) implements ResendMessage {
    /** A message's fields on the wire besides its payload (ids, numbers, tags), rounded up. */
    public static final int FRAMING_BYTES = 64;

    public ResendBatch {
      messages = List.copyOf(messages);
    }

    /**
     * What a message costs against the asker's credit, and roughly on the wire: its payload, its
     * fields, and its seal when it carries one. Both ends count the same way.
     */
    public static long cost(Data m) {
      long c = m.payload().length + FRAMING_BYTES;
      if (m.sealOnWire()) c += m.seal().digests().length + m.seal().publicKey().length + m.seal().signature().length + FRAMING_BYTES;
      return c;
    }
  }

  /** The request is over, and how. */
  record ResendEnd(StreamId stream, long request, ResendOutcome outcome, String detail) implements ResendMessage {}

  enum ResendOutcome { COMPLETE, NOT_STORED, REFUSED, FAILED, TRUNCATED }

  /**
   * Registration and heartbeat in one: the node is in the stream and reachable at
   * {@code node}'s candidates. {@code counter} grows with every status the node sends for the
   * stream, so a delayed, older one is recognised. With {@code wantPeers}, asks for introductions.
   * With {@code storage}, the node keeps the stream's history and answers resends (a storage
   * node): the tracker names it to the stream's other members.
   */
  record TrackerRegister(StreamId stream, PeerInfo node, long counter, boolean wantPeers, int neighbors, boolean storage)
      implements TrackerMessage {
    /** A member that keeps no history. */
    public TrackerRegister(StreamId stream, PeerInfo node, long counter, boolean wantPeers, int neighbors) {
      this(stream, node, counter, wantPeers, neighbors, false);
    }
  }

  /** The node left the stream. */
  record TrackerLeave(StreamId stream, long counter) implements TrackerMessage {}

  /**
   * Some live members of the stream, answering the node's request {@code counter}, and some of
   * its storage nodes (members registered with {@code storage}; at most
   * {@link #MAX_STORAGE_NODES}), to ask for history.
   */
  record TrackerPeers(StreamId stream, long counter, List<PeerInfo> peers, List<PeerInfo> storageNodes) implements TrackerMessage {
    /** Storage nodes named in one answer at most. */
    public static final int MAX_STORAGE_NODES = 8;

    public TrackerPeers {
      peers = List.copyOf(peers);
      storageNodes = List.copyOf(storageNodes);
      if (storageNodes.size() > MAX_STORAGE_NODES) throw new IllegalArgumentException("at most " + MAX_STORAGE_NODES + " storage nodes");
    }

    /** An answer naming no storage node. */
    public TrackerPeers(StreamId stream, long counter, List<PeerInfo> peers) {
      this(stream, counter, peers, List.of());
    }
  }

  /**
   * Why a tracker did not serve a request. {@code STALE}: the status's counter is not above the
   * one the tracker holds for this incarnation of the node (it arrived late, or out of order).
   */
  enum RefusalReason { RATE_LIMITED, FULL, INVALID, STALE }

  /** The tracker did not serve the request; try again after {@code retryAfterMillis}. */
  record TrackerRefused(StreamId stream, RefusalReason reason, long retryAfterMillis, String detail)
      implements TrackerMessage {}

  // ---- Hole punching, through a tracker (v3) ----------------------------------------------

  /**
   * Node to tracker: the node could not dial {@code peer} at any of its candidates; the tracker
   * is asked to have both connect to each other at once. {@code stream} is one the sender is
   * registered in with that tracker.
   */
  record PunchRequest(StreamId stream, PeerId peer, long nonce) implements TrackerMessage {}

  /** Tracker to both nodes: connect to {@code peer} from the listening port in {@code delayMillis}. */
  record PunchGo(StreamId stream, PeerInfo peer, int delayMillis, long nonce) implements TrackerMessage {
    /** The longest wait a tracker may ask for. */
    public static final int MAX_DELAY_MILLIS = 5_000;
  }

  /** Tracker to requester: the punch to {@code peer} was not arranged, and why. */
  record PunchRefused(StreamId stream, PeerId peer, long nonce, String detail) implements TrackerMessage {}

  /** Node to tracker: the punch to {@code peer} failed; the tracker is asked to relay the two. */
  record RelayRequest(StreamId stream, PeerId peer, long nonce) implements TrackerMessage {}

  /**
   * Tracker to both nodes: connect to the relay at {@code relayHost:relayPort} and present
   * {@code token}; the relay joins the two connections, and TLS runs end to end through it.
   */
  record RelayGo(StreamId stream, PeerInfo peer, String relayHost, int relayPort, byte[] token, long nonce)
      implements TrackerMessage {
    public static final int TOKEN_BYTES = 16;

    public RelayGo {
      token = token.clone();
    }

    @Override
    public byte[] token() {
      return token.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RelayGo g && stream.equals(g.stream) && peer.equals(g.peer) && relayHost.equals(g.relayHost)
          && relayPort == g.relayPort && java.util.Arrays.equals(token, g.token) && nonce == g.nonce;
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(stream, peer, relayHost, relayPort, java.util.Arrays.hashCode(token), nonce);
    }

    @Override
    public String toString() {
      return "RelayGo[" + stream + ", " + peer.id() + " via " + relayHost + ":" + relayPort + ", nonce " + nonce + "]";
    }
  }

  /** Node to tracker: connect back to my candidates at my address, and say whether that worked. */
  record ReachabilityRequest(StreamId stream, long nonce) implements TrackerMessage {}

  /** Tracker to node: whether it reached the node, where ({@code reached} host:port, or empty), and how or why not. */
  record Reachability(StreamId stream, long nonce, Outcome outcome, String reached, String detail) implements TrackerMessage {
    /** Reached; tried and not reached; or not checked at all (then the node asks again later). */
    public enum Outcome { REACHED, NOT_REACHED, REFUSED }
  }
}
