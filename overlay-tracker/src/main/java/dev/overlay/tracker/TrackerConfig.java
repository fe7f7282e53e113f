package dev.overlay.tracker;

import java.time.Duration;

/**
 * A tracker's limits and timings. Immutable; build with {@link #builder()}.
 *
 * <p>Defaults, and where they come from:
 * <ul>
 *   <li>{@code peersPerAnswer} 8: HyParView's active view (5) plus a few, so that a joiner has
 *       spare contacts if its first choices are gone (the "active view size plus a few").</li>
 *   <li>{@code registrationTtl} 90 s: three heartbeats of the node runtime's default 30 s, so one
 *       or two lost heartbeats do not forget a live node (Streamr's trackers used a similar
 *       multiple of their status interval).</li>
 *   <li>{@code maxStreams} 100,000, {@code maxMembersPerStream} 100,000,
 *       {@code maxRegistrations} 2,000,000: at about 200 bytes per registration, well under 1 GB
 *       in the worst case.</li>
 *   <li>{@code requestsPerSecond} 20 per node, burst {@code requestBurst} 200: a node in 100
 *       streams sends about 3 heartbeats a second; a restart re-registers all at once.</li>
 *   <li>{@code maxRateLimitedNodes} 200,000: the per-node rate table, evicting idle entries.</li>
 *   <li>{@code maxStreamsPerNode} 1,024: a node's own limit on joined streams (NodeConfig), so
 *       no honest node is refused; 500 fresh keys once filled every stream slot in 24 s.</li>
 *   <li>{@code maxRegistrationsPerAddress} 16,384 and {@code maxIdentitiesPerAddressPerStream}
 *       256, counted per source /24 (IPv4) or /48 (IPv6): sixteen gateways behind one NAT, each in
 *       1,024 streams, fit; one attacker address holds a sixth of a percent of the table, and at
 *       most 256 of a stream's members. Our choice; raise them for a tracker serving a large
 *       NATed site, or the loopback benchmarks.</li>
 *   <li>{@code establishedAge} 10 minutes: members registered this long are introduced first.
 *       Sybils must keep heartbeating for that long before they compete with the members they
 *       want to eclipse, and answers spread over source addresses (see TrackerState). Our
 *       choice: longer than a restart, shorter than a deployment's life.</li>
 * </ul>
 */
public record TrackerConfig(
    int peersPerAnswer,
    long registrationTtlNanos,
    int maxStreams,
    int maxMembersPerStream,
    int maxRegistrations,
    double requestsPerSecond,
    int requestBurst,
    int maxRateLimitedNodes,
    int maxStreamsPerNode,
    int maxRegistrationsPerAddress,
    int maxIdentitiesPerAddressPerStream,
    long establishedAgeNanos) {

  public TrackerConfig {
    if (peersPerAnswer < 1 || peersPerAnswer > 64) throw new IllegalArgumentException("peersPerAnswer must be 1..64 (a wire limit)");
    if (registrationTtlNanos <= 0) throw new IllegalArgumentException("registrationTtl must be positive");
    if (maxStreams < 1 || maxMembersPerStream < 1 || maxRegistrations < 1) throw new IllegalArgumentException("table caps must be positive");
    if (!(requestsPerSecond > 0)) throw new IllegalArgumentException("requestsPerSecond must be positive");
    if (requestBurst < 1) throw new IllegalArgumentException("requestBurst must be at least 1");
    if (maxRateLimitedNodes < 1) throw new IllegalArgumentException("maxRateLimitedNodes must be positive");
    if (maxStreamsPerNode < 1 || maxRegistrationsPerAddress < 1 || maxIdentitiesPerAddressPerStream < 1) {
      throw new IllegalArgumentException("quotas must be positive");
    }
    if (establishedAgeNanos < 0) throw new IllegalArgumentException("establishedAge must not be negative");
  }

  public static TrackerConfig defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private int peersPerAnswer = 8;
    private Duration registrationTtl = Duration.ofSeconds(90);
    private int maxStreams = 100_000;
    private int maxMembersPerStream = 100_000;
    private int maxRegistrations = 2_000_000;
    private double requestsPerSecond = 20;
    private int requestBurst = 200;
    private int maxRateLimitedNodes = 200_000;
    private int maxStreamsPerNode = 1024;
    private int maxRegistrationsPerAddress = 16_384;
    private int maxIdentitiesPerAddressPerStream = 256;
    private Duration establishedAge = Duration.ofMinutes(10);

    public Builder maxStreamsPerNode(int v) {
      maxStreamsPerNode = v;
      return this;
    }

    public Builder maxRegistrationsPerAddress(int v) {
      maxRegistrationsPerAddress = v;
      return this;
    }

    public Builder maxIdentitiesPerAddressPerStream(int v) {
      maxIdentitiesPerAddressPerStream = v;
      return this;
    }

    public Builder establishedAge(Duration v) {
      establishedAge = v;
      return this;
    }

    public Builder peersPerAnswer(int v) {
      peersPerAnswer = v;
      return this;
    }

    public Builder registrationTtl(Duration v) {
      registrationTtl = v;
      return this;
    }

    public Builder maxStreams(int v) {
      maxStreams = v;
      return this;
    }

    public Builder maxMembersPerStream(int v) {
      maxMembersPerStream = v;
      return this;
    }

    public Builder maxRegistrations(int v) {
      maxRegistrations = v;
      return this;
    }

    public Builder requestsPerSecond(double v) {
      requestsPerSecond = v;
      return this;
    }

    public Builder requestBurst(int v) {
      requestBurst = v;
      return this;
    }

    public Builder maxRateLimitedNodes(int v) {
      maxRateLimitedNodes = v;
      return this;
    }

    public TrackerConfig build() {
      return new TrackerConfig(peersPerAnswer, registrationTtl.toNanos(), maxStreams, maxMembersPerStream, maxRegistrations,
          requestsPerSecond, requestBurst, maxRateLimitedNodes, maxStreamsPerNode, maxRegistrationsPerAddress,
          maxIdentitiesPerAddressPerStream, establishedAge.toNanos());
    }
  }
}
