package dev.overlay.runtime;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * What an {@link IntroductionSource} may ask of its node: the narrow side of the runtime that
 * trackers and seeds use, so that they can be tested against a fake. Every method but
 * {@link #execute} is called on the node's loop.
 */
public interface IntroductionHost {

  /** This node as peers see it. */
  PeerInfo self();

  /** The node's clock (monotonic nanoseconds). */
  long nanoTime();

  /** The active view size of a joined stream, 0 if not joined. */
  int neighborCount(StreamId stream);

  /** The name the application gave a stream. */
  String streamName(StreamId stream);

  /** Sends a tracker message on one of the introducer's links; dropped (and counted) without one. */
  void sendTracker(PeerId to, Message.TrackerMessage message);

  /** Whether a ready link to the peer exists. */
  boolean isLinked(PeerId peer);

  /** Dials a seed or tracker by address, refusing any key but {@code pinned} (null: any). */
  void dialSeed(InetSocketAddress address, PeerId pinned);

  /** Closes the link to one of the introducer's peers (a tracker that stopped answering). */
  void closeLink(PeerId peer);

  /** Runs {@code task} on the loop every {@code period}, until the node closes. */
  void every(Duration period, Runnable task);

  /** Runs {@code task} on the loop once, after {@code delay}, unless the node closed by then. */
  void after(Duration delay, Runnable task);

  /** From any thread: runs {@code task} on the loop, unless the node closed by then. */
  void execute(Runnable task);

  /** The newest protocol version the link to {@code peer} speaks (0 when not linked). */
  int protocolVersion(PeerId peer);

  /** A tracker's signal: connect to {@code peer} from the listening port after {@code delay}, as it does to us. */
  void punch(PeerInfo peer, Duration delay);

  /** A tracker would not arrange the punch to {@code peer} our dial asked for. */
  void punchRefused(PeerId peer, String detail);

  /** A tracker's signal: reach {@code peer} through the relay at {@code relay}, presenting {@code token}. */
  void relay(PeerInfo peer, InetSocketAddress relay, byte[] token);

  /** Whether this node keeps the stream's history (a storage node): trackers are told so, and name it to others. */
  default boolean keepsHistory(StreamId stream) {
    return false;
  }

  /** A tracker named storage nodes of the stream (never this node): whom to ask for history. */
  default void storageNodesIntroduced(StreamId stream, java.util.List<PeerInfo> storageNodes) {}

  /** The IP address the link to {@code peer} comes from, as a literal ("" when not linked). */
  String remoteHost(PeerId peer);

  /** Whether the node was started to traverse NATs (given STUN servers, not on loopback). */
  boolean natTraversal();

  /**
   * A tracker's answer to "can you reach me?": the outcome, where it reached the node
   * ("host:port", REACHED only, else null), and a detail (quoted, printable).
   */
  void reachability(Message.Reachability.Outcome outcome, String reached, String detail);
}
