package dev.overlay.util;

import dev.overlay.core.PeerId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A small ordered set of peer ids, each with a timestamp. Like {@link PeerSet}, scanned linearly. */
public final class PeerStamps {

  private PeerId[] ids;
  private long[] stamps;
  private int size;

  public PeerStamps(int initialCapacity) {
    ids = new PeerId[Math.max(1, initialCapacity)];
    stamps = new long[ids.length];
  }

  public int size() {
    return size;
  }

  public boolean contains(PeerId id) {
    return indexOf(id) >= 0;
  }

  /** The stamp of the peer, or {@code absent} when it is not a member. */
  public long stamp(PeerId id, long absent) {
    int i = indexOf(id);
    return i < 0 ? absent : stamps[i];
  }

  /** Adds the peer or updates its stamp. */
  public void put(PeerId id, long stamp) {
    int i = indexOf(id);
    if (i < 0) {
      if (size == ids.length) {
        ids = Arrays.copyOf(ids, size * 2);
        stamps = Arrays.copyOf(stamps, size * 2);
      }
      i = size++;
      ids[i] = id;
    }
    stamps[i] = stamp;
  }

  /** Adds {@code delta} to the stamp of a member, in one scan; does nothing for a non-member. */
  public void add(PeerId id, long delta) {
    int i = indexOf(id);
    if (i >= 0) stamps[i] += delta;
  }

  /** Sets every member's stamp to {@code stamp}. */
  public void fill(long stamp) {
    Arrays.fill(stamps, 0, size, stamp);
  }

  public boolean remove(PeerId id) {
    int i = indexOf(id);
    if (i < 0) return false;
    System.arraycopy(ids, i + 1, ids, i, size - i - 1);
    System.arraycopy(stamps, i + 1, stamps, i, size - i - 1);
    ids[--size] = null;
    return true;
  }

  public List<PeerId> toList() {
    List<PeerId> out = new ArrayList<>(size);
    for (int i = 0; i < size; i++) out.add(ids[i]);
    return out;
  }

  public PeerId get(int index) {
    if (index >= size) throw new IndexOutOfBoundsException(index);
    return ids[index];
  }

  private int indexOf(PeerId id) {
    for (int i = 0; i < size; i++) {
      if (ids[i] == id) return i;
    }
    for (int i = 0; i < size; i++) {
      if (ids[i].equals(id)) return i;
    }
    return -1;
  }
}
