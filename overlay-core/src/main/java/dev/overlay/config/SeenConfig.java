package dev.overlay.config;

import java.time.Duration;

/**
 * Limits of the per-stream seen set (deduplication and gap detection).
 *
 * <p>Defaults, and where they come from:
 * <ul>
 *   <li>{@code maxPublishers} 4,096: a guess sized for telemetry fleets; an entry without holes
 *       costs about 200 bytes (about 1 MB for a full table); the worst case, every publisher
 *       with both sessions at the hole limit below, is 4,096 x 2 x 256 x 16 B, 32 MiB per
 *       stream, which only a network of that many publishers under heavy loss can reach.</li>
 *   <li>{@code maxSessionsPerPublisher} 2: the current session and the one before a restart,
 *       whose last messages may still be in flight.</li>
 *   <li>{@code maxIntervalsPerSession} 256: up to 255 distinct holes per publisher before the
 *       oldest is abandoned (reported as a GapAbandoned event); Streamr's
 *       DuplicateMessageDetector bounds its gaps the same way. 32 was too few: under overload,
 *       copies arriving out of order by several paths and repairs made more holes than that,
 *       and messages still on their way were abandoned and lost (the burst scenario, issue 10).
 *       An interval is 16 bytes and the array grows only with holes in use. From three quarters
 *       of it on, a message that would split a hole in two is held back once and fetched again
 *       (its second copy is taken), so that holes fetched out of order cannot reach the limit by themselves (256 still did,
 *       once in six fresh CI runs).</li>
 *   <li>{@code publisherTtl} 10 min: a publisher silent this long is forgotten. gossipsub's
 *       seen_ttl is 2 min and iroh-gossip keeps ids 90 s; an interval set costs a few longs per
 *       publisher rather than one entry per message, so we can afford to remember longer. A
 *       publisher whose history a start asked for is not forgotten for silence (its restart's
 *       first messages are fetched), only when {@code maxPublishers} is reached.</li>
 * </ul>
 */
public record SeenConfig(int maxPublishers, int maxSessionsPerPublisher, int maxIntervalsPerSession, long publisherTtlNanos) {

  /**
   * Checks every value.
   *
   * @param maxPublishers {@code maxPublishers} (class description)
   * @param maxSessionsPerPublisher {@code maxSessionsPerPublisher} (class description)
   * @param maxIntervalsPerSession {@code maxIntervalsPerSession} (class description)
   * @param publisherTtlNanos {@code publisherTtl} in nanoseconds (class description)
   * @throws IllegalArgumentException naming the first value out of its bounds
   */
  public SeenConfig {
    if (maxPublishers < 1) throw new IllegalArgumentException("maxPublishers must be at least 1");
    if (maxSessionsPerPublisher < 1) throw new IllegalArgumentException("maxSessionsPerPublisher must be at least 1");
    if (maxIntervalsPerSession < 2) throw new IllegalArgumentException("maxIntervalsPerSession must be at least 2");
    if (publisherTtlNanos <= 0) throw new IllegalArgumentException("publisherTtl must be positive");
  }

  /**
   * The defaults, each with its source in the class description.
   *
   * @return the default configuration
   */
  public static SeenConfig defaults() {
    return builder().build();
  }

  /**
   * A builder holding the defaults.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Collects settings, starting from the defaults; {@link #build()} checks them.
   */
  public static final class Builder {
    private int maxPublishers = 4096;
    private int maxSessionsPerPublisher = 2;
    private int maxIntervalsPerSession = 256;
    private Duration publisherTtl = Duration.ofMinutes(10);

    /**
     * Sets {@code maxPublishers}. From the class description: {@code maxPublishers} 4,096: a guess
     * sized for telemetry fleets; an entry without holes costs about 200 bytes (about 1 MB for a
     * full table); the worst case, every publisher with both sessions at the hole limit below, is
     * 4,096 x 2 x 256 x 16 B, 32 MiB per stream, which only a network of that many publishers under
     * heavy loss can reach.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxPublishers(int v) {
      maxPublishers = v;
      return this;
    }

    /**
     * Sets {@code maxSessionsPerPublisher}. From the class description: {@code
     * maxSessionsPerPublisher} 2: the current session and the one before a restart, whose last
     * messages may still be in flight.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxSessionsPerPublisher(int v) {
      maxSessionsPerPublisher = v;
      return this;
    }

    /**
     * Sets {@code maxIntervalsPerSession}. From the class description: {@code
     * maxIntervalsPerSession} 256: up to 255 distinct holes per publisher before the oldest is
     * abandoned (reported as a GapAbandoned event); Streamr's DuplicateMessageDetector bounds its
     * gaps the same way. 32 was too few: under overload, copies arriving out of order by several
     * paths and repairs made more holes than that, and messages still on their way were abandoned
     * and lost (the burst scenario, issue 10). An interval is 16 bytes and the array grows only
     * with holes in use. From three quarters of it on, a message that would split a hole in two is
     * held back once and fetched again (its second copy is taken), so that holes fetched out of order cannot reach the limit by
     * themselves (256 still did, once in six fresh CI runs).
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxIntervalsPerSession(int v) {
      maxIntervalsPerSession = v;
      return this;
    }

    /**
     * Sets {@code publisherTtl}. From the class description: {@code publisherTtl} 10 min: a
     * publisher silent this long is forgotten. gossipsub's seen_ttl is 2 min and iroh-gossip keeps
     * ids 90 s; an interval set costs a few longs per publisher rather than one entry per message,
     * so we can afford to remember longer.
     *
     * @param v the value
     * @return this builder
     */
    public Builder publisherTtl(Duration v) {
      publisherTtl = v;
      return this;
    }

    /**
     * Checks every value and builds the configuration.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the first value out of its bounds
     */
    public SeenConfig build() {
      return new SeenConfig(maxPublishers, maxSessionsPerPublisher, maxIntervalsPerSession, publisherTtl.toNanos());
    }
  }
}
