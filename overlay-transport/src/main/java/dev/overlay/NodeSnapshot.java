package dev.overlay;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PlumtreeStats;
import java.util.List;
import java.util.Map;

/**
 * A consistent picture of a node, taken on its loop: its streams with their views and trees,
 * its links, and its counters.
 */
public record NodeSnapshot(PeerInfo self, List<Stream> streams, List<Link> links, Map<String, Long> counters) {

  /** One joined stream; {@code broadcast} holds the Plumtree counters (duplicates, grafts, prunes...). */
  public record Stream(String name, List<PeerId> active, List<PeerId> passive, List<Tree> trees, Counters counters,
      PlumtreeStats broadcast) {}

  /** One broadcast tree: the publisher it carries (null for the shared tree), who we push to, who we only announce to. */
  public record Tree(PeerId publisher, List<PeerId> eager, List<PeerId> lazy) {}

  /** A stream's traffic, split into data (published messages) and control (everything else). */
  public record Counters(long dataIn, long dataInBytes, long dataOut, long dataOutBytes, long controlIn,
      long controlInBytes, long controlOut, long controlOutBytes, long delivered, long published,
      long missedBySubscribers, int neighbors) {}

  /**
   * One open connection to a peer. Frames in and out count this connection's frames only (a
   * peer that reconnects starts again from zero).
   *
   * @param local this end's address
   * @param remote the peer's end
   * @param dialledByUs whether this node opened the connection
   * @param incarnation the peer's incarnation, as it said in its HELLO
   * @param queuedBytes bytes waiting in this node's queue for the connection
   * @param writable whether the connection takes more now (false: the peer reads slower than we send)
   */
  public record Link(PeerId peer, String local, String remote, boolean dialledByUs, long incarnation, long queuedBytes,
      boolean writable, long framesIn, long framesOut) {}

  /**
   * {@return the link to that peer, or null}
   *
   * @param peer the peer
   */
  public Link link(PeerId peer) {
    for (Link l : links) {
      if (l.peer().equals(peer)) return l;
    }
    return null;
  }

  /**
   * {@return the stream of that name, or null}
   *
   * @param name the stream's name
   */
  public Stream stream(String name) {
    for (Stream s : streams) {
      if (s.name().equals(name)) return s;
    }
    return null;
  }
}
