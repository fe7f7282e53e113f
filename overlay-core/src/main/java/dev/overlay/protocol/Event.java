package dev.overlay.protocol;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.util.List;

/** An input to {@code dev.overlay.node.NodeState#handle}: something that happened to the node. */
public sealed interface Event {

  /** A peer sent us a message over our link to it. */
  record Received(PeerId from, Message message) implements Event {}

  /** A link to the peer is up (we dialled it, or it dialled us). */
  record PeerConnected(PeerId peer) implements Event {}

  /** The link to the peer went down without our asking. */
  record PeerDisconnected(PeerId peer, String reason) implements Event {}

  /**
   * The transport timed a round trip to the peer (one of its PINGs answered). Membership prefers
   * nearby peers with it when it replaces neighbours.
   */
  record RoundTrip(PeerId peer, long nanos) implements Event {}

  /** A dial we asked for with {@link Outbox#connect} did not succeed. */
  record DialFailed(PeerId peer, String reason) implements Event {}

  /**
   * What we send the peer has stayed backlogged too long: it reads more slowly than the streams
   * publish. Stop pushing to it; it gets announcements and fetches what it wants at its pace.
   */
  record PeerSlow(PeerId peer) implements Event {}

  /**
   * The link of a peer reported {@link PeerSlow} can be written to again. Until this, its GRAFTs
   * are not answered: an answer would only wait in our buffer for it, or be shed there.
   */
  record PeerDrained(PeerId peer) implements Event {}

  /**
   * The node has stopped reading from its links because what it sends piles up somewhere
   * (backpressure), or has started again. While it is saturated, GRAFTs are not answered:
   * repair traffic would only lengthen the backlogs; the askers try again later.
   */
  record Saturated(boolean saturated) implements Event {}

  /** A timer we scheduled with {@link Outbox#schedule} is due. */
  record TimerFired(Timer timer) implements Event {}

  // ---- Application commands --------------------------------------------------------------

  /**
   * Join a stream. The node asks for introductions through {@link Outbox#requestIntroductions}.
   * With {@code publishers}, the stream takes messages from those publishers only: any other
   * publisher's are dropped, counted and never forwarded (null: anyone may publish). With a
   * {@code start} other than live, the node fetches the history it names from its neighbours'
   * caches (see {@link dev.overlay.core.StartAt}).
   */
  record JoinStream(StreamId stream, java.util.Set<PeerId> publishers, dev.overlay.core.StartAt start) implements Event {
    public JoinStream {
      publishers = publishers == null ? null : java.util.Set.copyOf(publishers);
      start = start == null ? dev.overlay.core.StartAt.live() : start;
    }

    public JoinStream(StreamId stream, java.util.Set<PeerId> publishers) {
      this(stream, publishers, null);
    }

    public JoinStream(StreamId stream) {
      this(stream, null, null);
    }
  }

  /**
   * History that {@code from}, a storage node, sent for a request of ours (the runtime checked
   * the request). The core reports how many it took through {@link Outbox#historyTaken}.
   */
  record History(PeerId from, StreamId stream, List<Message.Data> messages) implements Event {
    public History {
      messages = List.copyOf(messages);
    }
  }

  /**
   * A storage node answering a request of ours lacks messages {@code fromSeq..toSeq} of a
   * session (it sends each session in order, and skipped them): a stream delivered in order
   * stops waiting for them. They may still come from the caches, late.
   */
  record HistoryGap(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) implements Event {}

  /**
   * The storage nodes' answer to a {@code since} start of the stream ended: all of it was sent,
   * or none could answer. Sessions first heard live meanwhile stop waiting for a stored part.
   */
  record HistoryEnded(StreamId stream) implements Event {}

  /**
   * The runtime uses a link outside any stream (asking a storage node for history): with
   * {@code hold}, the link is opened if needed and kept like a stream's; without, released to the
   * idle timeout. Counted against the node's link limit like any other.
   */
  record HoldLink(PeerInfo peer, boolean hold) implements Event {}

  /** The introducer (a tracker, or the simulator) answers with some members of the stream. */
  record Introductions(StreamId stream, List<PeerInfo> peers) implements Event {
    public Introductions {
      peers = List.copyOf(peers);
    }
  }

  /**
   * Leave a stream: neighbours are told, and the stream's state is dropped. With
   * {@code nodeClosing}, the whole node is closing: messages held for their order are dropped
   * with the rest of the node's state rather than handed out over their holes, so that a position
   * saved from what was delivered never passes a hole the next start would still fetch.
   */
  record LeaveStream(StreamId stream, boolean nodeClosing) implements Event {
    public LeaveStream(StreamId stream) {
      this(stream, false);
    }
  }

  /** Publish a payload on a joined stream. The outcome comes back through {@link Outbox#published}. */
  record Publish(StreamId stream, byte[] payload) implements Event {}
}
