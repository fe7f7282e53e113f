package dev.overlay.protocol;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;

/**
 * Where {@code dev.overlay.node.NodeState} writes its commands. The Netty runtime carries them out on real
 * sockets; the simulator on virtual links; tests record them ({@code dev.overlay.core.testing.RecordingOutbox} in the test fixtures).
 *
 * <p>The link contract the runtime keeps:
 * <ul>
 *   <li>{@link #connect} dials the peer unless a link to it exists or is being dialled, and
 *       later reports {@link Event.PeerConnected} or {@link Event.DialFailed}.</li>
 *   <li>{@link #send} to a peer whose link is still being dialled queues the message (bounded);
 *       a send to a peer with no link at all is dropped and counted.</li>
 *   <li>{@link #disconnect} flushes what was sent before it, then closes. The runtime does not
 *       report {@link Event.PeerDisconnected} for a link the core closed itself.</li>
 *   <li>Messages on one link arrive in the order they were sent.</li>
 * </ul>
 */
public interface Outbox {

  void send(PeerId to, Message message);

  void connect(PeerInfo peer);

  void disconnect(PeerId peer);

  /** Fire {@code timer} back after {@code delayNanos}. */
  void schedule(Timer timer, long delayNanos);

  /** Hand a new message to the application's subscription. */
  void deliver(Message.Data message);

  /** A typed event for the application's listener and counters. */
  void emit(OverlayEvent event);

  /** Ask the introducer (tracker) for some members of the stream. */
  void requestIntroductions(StreamId stream);

  /** The outcome of an {@link Event.Publish}. */
  void published(PublishResult result);

  /**
   * How much of an {@link Event.History} the core took, from the first message: all of them, fewer
   * (checking the next seal would pass the signature budget: offer the rest again later), or -1
   * (the sender sent a forgery; the core has asked for its link to be dropped). Only a runtime that
   * asks storage nodes for history needs it.
   */
  default void historyTaken(PeerId from, StreamId stream, int taken) {}

  /**
   * A publisher whose history the application asked for (a position, or {@code latest}) began a
   * later session, and the first message of it heard is past {@code toSeq}: the publisher
   * restarted while this node was away, and messages {@code fromSeq..toSeq} of the session may
   * be older than the neighbours' caches keep. A runtime that asks storage nodes for history asks
   * them for those too. At most once per session the seen set begins; never for a session it
   * retired (one that comes back is no later session).
   */
  default void historyWanted(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {}

  /**
   * A message this node published, as it goes out (with its seal where publishers sign). A node
   * does not deliver its own messages; one that keeps the stream's history stores this instead.
   */
  default void ownMessage(Message.Data message) {}

  /**
   * As {@link #deliver(Message.Data)}, with the seal that authenticated the message (null where
   * publishers do not sign): the copy delivered carries its seal only if that copy brought it on
   * the wire, and a node that stores history must keep the seal with it.
   */
  default void deliver(Message.Data message, Seal seal) {
    deliver(message);
  }
}
