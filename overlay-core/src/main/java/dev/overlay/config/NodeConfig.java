package dev.overlay.config;

import dev.overlay.config.HyParViewConfig;
import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.SeenConfig;
import java.time.Duration;

/**
 * Everything a node's protocol core can be tuned by. Immutable; build it with {@link #builder()},
 * which checks every value. The per-protocol parts document their own defaults
 * ({@link HyParViewConfig}, {@link PlumtreeConfig}, {@link SeenConfig},
 * {@link dev.overlay.config.AuthConfig}).
 *
 * <p>Node-level defaults, and where they come from (all our own choices):
 * <ul>
 *   <li>{@code maxStreams} 1,024: an idle stream costs a few kilobytes, so this bounds the core
 *       near 10 MB however many joins the application asks for.</li>
 *   <li>{@code maxLinks} 1,024: links are shared by streams; 100 streams whose active views do
 *       not overlap need 500.</li>
 *   <li>{@code linkIdleTimeout} 10 s: a link no stream uses (one opened to answer a shuffle, or
 *       a peer that dialled us and went quiet) closes after this.</li>
 *   <li>{@code housekeepingInterval} 5 s: how often idle links and TTLs are swept; every TTL it
 *       serves is 10 s or more, so entries outlive their TTL by at most half.</li>
 *   <li>{@code maxPayloadBytes} 64 KiB: telemetry is tens to hundreds of bytes; larger payloads
 *       belong on another channel. Keeps every frame under the transport's frame limit.</li>
 *   <li>{@code incarnationTableCapacity} 4,096: peers whose latest incarnation we remember, to
 *       ignore their stale JOIN and DISCONNECT messages.</li>
 * </ul>
 */
