package dev.overlay.sim;

import java.util.SplittableRandom;

/**
 * Nodes placed in eight cloud regions on four continents, uniformly at random. Between regions
 * the one-way latency is half of a typical round-trip time between public cloud regions
 * (rounded, from published inter-region ping tables), ±10 % per link; inside a region it is
 * 1-5 ms.
 */
final class GeoLatency implements LatencyModel {

  static final String[] REGIONS = {
    "us-east", "us-west", "eu-west", "eu-central", "ap-northeast", "ap-southeast", "sa-east", "ap-south"
  };

  /** Typical round-trip times in milliseconds; symmetric, zero on the diagonal. */
  private static final int[][] RTT_MS = {
    //  use  usw  euw  euc  apne apse  sae  aps
    {    0,  65,  70,  90, 150, 215, 115, 185}, // us-east
    {   65,   0, 125, 140, 100, 165, 175, 220}, // us-west
    {   70, 125,   0,  25, 200, 170, 180, 120}, // eu-west
    {   90, 140,  25,   0, 225, 160, 200, 110}, // eu-central
    {  150, 100, 200, 225,   0,  70, 255, 130}, // ap-northeast
    {  215, 165, 170, 160,  70,   0, 325,  60}, // ap-southeast
    {  115, 175, 180, 200, 255, 325,   0, 300}, // sa-east
    {  185, 220, 120, 110, 130,  60, 300,   0}, // ap-south
  };

  private final long seed;
  private final byte[] regionOf;

  GeoLatency(long seed, int nodes) {
    this.seed = seed;
    this.regionOf = new byte[nodes];
    SplittableRandom rng = new SplittableRandom(seed ^ 0x5EED_6E0L);
    for (int i = 0; i < nodes; i++) regionOf[i] = (byte) rng.nextInt(REGIONS.length);
  }

  @Override
  public long latencyNanos(int a, int b) {
    int ra = regionOf[a];
    int rb = regionOf[b];
    double u = LatencyModel.pairUniform(seed, a, b);
    double ms = ra == rb ? 1 + 4 * u : RTT_MS[ra][rb] / 2.0 * (0.9 + 0.2 * u);
    return (long) (ms * 1_000_000);
  }

  String regionOf(int node) {
    return REGIONS[regionOf[node]];
  }

  @Override
  public String describe() {
    return "geo";
  }
}
