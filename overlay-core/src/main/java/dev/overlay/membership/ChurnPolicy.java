package dev.overlay.membership;

import dev.overlay.core.PeerInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Which active neighbours to replace, and by whom: the policy half of the neighbour churn
 * ({@link HyParView} does the asking and the letting go).
 *
 * <p>Cardano's peer governor scores each hot peer by how often it delivered a block header first,
 * and every few minutes demotes the worst 20 % for peers picked at random from the known set; the
 * network keeps re-mixing, and paths get shorter as peers that are never first make way. Here
 * the worst is the neighbour that delivered fewest messages first over the last interval, the
 * slower round trip breaking ties (on a quiet stream nobody is first, and round trips decide; a
 * neighbour never timed counts as near). Its replacement comes from the passive view: with
 * probability {@code randomShare} uniformly at random, otherwise the passive peer with the
 * shortest measured round trip, if it beats the neighbour's measured one; else a random one. The random share keeps the graph an expander: it is what lets islands
 * meet, and what an attacker who is merely fast cannot capture.
 */
final class ChurnPolicy {

  /** An active neighbour as the policy sees it: messages it delivered first, and its round trip (-1: unknown). */
  record Scored(PeerInfo peer, long firstDeliveries, long rttNanos) {}

  /** A replacement, with why it was picked. */
  record Replacement(PeerInfo peer, boolean nearer) {}

  private static final Comparator<Scored> WORST_FIRST = Comparator.comparingLong(Scored::firstDeliveries)
      .thenComparing(Comparator.comparingLong(ChurnPolicy::rttOrUnknown).reversed());

  private ChurnPolicy() {}

  /** The {@code count} worst of {@code eligible}, worst first. */
  static List<Scored> worst(List<Scored> eligible, int count) {
    List<Scored> sorted = new ArrayList<>(eligible);
    sorted.sort(WORST_FIRST);
    return sorted.subList(0, Math.min(count, sorted.size()));
  }

  /**
   * A passive peer to take {@code victim}'s place, or null when there is none to ask.
   *
   * @param rtt the measured round trip to a candidate, -1 when unknown
   */
  static Replacement replacement(Scored victim, List<PeerInfo> candidates, java.util.function.ToLongFunction<PeerInfo> rtt,
      double randomShare, RandomGenerator rng) {
    if (candidates.isEmpty()) return null;
    if (rng.nextDouble() >= randomShare) {
      PeerInfo nearest = null;
      long best = Long.MAX_VALUE;
      for (PeerInfo c : candidates) {
        long r = rtt.applyAsLong(c);
        if (r >= 0 && r < best) {
          best = r;
          nearest = c;
        }
      }
      if (nearest != null && victim.rttNanos() >= 0 && best < victim.rttNanos()) return new Replacement(nearest, true);
    }
    return new Replacement(candidates.get(rng.nextInt(candidates.size())), false);
  }

  /**
   * A neighbour never timed (its figure forgotten, or its first PONG not back yet) is not taken
   * for the slowest: that would let whoever fills the table decide who goes.
   */
  private static long rttOrUnknown(Scored s) {
    return Math.max(0, s.rttNanos());
  }
}
