package dev.overlay.util;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * A small ordered set of {@link PeerInfo}, keyed by peer id, with random access. Used for
 * HyParView's views, which hold a few dozen peers at most.
 */
public final class PeerInfoSet {

  private PeerInfo[] infos;
  private int size;

  public PeerInfoSet(int initialCapacity) {
    infos = new PeerInfo[Math.max(1, initialCapacity)];
  }

  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  public PeerInfo get(int index) {
    if (index >= size) throw new IndexOutOfBoundsException(index);
    return infos[index];
  }

  public boolean contains(PeerId id) {
    return indexOf(id) >= 0;
  }

  public PeerInfo find(PeerId id) {
    int i = indexOf(id);
    return i < 0 ? null : infos[i];
  }

  public int indexOf(PeerId id) {
    for (int i = 0; i < size; i++) {
      if (infos[i].id() == id) return i;
    }
    for (int i = 0; i < size; i++) {
      if (infos[i].id().equals(id)) return i;
    }
    return -1;
  }

  /** Adds the peer, or replaces the stored info of the same id; returns whether it was new. */
  public boolean put(PeerInfo info) {
    int i = indexOf(info.id());
    if (i >= 0) {
      infos[i] = info;
      return false;
    }
    if (size == infos.length) infos = Arrays.copyOf(infos, size * 2);
    infos[size++] = info;
    return true;
  }

  /** Removes the peer, keeping the order of the rest; returns what was stored, or null. */
  public PeerInfo remove(PeerId id) {
    int i = indexOf(id);
    if (i < 0) return null;
    PeerInfo removed = infos[i];
    System.arraycopy(infos, i + 1, infos, i, size - i - 1);
    infos[--size] = null;
    return removed;
  }

  public void clear() {
    Arrays.fill(infos, 0, size, null);
    size = 0;
  }

  /** A uniformly random member, or null when empty. */
  public PeerInfo random(RandomGenerator rng) {
    return size == 0 ? null : infos[rng.nextInt(size)];
  }

  /** A uniformly random member that passes {@code filter}, or null when none does. */
  public PeerInfo random(RandomGenerator rng, Predicate<PeerInfo> filter) {
    int matching = 0;
    for (int i = 0; i < size; i++) {
      if (filter.test(infos[i])) matching++;
    }
    if (matching == 0) return null;
    int pick = rng.nextInt(matching);
    for (int i = 0; i < size; i++) {
      if (filter.test(infos[i]) && pick-- == 0) return infos[i];
    }
    throw new AssertionError("unreachable");
  }

  /** Up to {@code count} distinct random members that pass {@code filter}, in random order. */
  public List<PeerInfo> sample(RandomGenerator rng, int count, Predicate<PeerInfo> filter) {
    List<PeerInfo> pool = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      if (filter.test(infos[i])) pool.add(infos[i]);
    }
    // Partial Fisher-Yates: the first `count` slots end up a uniform sample.
    int n = Math.min(count, pool.size());
    for (int i = 0; i < n; i++) {
      int j = i + rng.nextInt(pool.size() - i);
      PeerInfo t = pool.get(i);
      pool.set(i, pool.get(j));
      pool.set(j, t);
    }
    return new ArrayList<>(pool.subList(0, n));
  }

  public List<PeerInfo> toList() {
    List<PeerInfo> out = new ArrayList<>(size);
    for (int i = 0; i < size; i++) out.add(infos[i]);
    return out;
  }

  public List<PeerId> ids() {
    List<PeerId> out = new ArrayList<>(size);
    for (int i = 0; i < size; i++) out.add(infos[i].id());
    return out;
  }

  @Override
  public String toString() {
    return ids().toString();
  }
}
