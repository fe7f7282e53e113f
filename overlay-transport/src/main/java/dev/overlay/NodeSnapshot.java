package dev.overlay;

import dev.overlay.core.HyParViewStats;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PlumtreeStats;
import java.util.List;
import java.util.Map;

/**
 * A consistent picture of a node, taken on its loop: its streams with their views and trees,
 * its links, and its counters.
 *
 * @param self the node's own id, incarnation and addresses
 * @param streams the streams it is in
 * @param links its open connections
 * @param counters the node's counters by name (links, dials, refusals, backpressure...; see
 *     docs/operations.md), each a total since start unless its name ends in {@code _now}
 * @param nat how the node is reached from outside, as far as it knows
 */
public record NodeSnapshot(PeerInfo self, List<Stream> streams, List<Link> links, Map<String, Long> counters, Nat nat) {

  /**
   * How the node is reached from outside (docs/nat.md): what STUN servers saw, and whether a
   * tracker could connect back to it.
   *
   * @param status the verdict of the last check
   * @param mapping the address ("host:port") the node advertises as its public one: the mapping of
   *     its listening port as a STUN server saw it over TCP or, when only the UDP question was
   *     answered, the IP seen with the listening port; null when no server answered or none was asked
   * @param reachableAt where the last check's tracker connected to the node and saw it prove its
   *     key ("host:port"), or null
   * @param checkedAt when the verdict was given (this host's clock), or null before the first
   * @param detail what the last check said, or why there was none (a tracker's text, quoted)
   */
  public record Nat(Status status, String mapping, String reachableAt, java.time.Instant checkedAt, String detail) {

    /** The verdict. */
    public enum Status {
      /** The node was given no STUN servers, or listens on loopback: it does not look for its NAT. */
      DISABLED,
      /** No tracker has checked yet (asked after the first registration, then every 10 minutes). */
      UNKNOWN,
      /** A tracker connected to the node at one of its advertised addresses: peers can dial it directly. */
      REACHABLE,
      /**
       * A tracker tried the node's addresses and none answered: peers behind NATs link to it by
       * hole punching or a relay.
       */
      NOT_REACHABLE
    }
  }

  /**
   * One joined stream.
   *
   * @param name its name
   * @param active the active view: the neighbours
   * @param passive the passive view: known members, candidates to replace a neighbour
   * @param trees its broadcast trees, one per publisher heard from
   * @param counters its traffic
   * @param broadcast the Plumtree counters (duplicates, grafts, prunes...)
   * @param membership the HyParView counters (joins, neighbour requests, evictions, shuffles...)
   * @param scores each neighbour's score in the current churn interval, in the order of {@code active}
   *     (docs/architecture.md, "Peer quality")
   */
  public record Stream(String name, List<PeerId> active, List<PeerId> passive, List<Tree> trees, Counters counters,
      PlumtreeStats broadcast, HyParViewStats membership, List<Score> scores) {}

  /**
   * How one neighbour scores. Every churn interval the worst-scored neighbour that was in the view
   * the whole interval and carries no tree to this node is replaced (HyParViewConfig.churnInterval).
   *
   * @param peer the neighbour
   * @param firstDeliveries messages it delivered to this node first since the interval began, or
   *     since it became a neighbour if that was later
   * @param roundTrip the smoothed round trip of its link as this node's PINGs measured it, or null before the first
   */
  public record Score(PeerId peer, long firstDeliveries, java.time.Duration roundTrip) {}

  /**
   * One broadcast tree.
   *
   * @param publisher the publisher it carries (null for the shared tree)
   * @param eager who this node pushes that publisher's messages to
   * @param lazy who it only announces them to
   */
  public record Tree(PeerId publisher, List<PeerId> eager, List<PeerId> lazy) {}

  /**
   * A stream's traffic, split into data (published messages) and control (everything else).
   *
   * @param dataIn data frames received
   * @param dataInBytes their bytes
   * @param dataOut data frames sent
   * @param dataOutBytes their bytes
   * @param controlIn control frames received
   * @param controlInBytes their bytes
   * @param controlOut control frames sent
   * @param controlOutBytes their bytes
   * @param delivered messages handed to this node's subscriptions
   * @param published messages this node published (numbered)
   * @param missedBySubscribers messages dropped for subscriptions whose handlers fell behind
   * @param neighbors neighbours now
   */
  public record Counters(long dataIn, long dataInBytes, long dataOut, long dataOutBytes, long controlIn,
      long controlInBytes, long controlOut, long controlOutBytes, long delivered, long published,
      long missedBySubscribers, int neighbors) {}

  /**
   * One open connection to a peer. Frames in and out count this connection's frames only (a
   * peer that reconnects starts again from zero).
   *
   * @param peer the peer
   * @param local this end's address
   * @param remote the peer's end
   * @param dialledByUs whether this node opened the connection
   * @param incarnation the peer's incarnation, as it said in its HELLO
   * @param queuedBytes bytes waiting in this node's queue for the connection
   * @param writable whether the connection takes more now (false: the peer reads slower than we send)
   * @param framesIn frames received on this connection
   * @param framesOut frames sent on it
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
