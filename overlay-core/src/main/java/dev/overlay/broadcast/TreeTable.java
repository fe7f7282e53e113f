package dev.overlay.broadcast;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.TreeStrategy;
import dev.overlay.core.PeerId;
import dev.overlay.util.PeerSet;
import dev.overlay.util.PeerStamps;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Plumtree's trees: each publisher's link states (or the one shared tree's, under
 * {@link TreeStrategy#SHARED}), at most {@code maxPublisherTrees} of them, the least recently used
 * evicted. {@link #tree} is a use (it may create a tree, evict another, and moves the use clock);
 * {@link #existing} only looks.
 */
final class TreeTable {

  /** One tree's link states; a neighbour in neither set is eager in both directions. */
  static final class Tree {
    final PeerId publisher; // null for the shared tree
    /** Neighbours that pruned us: we announce to them instead of pushing. */
    final PeerSet lazy = new PeerSet(8);
    /** Neighbours we pruned, with when we last told them: they announce to us. */
    final PeerStamps pruned = new PeerStamps(8);
    /** Neighbours we grafted (to repair, or for a shorter path), with when. */
    final PeerStamps grafted = new PeerStamps(2);
    long lastUsed;

    Tree(PeerId publisher) {
      this.publisher = publisher;
    }
  }

  private final PlumtreeConfig config;
  /** Neighbours held off the eager path (Plumtree's, read here): a new tree starts with them lazy. */
  private final PeerStamps demoted;
  private final Tree sharedTree = new Tree(null);
  private final LinkedHashMap<PeerId, Tree> publisherTrees = new LinkedHashMap<>();
  private Tree lastTree; // most streams carry one or a few publishers: skip the hash lookup
  private long treeClock; // orders tree use for least-recently-used eviction

  TreeTable(PlumtreeConfig config, PeerStamps demoted) {
    this.config = config;
    this.demoted = demoted;
  }

  /** The publisher's tree, made if it has none (evicting the least recently used when full); marks it used. */
  Tree tree(PeerId publisher) {
    if (config.treeStrategy() == TreeStrategy.SHARED) return sharedTree;
    Tree t = existing(publisher);
    if (t == null) {
      if (publisherTrees.size() >= config.maxPublisherTrees()) evictLeastRecentlyUsed();
      t = new Tree(publisher);
      for (int i = 0; i < demoted.size(); i++) t.lazy.add(demoted.get(i)); // held off the eager path (an expired hold ends at its first GRAFT)
      publisherTrees.put(publisher, t);
      lastTree = t;
    }
    t.lastUsed = ++treeClock;
    return t;
  }

  /** The publisher's tree, or null if it has none; neither makes nor uses one. */
  Tree existing(PeerId publisher) {
    if (config.treeStrategy() == TreeStrategy.SHARED) return sharedTree;
    Tree t = lastTree;
    if (t != null && (t.publisher == publisher || t.publisher.equals(publisher))) return t;
    t = publisherTrees.get(publisher);
    if (t != null) lastTree = t;
    return t;
  }

  /** The lazy peers of a publisher's tree, for the IHAVE batcher; null when the tree was evicted. */
  PeerSet lazySet(PeerId publisher) {
    Tree tree = existing(publisher);
    return tree == null ? null : tree.lazy;
  }

  /** The peer is eager both ways again in every tree (it came up, or went down). */
  void forget(PeerId peer) {
    forget(sharedTree, peer);
    for (Tree t : publisherTrees.values()) forget(t, peer);
  }

  /** The peer is lazy in every tree, as if it had pruned us. */
  void makeLazy(PeerId peer) {
    sharedTree.lazy.add(peer);
    for (Tree t : publisherTrees.values()) t.lazy.add(peer);
  }

  /** Whether every tree's link states only name peers in {@code neighbors}. */
  boolean within(PeerStamps neighbors) {
    if (!within(sharedTree, neighbors)) return false;
    for (Tree t : publisherTrees.values()) {
      if (!within(t, neighbors)) return false;
    }
    return true;
  }

  /** The publishers with their own tree (empty under {@link TreeStrategy#SHARED}), oldest first. */
  List<PeerId> publishers() {
    return new ArrayList<>(publisherTrees.keySet());
  }

  int count() {
    return config.treeStrategy() == TreeStrategy.SHARED ? 1 : publisherTrees.size();
  }

  private static void forget(Tree t, PeerId peer) {
    t.lazy.remove(peer);
    t.pruned.remove(peer);
    t.grafted.remove(peer);
  }

  private static boolean within(Tree t, PeerStamps neighbors) {
    for (int i = 0; i < t.lazy.size(); i++) {
      if (!neighbors.contains(t.lazy.get(i))) return false;
    }
    for (int i = 0; i < t.pruned.size(); i++) {
      if (!neighbors.contains(t.pruned.get(i))) return false;
    }
    for (int i = 0; i < t.grafted.size(); i++) {
      if (!neighbors.contains(t.grafted.get(i))) return false;
    }
    return true;
  }

  /** If the evicted tree's publisher returns, its tree starts all-eager and prunes itself back into shape. */
  private void evictLeastRecentlyUsed() {
    Tree oldest = null;
    for (Tree t : publisherTrees.values()) {
      if (oldest == null || t.lastUsed < oldest.lastUsed) oldest = t;
    }
    publisherTrees.remove(oldest.publisher);
    if (oldest == lastTree) lastTree = null;
  }
}
