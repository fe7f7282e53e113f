package dev.overlay.core;

import java.util.List;

/**
 * What a node knows about another: its id, the incarnation it last announced, and where it can
 * be reached.
 *
 * <p>The incarnation grows each time the node restarts. Membership messages carry it so that a
 * JOIN or DISCONNECT sent by an earlier incarnation is recognised as stale and ignored.
 */
public record PeerInfo(PeerId id, long incarnation, List<Candidate> candidates) {

  /** At most this many candidates are kept per peer: local, reflexive and relay, with room to spare. */
  public static final int MAX_CANDIDATES = 8;

  public PeerInfo {
    if (id == null) throw new IllegalArgumentException("peer id is required");
    if (candidates.size() > MAX_CANDIDATES) {
      throw new IllegalArgumentException("at most " + MAX_CANDIDATES + " candidates, got " + candidates.size());
    }
    candidates = List.copyOf(candidates);
  }

  public static PeerInfo of(PeerId id, long incarnation) {
    return new PeerInfo(id, incarnation, List.of());
  }

  @Override
  public String toString() {
    return id + "#" + incarnation + (candidates.isEmpty() ? "" : candidates.toString());
  }
}
