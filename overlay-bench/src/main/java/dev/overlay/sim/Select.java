package dev.overlay.sim;

/**
 * Nearest-rank percentiles by selection (expected O(n)) rather than sorting: the simulator
 * reports percentiles of ten million deliveries at a time. Deterministic: pivots are medians
 * of three, not random.
 */
final class Select {

  private Select() {}

  /** Percentiles {@code qs} (ascending) of {@code a}; reorders {@code a}. */
  static double[] percentiles(double[] a, double... qs) {
    double[] out = new double[qs.length];
    int hi = a.length;
    for (int i = qs.length - 1; i >= 0; i--) { // largest first, then search only below it
      if (a.length == 0) break;
      int k = rank(qs[i], a.length);
      select(a, 0, hi, k);
      out[i] = a[k];
      hi = k + 1;
    }
    return out;
  }

  static int rank(double q, int n) {
    int k = (int) Math.ceil(q * n) - 1;
    return Math.max(0, Math.min(n - 1, k));
  }

  /** Rearranges a[from, to) so that a[k] holds the value it would have if sorted. */
  static void select(double[] a, int from, int to, int k) {
    int lo = from;
    int hi = to - 1;
    while (hi > lo) {
      if (hi - lo < 16) {
        insertionSort(a, lo, hi);
        return;
      }
      int mid = (lo + hi) >>> 1;
      double pivot = median(a[lo], a[mid], a[hi]);
      int i = lo;
      int j = hi;
      while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
          double t = a[i];
          a[i] = a[j];
          a[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return;
    }
  }

  private static double median(double x, double y, double z) {
    return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
  }

  private static void insertionSort(double[] a, int lo, int hi) {
    for (int i = lo + 1; i <= hi; i++) {
      double v = a[i];
      int j = i - 1;
      while (j >= lo && a[j] > v) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
  }
}
