package dev.overlay.core;

import dev.overlay.core.Candidate;
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

  /**
   * The host names of all candidates together: a peer's addresses are stored in every passive
   * view and tracker registration that holds it, so eight names of 253 characters (2.5 KB) are
   * refused. Two long DNS names, or eight IPv6 literals, fit.
   */
  public static final int MAX_HOST_CHARS = 512;

  /**
   * Checks the bounds a remote peer's info must meet too.
   *
   * @param id the peer
   * @param incarnation when it started (its wall clock, ms), which orders its restarts
   * @param candidates the addresses it may be reached at, copied
   * @throws IllegalArgumentException if the id is missing, or there are too many candidates or
   *     host characters
   */
  public PeerInfo {
    if (id == null) throw new IllegalArgumentException("peer id is required");
    if (candidates.size() > MAX_CANDIDATES) {
      throw new IllegalArgumentException("at most " + MAX_CANDIDATES + " candidates, got " + candidates.size());
    }
    int chars = 0;
    for (Candidate c : candidates) chars += c.host().length();
    if (chars > MAX_HOST_CHARS) {
      throw new IllegalArgumentException("candidate hosts total " + chars + " characters, limit " + MAX_HOST_CHARS);
    }
    candidates = List.copyOf(candidates);
  }

  /**
   * A peer known by id alone, with no address to dial.
   *
   * @param id the peer
   * @param incarnation when it started (its wall clock, ms), which orders its restarts
   * @return the info
   */
  public static PeerInfo of(PeerId id, long incarnation) {
    return new PeerInfo(id, incarnation, List.of());
  }

  @Override
  public String toString() {
    return id + "#" + incarnation + (candidates.isEmpty() ? "" : candidates.toString());
  }
}
