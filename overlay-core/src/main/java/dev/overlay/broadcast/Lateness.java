package dev.overlay.broadcast;

/**
 * A smoothed estimate of how much later than its announcement the tree brings a message, with
 * its mean deviation, as RFC 6298 keeps a smoothed round-trip time: {@code srtt += (s - srtt)/8},
 * {@code rttvar += (|s - srtt| - rttvar)/4}. The timeout it gives is {@code srtt + 4 rttvar},
 * at most {@link #MAX_NANOS}, and 0 before the first sample (the configured timeout applies).
 *
 * <p>The estimate halves for every {@link #HALF_LIFE_NANOS} without a sample: late copies are
 * sampled only while the tree is late, so silence means it is on time again, and a lost message
 * should then be fetched as quickly as before the overload. Not faster: under sustained
 * overload samples are rare (announcements for a tree that is delivering wait in its range and
 * are no sample), and with a half-life of 1 s the estimate fell back to the configured 250 ms
 * between samples; late messages were fetched by GRAFT, each GRAFT made its answerer eager,
 * and the sweep at 100,000-200,000 msg/s lost messages (completeness 0.986-0.990, 270 k GRAFTs).
 * 5 s is the housekeeping interval that decayed it before, measured without that loss.
 */
final class Lateness {

  /** The longest wait it asks for: past this, a message is fetched however late the tree runs. */
  static final long MAX_NANOS = 5_000_000_000L;
  static final long HALF_LIFE_NANOS = 5_000_000_000L;

  private long srtt = -1;
  private long rttvar;
  private long sampledAt;

  void sample(long now, long nanos) {
    if (nanos < 0) return;
    decayTo(now);
    sampledAt = now;
    if (srtt < 0) {
      srtt = nanos;
      rttvar = nanos / 2;
      return;
    }
    rttvar += (Math.abs(nanos - srtt) - rttvar) / 4;
    srtt += (nanos - srtt) / 8;
  }

  long timeoutNanos(long now) {
    if (srtt < 0) return 0;
    long t = Math.min(MAX_NANOS, srtt + 4 * rttvar) >> halvings(now);
    return t < 1_000_000 ? 0 : t; // under a millisecond: the configured timeout applies
  }

  private void decayTo(long now) {
    int h = halvings(now);
    if (h == 0 || srtt < 0) return;
    srtt >>= h;
    rttvar >>= h;
    if (srtt < 1_000_000) srtt = -1;
  }

  private int halvings(long now) {
    long idle = now - sampledAt;
    return idle <= 0 ? 0 : (int) Math.min(62, idle / HALF_LIFE_NANOS);
  }
}
