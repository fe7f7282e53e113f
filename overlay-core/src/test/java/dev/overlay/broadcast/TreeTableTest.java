package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.broadcast.TreeTable.Tree;
import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.TreeStrategy;
import dev.overlay.core.PeerId;
import dev.overlay.util.PeerStamps;
import org.junit.jupiter.api.Test;

/** The trees' link states: made on use, least recently used evicted, demoted peers lazy from the start. */
class TreeTableTest {

  private static final PeerId A = id(2);
  private static final PeerId B = id(3);
  private static final PeerId P1 = id(11);
  private static final PeerId P2 = id(12);
  private static final PeerId P3 = id(13);

  private final PeerStamps demoted = new PeerStamps(2);

  private TreeTable table(int maxTrees) {
    return new TreeTable(PlumtreeConfig.defaults().toBuilder().maxPublisherTrees(maxTrees).build(), demoted);
  }

  @Test
  void theLeastRecentlyUsedTreeIsEvictedWhenTheTableIsFull() {
    TreeTable trees = table(2);
    Tree first = trees.tree(P1);
    trees.tree(P2);
    assertThat(trees.tree(P1)).as("the same tree, used again").isSameAs(first);
    trees.tree(P3);
    assertThat(trees.publishers()).containsExactly(P1, P3);
    assertThat(trees.count()).isEqualTo(2);
    assertThat(trees.existing(P2)).isNull();
  }

  @Test
  void existingNeitherMakesNorUsesATree() {
    TreeTable trees = table(2);
    assertThat(trees.existing(P1)).isNull();
    assertThat(trees.lazySet(P1)).isNull();
    assertThat(trees.publishers()).isEmpty();

    trees.tree(P1);
    trees.tree(P2);
    for (int i = 0; i < 3; i++) assertThat(trees.existing(P1)).isNotNull();
    trees.tree(P3);
    assertThat(trees.publishers()).as("looking at P1 did not count as a use").containsExactly(P2, P3);
  }

  @Test
  void aNewTreeStartsWithDemotedPeersLazyAndAnEvictedOneStartsOver() {
    TreeTable trees = table(2);
    demoted.put(A, 0);
    Tree t = trees.tree(P1);
    assertThat(t.lazy.toList()).containsExactly(A);
    t.lazy.add(B); // B pruned us
    t.pruned.put(A, 5);

    trees.tree(P2);
    trees.tree(P3); // evicts P1
    Tree again = trees.tree(P1);
    assertThat(again).isNotSameAs(t);
    assertThat(again.lazy.toList()).as("B's prune was forgotten with the tree; A is still held off").containsExactly(A);
    assertThat(again.pruned.size()).isZero();
  }

  @Test
  void underTheSharedStrategyEveryPublisherUsesTheOneTree() {
    TreeTable trees = new TreeTable(PlumtreeConfig.defaults().toBuilder().treeStrategy(TreeStrategy.SHARED).build(), demoted);
    Tree shared = trees.tree(P1);
    assertThat(trees.tree(P2)).isSameAs(shared);
    assertThat(trees.existing(P3)).isSameAs(shared);
    assertThat(trees.publishers()).isEmpty();
    assertThat(trees.count()).isEqualTo(1);
  }

  @Test
  void makeLazyAndForgetReachEveryTreeAndWithinChecksThemAll() {
    TreeTable trees = table(4);
    trees.tree(P1);
    trees.tree(P2).grafted.put(B, 7);
    trees.makeLazy(A);
    assertThat(trees.lazySet(P1).contains(A)).isTrue();
    assertThat(trees.lazySet(P2).contains(A)).isTrue();

    PeerStamps neighbors = new PeerStamps(2);
    neighbors.put(A, 0);
    assertThat(trees.within(neighbors)).as("P2's graft of B is outside").isFalse();
    neighbors.put(B, 0);
    assertThat(trees.within(neighbors)).isTrue();

    trees.forget(A);
    trees.forget(B);
    assertThat(trees.lazySet(P1).size()).isZero();
    assertThat(trees.lazySet(P2).size()).isZero();
    assertThat(trees.within(new PeerStamps(2))).isTrue();
  }
}
