package dev.overlay.broadcast;

/**
 * A smoothed estimate of how much later than its announcement the tree brings a message, with
 * its mean deviation, as RFC 6298 keeps a smoothed round-trip time: {@code srtt += (s - srtt)/8},
 * {@code rttvar += (|s - srtt| - rttvar)/4}. The timeout it gives is {@code srtt + 4 rttvar},
 * at most {@link #MAX_NANOS}, and 0 before the first sample (the configured timeout applies).
 */
final class Lateness {

  /** The longest wait it asks for: past this, a message is fetched however late the tree runs. */
  static final long MAX_NANOS = 5_000_000_000L;

  private long srtt = -1;
  private long rttvar;
  private boolean sampledSinceDecay;

  void sample(long nanos) {
    if (nanos < 0) return;
    sampledSinceDecay = true;
    if (srtt < 0) {
      srtt = nanos;
      rttvar = nanos / 2;
      return;
    }
    rttvar += (Math.abs(nanos - srtt) - rttvar) / 4;
    srtt += (nanos - srtt) / 8;
  }

  /**
   * Called every housekeeping interval: with no late message since the last call, the estimate
   * halves, so that once the tree is on time again a lost message is fetched as quickly as before.
   */
  void decay() {
    if (!sampledSinceDecay && srtt >= 0) {
      srtt /= 2;
      rttvar /= 2;
      if (srtt < 1_000_000) srtt = -1; // under a millisecond: back to the configured timeout
    }
    sampledSinceDecay = false;
  }

  long timeoutNanos() {
    return srtt < 0 ? 0 : Math.min(MAX_NANOS, srtt + 4 * rttvar);
  }
}
