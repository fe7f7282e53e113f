package dev.overlay.sim;

import dev.overlay.broadcast.Plumtree;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.membership.HyParView;
import dev.overlay.node.NodeState;
import dev.overlay.stream.StreamState;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The invariants checked on the quiet network at the end of every scenario:
 * <ol>
 *   <li>active views are symmetric, and hold only live peers;</li>
 *   <li>eager sets are symmetric: both ends of every link agree on its state, direction by
 *       direction and tree by tree (a peer pushes to us exactly when we have not pruned it);</li>
 *   <li>lazy sets hold only neighbours;</li>
 *   <li>no node has an empty active view while its passive view holds live peers;</li>
 *   <li>every bounded table is within its cap (view sizes among them).</li>
 * </ol>
 */
final class InvariantChecker {

  private static final int MAX_LISTED = 50;

  private InvariantChecker() {}

  static List<String> check(Simulation sim) {
    List<String> found = new ArrayList<>();
    int total = 0;
    for (SimNode n : sim.nodes()) {
      if (!n.alive) continue;
      List<String> local = checkNode(sim, n);
      total += local.size();
      for (String v : local) {
        if (found.size() < MAX_LISTED) found.add(v);
      }
    }
    if (total > found.size()) found.add("... and " + (total - found.size()) + " more");
    return found;
  }

  private static List<String> checkNode(Simulation sim, SimNode n) {
    List<String> v = new ArrayList<>();
    NodeState core = n.core;
    for (NodeState.CapacityUse use : core.capacityUses()) {
      if (use.exceeded()) v.add(n + ": " + use.table() + " holds " + use.size() + ", cap " + use.cap());
    }
    StreamState s = core.stream(sim.streamOf(n.index));
    if (s == null) return v;
    HyParView m = s.membership();
    for (PeerInfo p : m.activeView()) {
      SimNode q = sim.node(p.id());
      if (q == null || !q.alive) {
        v.add(n + ": dead peer " + p.id() + " in active view");
        continue;
      }
      StreamState qs = q.core.stream(sim.streamOf(n.index));
      if (qs == null || !qs.membership().isActive(n.id)) {
        v.add(n + ": active view holds " + q + ", whose active view does not hold it");
        continue;
      }
      checkEagerSymmetry(n, s.broadcast(), q, qs.broadcast(), v);
    }
    if (m.activeSize() == 0) {
      for (PeerInfo p : m.passiveView()) {
        SimNode q = sim.node(p.id());
        if (q != null && q.alive) {
          v.add(n + ": empty active view while passive view holds live " + q);
          break;
        }
      }
    }
    if (!s.broadcast().lazySetsWithinNeighbors()) v.add(n + ": a lazy set holds a peer that is not a neighbour");
    return v;
  }

  /** Whether a pushes to b exactly when b has not pruned a, for every tree either knows. */
  private static void checkEagerSymmetry(SimNode a, Plumtree pa, SimNode b, Plumtree pb, List<String> v) {
    Set<PeerId> keys = new LinkedHashSet<>();
    keys.add(null); // the shared tree, or "no tree yet" under per-publisher trees
    keys.addAll(pa.treeKeys());
    keys.addAll(pb.treeKeys());
    for (PeerId publisher : keys) {
      boolean aPushes = !pa.lazyPeers(publisher).contains(b.id);
      boolean bPrunedA = pb.prunedPeers(publisher).contains(a.id);
      if (aPushes == bPrunedA) {
        v.add(a + " and " + b + " disagree on the link " + a + "→" + b + " for publisher " + publisher
            + " (" + a + (aPushes ? " pushes" : " only announces") + ", " + b
            + (bPrunedA ? " pruned it" : " expects pushes") + ")");
      }
    }
  }
}
