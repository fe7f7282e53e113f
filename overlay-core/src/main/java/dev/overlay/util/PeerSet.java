package dev.overlay.util;

import dev.overlay.core.PeerId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A small ordered set of peer ids with random access. The sets it holds (active views, lazy
 * sets) have a few to a few dozen members, so a linear scan over an array is faster than
 * hashing, allocates nothing, and keeps iteration order deterministic.
 */
public final class PeerSet {

  private PeerId[] ids;
  private int size;

  public PeerSet(int initialCapacity) {
    ids = new PeerId[Math.max(1, initialCapacity)];
  }

  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  public PeerId get(int index) {
    if (index >= size) throw new IndexOutOfBoundsException(index);
    return ids[index];
  }

  public boolean contains(PeerId id) {
    return indexOf(id) >= 0;
  }

  public int indexOf(PeerId id) {
    // Identity first: callers mostly pass the very instance stored here, and comparing
    // references avoids loading every member's fields.
    for (int i = 0; i < size; i++) {
      if (ids[i] == id) return i;
    }
    for (int i = 0; i < size; i++) {
      if (ids[i].equals(id)) return i;
    }
    return -1;
  }

  /** Adds the id if absent; returns whether it was added. */
  public boolean add(PeerId id) {
    if (contains(id)) return false;
    if (size == ids.length) ids = Arrays.copyOf(ids, size * 2);
    ids[size++] = id;
    return true;
  }

  /** Removes the id, keeping the order of the rest; returns whether it was present. */
  public boolean remove(PeerId id) {
    int i = indexOf(id);
    if (i < 0) return false;
    System.arraycopy(ids, i + 1, ids, i, size - i - 1);
    ids[--size] = null;
    return true;
  }

  public void clear() {
    Arrays.fill(ids, 0, size, null);
    size = 0;
  }

  /** A uniformly random member, or null when empty. */
  public PeerId random(RandomGenerator rng) {
    return size == 0 ? null : ids[rng.nextInt(size)];
  }

  public List<PeerId> toList() {
    List<PeerId> out = new ArrayList<>(size);
    for (int i = 0; i < size; i++) out.add(ids[i]);
    return out;
  }

  @Override
  public String toString() {
    return toList().toString();
  }
}
