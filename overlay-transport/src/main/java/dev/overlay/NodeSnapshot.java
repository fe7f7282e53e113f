package dev.overlay;

import dev.overlay.broadcast.PlumtreeStats;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.transport.LinkManager.LinkInfo;
import java.util.List;
import java.util.Map;

/**
 * A consistent picture of a node, taken on its loop: its streams with their views and trees,
 * its links, and its counters.
 */
public record NodeSnapshot(PeerInfo self, List<Stream> streams, List<LinkInfo> links, Map<String, Long> counters) {

  /** One joined stream; {@code broadcast} holds the Plumtree counters (duplicates, grafts, prunes...). */
  public record Stream(String name, List<PeerId> active, List<PeerId> passive, List<Tree> trees, Counters counters,
      PlumtreeStats broadcast) {}

  /** One broadcast tree: the publisher it carries (null for the shared tree), who we push to, who we only announce to. */
  public record Tree(PeerId publisher, List<PeerId> eager, List<PeerId> lazy) {}

  /** A stream's traffic, split into data (published messages) and control (everything else). */
  public record Counters(long dataIn, long dataInBytes, long dataOut, long dataOutBytes, long controlIn,
      long controlInBytes, long controlOut, long controlOutBytes, long delivered, long published,
      long missedBySubscribers, int neighbors) {}

  /** The link to that peer, or null. */
  public LinkInfo link(PeerId peer) {
    for (LinkInfo l : links) {
      if (l.peer().equals(peer)) return l;
    }
    return null;
  }

  /** The stream of that name, or null. */
  public Stream stream(String name) {
    for (Stream s : streams) {
      if (s.name().equals(name)) return s;
    }
    return null;
  }
}
