package dev.overlay.sim;

import java.util.Arrays;

/** A growable int array: the simulator logs millions of deliveries and boxing them would dominate. */
final class IntArray {
  private int[] items = new int[1024];
  private int size;

  void add(int v) {
    if (size == items.length) items = Arrays.copyOf(items, size * 2);
    items[size++] = v;
  }

  int get(int i) {
    return items[i];
  }

  int size() {
    return size;
  }

  int[] toArray() {
    return Arrays.copyOf(items, size);
  }
}