public record NodeConfig(
    HyParViewConfig membership,
    PlumtreeConfig broadcast,
    SeenConfig seen,
    int maxStreams,
    int maxLinks,
    long linkIdleTimeoutNanos,
    long housekeepingIntervalNanos,
    int maxPayloadBytes,
    int incarnationTableCapacity,
    dev.overlay.config.AuthConfig auth) {

  /**
   * Checks every value.
   *
   * @param membership {@code membership} (class description)
   * @param broadcast {@code broadcast} (class description)
   * @param seen {@code seen} (class description)
   * @param maxStreams {@code maxStreams} (class description)
   * @param maxLinks {@code maxLinks} (class description)
   * @param linkIdleTimeoutNanos {@code linkIdleTimeout} in nanoseconds (class description)
   * @param housekeepingIntervalNanos {@code housekeepingInterval} in nanoseconds (class description)
   * @param maxPayloadBytes {@code maxPayloadBytes} (class description)
   * @param incarnationTableCapacity {@code incarnationTableCapacity} (class description)
   * @param auth {@code auth} (class description)
   * @throws IllegalArgumentException naming the first value out of its bounds
   */
  public NodeConfig {
    if (membership == null || broadcast == null || seen == null || auth == null) {
      throw new IllegalArgumentException("membership, broadcast, seen and auth configs are required");
    }
    if (maxStreams < 1) throw new IllegalArgumentException("maxStreams must be at least 1");
    if (maxLinks < membership.activeViewCapacity()) {
      throw new IllegalArgumentException("maxLinks must be at least the active view capacity");
    }
    if (linkIdleTimeoutNanos <= 0) throw new IllegalArgumentException("linkIdleTimeout must be positive");
    if (housekeepingIntervalNanos <= 0) throw new IllegalArgumentException("housekeepingInterval must be positive");
    if (maxPayloadBytes < 1 || maxPayloadBytes > dev.overlay.protocol.Message.MAX_PAYLOAD_BYTES) {
      throw new IllegalArgumentException("maxPayloadBytes must be in 1.." + dev.overlay.protocol.Message.MAX_PAYLOAD_BYTES);
    }
    if (incarnationTableCapacity < 1) throw new IllegalArgumentException("incarnationTableCapacity must be at least 1");
    if (seen.publisherTtlNanos() < broadcast.messageCacheTtlNanos()) {
      // A message answered from the cache must still be recognised as seen by the receiver.
      throw new IllegalArgumentException("seen.publisherTtl must be at least broadcast.messageCacheTtl");
    }
  }

  /**
   * The defaults, each with its source in the class description.
   *
   * @return the default configuration
   */
  public static NodeConfig defaults() {
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
   * A builder holding this configuration's values, to change some of them.
   *
   * @return a new builder
   */
  public Builder toBuilder() {
    return new Builder()
        .membership(membership)
        .broadcast(broadcast)
        .seen(seen)
        .maxStreams(maxStreams)
        .maxLinks(maxLinks)
        .linkIdleTimeout(Duration.ofNanos(linkIdleTimeoutNanos))
        .housekeepingInterval(Duration.ofNanos(housekeepingIntervalNanos))
        .maxPayloadBytes(maxPayloadBytes)
        .incarnationTableCapacity(incarnationTableCapacity)
        .auth(auth);
  }

  /**
   * Collects settings, starting from the defaults; {@link #build()} checks them.
   */
  public static final class Builder {
    private HyParViewConfig membership = HyParViewConfig.defaults();
    private PlumtreeConfig broadcast = PlumtreeConfig.defaults();
    private SeenConfig seen = SeenConfig.defaults();
    private int maxStreams = 1024;
    private int maxLinks = 1024;
    private Duration linkIdleTimeout = Duration.ofSeconds(10);
    private Duration housekeepingInterval = Duration.ofSeconds(5);
    private int maxPayloadBytes = 64 * 1024;
    private int incarnationTableCapacity = 4096;
    private dev.overlay.config.AuthConfig auth = dev.overlay.config.AuthConfig.defaults();

    /**
     * Publisher authentication; see {@link dev.overlay.config.AuthConfig}.
     *
     * @param v the authentication settings
     * @return this builder
     */
    public Builder auth(dev.overlay.config.AuthConfig v) {
      auth = v;
      return this;
    }

    /**
     * Sets {@code membership}; its default and bounds are in the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder membership(HyParViewConfig v) {
      membership = v;
      return this;
    }

    /**
     * Sets {@code broadcast}; its default and bounds are in the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder broadcast(PlumtreeConfig v) {
      broadcast = v;
      return this;
    }

    /**
     * Sets {@code seen}; its default and bounds are in the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder seen(SeenConfig v) {
      seen = v;
      return this;
    }

    /**
     * Sets {@code maxStreams}. From the class description: {@code maxStreams} 1,024: an idle stream
     * costs a few kilobytes, so this bounds the core near 10 MB however many joins the application
     * asks for.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxStreams(int v) {
      maxStreams = v;
      return this;
    }

    /**
     * Sets {@code maxLinks}. From the class description: {@code maxLinks} 1,024: links are shared
     * by streams; 100 streams whose active views do not overlap need 500.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxLinks(int v) {
      maxLinks = v;
      return this;
    }

    /**
     * Sets {@code linkIdleTimeout}. From the class description: {@code linkIdleTimeout} 10 s: a
     * link no stream uses (one opened to answer a shuffle, or a peer that dialled us and went
     * quiet) closes after this.
     *
     * @param v the value
     * @return this builder
     */
    public Builder linkIdleTimeout(Duration v) {
      linkIdleTimeout = v;
      return this;
    }

    /**
     * Sets {@code housekeepingInterval}. From the class description: {@code housekeepingInterval} 5
     * s: how often idle links and TTLs are swept; every TTL it serves is 10 s or more, so entries
     * outlive their TTL by at most half.
     *
     * @param v the value
     * @return this builder
     */
    public Builder housekeepingInterval(Duration v) {
      housekeepingInterval = v;
      return this;
    }

    /**
     * Sets {@code maxPayloadBytes}. From the class description: {@code maxPayloadBytes} 64 KiB:
     * telemetry is tens to hundreds of bytes; larger payloads belong on another channel. Keeps
     * every frame under the transport's frame limit.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxPayloadBytes(int v) {
      maxPayloadBytes = v;
      return this;
    }

    /**
     * Sets {@code incarnationTableCapacity}. From the class description: {@code
     * incarnationTableCapacity} 4,096: peers whose latest incarnation we remember, to ignore their
     * stale JOIN and DISCONNECT messages.
     *
     * @param v the value
     * @return this builder
     */
    public Builder incarnationTableCapacity(int v) {
      incarnationTableCapacity = v;
      return this;
    }

    /**
     * Checks every value and builds the configuration.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the first value out of its bounds
     */
    public NodeConfig build() {
      return new NodeConfig(membership, broadcast, seen, maxStreams, maxLinks, linkIdleTimeout.toNanos(),
          housekeepingInterval.toNanos(), maxPayloadBytes, incarnationTableCapacity, auth);
    }
  }
}
