package dev.overlay.sim;

import java.util.Locale;

/**
 * One-way latency of the link between two simulated nodes. Fixed per pair and symmetric, so
 * messages on a link arrive in the order they were sent, as on TCP. Computed from a hash of
 * (seed, pair), so nothing is stored per link.
 */
public interface LatencyModel {

  long latencyNanos(int a, int b);

  /** How the model was specified, e.g. {@code uniform:10-100}; goes into the report. */
  String describe();

  /**
   * Parses {@code const:MS}, {@code uniform:MIN-MAX} (milliseconds) or {@code geo}.
   *
   * @param regionSeed seeds the assignment of nodes to regions for {@code geo}
   */
  static LatencyModel parse(String spec, long seed, int nodes) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    if (s.equals("geo")) return new GeoLatency(seed, nodes);
    if (s.startsWith("const:")) {
      return new ConstantLatency(millis(s.substring(6), spec));
    }
    if (s.startsWith("uniform:")) {
      String[] range = s.substring(8).split("-");
      if (range.length != 2) throw new IllegalArgumentException("expected uniform:MIN-MAX, got " + spec);
      return new UniformLatency(millis(range[0], spec), millis(range[1], spec), seed);
    }
    throw new IllegalArgumentException("unknown latency model '" + spec + "': use geo, uniform:MIN-MAX or const:MS");
  }

  private static double millis(String v, String spec) {
    try {
      double ms = Double.parseDouble(v);
      if (ms < 0) throw new IllegalArgumentException("negative latency in " + spec);
      return ms;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a number of milliseconds in " + spec + ": " + v);
    }
  }

  /** A uniform double in [0, 1) from (seed, a, b), the same for (b, a). SplitMix64's finaliser. */
  static double pairUniform(long seed, int a, int b) {
    long lo = Math.min(a, b);
    long hi = Math.max(a, b);
    long z = seed + (lo << 32 | hi) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z ^= z >>> 31;
    return (z >>> 11) * 0x1.0p-53;
  }

  /** Every link has the same latency. */
  record ConstantLatency(double millis) implements LatencyModel {
    @Override
    public long latencyNanos(int a, int b) {
      return (long) (millis * 1_000_000);
    }

    @Override
    public String describe() {
      return "const:" + fmt(millis);
    }
  }

  /** Each link's latency is drawn uniformly from [min, max] milliseconds, once. */
  record UniformLatency(double minMillis, double maxMillis, long seed) implements LatencyModel {
    public UniformLatency {
      if (maxMillis < minMillis) throw new IllegalArgumentException("uniform latency max < min");
    }

    @Override
    public long latencyNanos(int a, int b) {
      double ms = minMillis + (maxMillis - minMillis) * pairUniform(seed, a, b);
      return (long) (ms * 1_000_000);
    }

    @Override
    public String describe() {
      return "uniform:" + fmt(minMillis) + "-" + fmt(maxMillis);
    }
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
