package dev.overlay.config;

import java.time.Duration;

/**
 * Publisher authentication: whether it is required, how messages are batched under one
 * signature, and what verifying may cost. Built by {@link #builder()}, which checks every value.
 *
 * <p>Defaults, and where they come from (measured in docs/benchmarks.md, "Signatures"):
 * <ul>
 *   <li>{@code required} true: every message is sealed by its publisher, and a node delivers,
 *       forwards, caches or records as seen only messages whose seal verifies. Turning it off
 *       makes a node neither sign nor check; a node that requires seals drops such a node's
 *       messages.</li>
 *   <li>{@code sealInterval} 2 ms: a publisher that has not sealed for this long seals its
 *       message at once (no delay at low rates); otherwise its messages wait for the next seal,
 *       at most this long. So a publisher signs at most 500 times a second and every receiver
 *       verifies at most that often per publisher, while a message waits at most 2 ms. ECDSA
 *       P-256 verification costs about 60 µs on the JVM: 1 ms would double the verification
 *       cost at 1,000 msg/s for half the delay.</li>
 *   <li>{@code maxSealMessages} 256: the most messages under one seal (4 KiB of digests), so
 *       that the seal frame stays small.</li>
 *   <li>{@code sealsPerPublisher} 1,024: verified seals kept per publisher session while their
 *       messages are still arriving. A message travels behind its seal on the same link, so a
 *       node needs a seal until the rest of its batch has come over the slowest of its links,
 *       which under overload is seconds: 1,024 seals are 2 s of a publisher at its highest seal
 *       rate (about 1 MB at 35,000 msg/s). It was 64 (128 ms): in the sweep at 200,000 msg/s
 *       copies arriving later than that were dropped as unsealed (2,000-6,000 per node), had to
 *       be fetched again, and some never were (completeness 0.983). A stream holds at most
 *       {@code SealBook.MAX_SEALS} seals over all its publishers. A GRAFT answer carries its
 *       seal again in any case.</li>
 *   <li>{@code verificationsPerSecond} 2,000 per publisher and 4,000 per neighbour: signature
 *       checks beyond these are refused (the message is dropped, counted as
 *       {@code RATE_LIMITED}); an honest publisher needs at most 500. A peer cannot make the
 *       node spend more than a quarter of a core on signatures (at 60 µs each).</li>
 * </ul>
 */
public record AuthConfig(boolean required, long sealIntervalNanos, int maxSealMessages, int sealsPerPublisher,
    int verificationsPerSecondPerPublisher, int verificationsPerSecondPerPeer) {

  /**
   * Checks every value.
   *
   * @param required {@code required} (class description)
   * @param sealIntervalNanos {@code sealInterval} in nanoseconds (class description)
   * @param maxSealMessages {@code maxSealMessages} (class description)
   * @param sealsPerPublisher {@code sealsPerPublisher} (class description)
   * @param verificationsPerSecondPerPublisher {@code verificationsPerSecondPerPublisher} (class description)
   * @param verificationsPerSecondPerPeer {@code verificationsPerSecondPerPeer} (class description)
   * @throws IllegalArgumentException naming the first value out of its bounds
   */
  public AuthConfig {
    if (sealIntervalNanos < 0) throw new IllegalArgumentException("sealInterval must not be negative");
    if (maxSealMessages < 1 || maxSealMessages > dev.overlay.protocol.Seal.MAX_COUNT) {
      throw new IllegalArgumentException("maxSealMessages must be 1.." + dev.overlay.protocol.Seal.MAX_COUNT);
    }
    if (sealsPerPublisher < 1) throw new IllegalArgumentException("sealsPerPublisher must be at least 1");
    if (verificationsPerSecondPerPublisher < 1 || verificationsPerSecondPerPeer < 1) {
      throw new IllegalArgumentException("verification budgets must be positive");
    }
  }

  /**
   * The defaults, each with its source in the class description.
   *
   * @return the default configuration
   */
  public static AuthConfig defaults() {
    return builder().build();
  }

  /**
   * No signing and no checking: for closed networks and for measuring what authentication costs.
   *
   * @return the configuration
   */
  public static AuthConfig off() {
    return builder().required(false).build();
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
    private boolean required = true;
    private Duration sealInterval = Duration.ofMillis(2);
    private int maxSealMessages = 256;
    private int sealsPerPublisher = 1_024;
    private int verificationsPerSecondPerPublisher = 2_000;
    private int verificationsPerSecondPerPeer = 4_000;

    /**
     * Sets {@code required}. From the class description: {@code required} true: every message is
     * sealed by its publisher, and a node delivers, forwards, caches or records as seen only
     * messages whose seal verifies. Turning it off makes a node neither sign nor check; a node that
     * requires seals drops such a node's messages.
     *
     * @param v the value
     * @return this builder
     */
    public Builder required(boolean v) {
      required = v;
      return this;
    }

    /**
     * Sets {@code sealInterval}. From the class description: {@code sealInterval} 2 ms: a publisher
     * that has not sealed for this long seals its message at once (no delay at low rates);
     * otherwise its messages wait for the next seal, at most this long. So a publisher signs at
     * most 500 times a second and every receiver verifies at most that often per publisher, while a
     * message waits at most 2 ms. ECDSA P-256 verification costs about 60 µs on the JVM: 1 ms would
     * double the verification cost at 1,000 msg/s for half the delay.
     *
     * @param v the value
     * @return this builder
     */
    public Builder sealInterval(Duration v) {
      sealInterval = v;
      return this;
    }

    /**
     * Sets {@code maxSealMessages}. From the class description: {@code maxSealMessages} 256: the
     * most messages under one seal (4 KiB of digests), so that the seal frame stays small.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxSealMessages(int v) {
      maxSealMessages = v;
      return this;
    }

    /**
     * Sets {@code sealsPerPublisher}. From the class description: {@code sealsPerPublisher} 1,024:
     * verified seals kept per publisher session while their messages are still arriving. A message
     * travels behind its seal on the same link, so a node needs a seal until the rest of its batch
     * has come over the slowest of its links, which under overload is seconds: 1,024 seals are 2 s
     * of a publisher at its highest seal rate (about 1 MB at 35,000 msg/s). It was 64 (128 ms): in
     * the sweep at 200,000 msg/s copies arriving later than that were dropped as unsealed
     * (2,000-6,000 per node), had to be fetched again, and some never were (completeness 0.983). A
     * stream holds at most {@code SealBook.MAX_SEALS} seals over all its publishers. A GRAFT answer
     * carries its seal again in any case.
     *
     * @param v the value
     * @return this builder
     */
    public Builder sealsPerPublisher(int v) {
      sealsPerPublisher = v;
      return this;
    }

    /**
     * Sets {@code verificationsPerSecondPerPublisher}; its default and bounds are in the class
     * description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder verificationsPerSecondPerPublisher(int v) {
      verificationsPerSecondPerPublisher = v;
      return this;
    }

    /**
     * Sets {@code verificationsPerSecondPerPeer}; its default and bounds are in the class
     * description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder verificationsPerSecondPerPeer(int v) {
      verificationsPerSecondPerPeer = v;
      return this;
    }

    /**
     * Checks every value and builds the configuration.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the first value out of its bounds
     */
    public AuthConfig build() {
      return new AuthConfig(required, sealInterval.toNanos(), maxSealMessages, sealsPerPublisher,
          verificationsPerSecondPerPublisher, verificationsPerSecondPerPeer);
    }
  }
}
