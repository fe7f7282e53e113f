package dev.overlay.config;

import java.time.Duration;

/**
 * HyParView's view sizes, walk lengths, periods and timeouts. Built by {@link #builder()},
 * which checks every value.
 *
 * <p>Defaults, and where they come from (paper: Leitão, Pereira, Rodrigues, "HyParView", DSN
 * 2007, p. 9, as quoted by iroh-gossip's {@code hyparview.rs}):
 * <ul>
 *   <li>{@code activeViewCapacity} 5, {@code passiveViewCapacity} 30: the paper, for
 *       10,000 nodes (log₁₀(N) + 1 active, 6× that passive).</li>
 *   <li>{@code activeRandomWalkLength} (ARWL) 6, {@code passiveRandomWalkLength} (PRWL) 3: the paper.</li>
 *   <li>{@code shuffleActiveCount} (ka) 3, {@code shufflePassiveCount} (kp) 4: the paper.</li>
 *   <li>{@code shuffleTtl} 6: the paper's walk length for shuffles (= ARWL).</li>
 *   <li>{@code shuffleInterval} 10 s: the paper counts rounds, not seconds; Partisan shuffles
 *       every 10 s, iroh-gossip every 60 s ("wild guess"). Each node starts at a random phase.</li>
 *   <li>{@code activeViewMinimum} 2: below this a node asks with high priority (always
 *       accepted) and, with no passive peers, asks the introducer. Partisan keeps a minimum of 3;
 *       the paper only escalates when the view is empty.</li>
 *   <li>{@code neighborRequestTimeout} 2 s: long enough for a TLS dial and one round trip on a
 *       slow link; iroh-gossip uses 500 ms ("wild guess").</li>
 *   <li>{@code repairInterval} 1 s: how often a node with room in its active view asks one more
 *       passive peer (the tick only runs while there is room). Our guess: quick healing at one
 *       request per second per stream.</li>
 *   <li>{@code maxPendingRequests} twice the active view: neighbour requests under way, to fill
 *       free slots or to offer joiners a slot. Each holds a link and a dial; a peer forwarding
 *       walks that end here with made-up joiners could otherwise hold every link slot. Our choice.</li>
 *   <li>{@code formerNeighborGrace} 5 s: broadcast frames and walks are taken only from the
 *       stream's neighbours, and from a former neighbour for this long after it left the active
 *       view (its frames sent before it heard of the change are still on the way). Our choice:
 *       well above a round trip plus a full outbound queue's drain on a slow link.</li>
 *   <li>{@code joinInterval} 1 s, {@code joinBudgetPerSecond} 20: one JOIN per peer per interval,
 *       and at most this many JOINs per second in a stream. A JOIN costs 5 random walks; a mass
 *       join of 1,000 nodes spreads over many contacts. Our choice.</li>
 *   <li>{@code forcedEvictionsPerMinute} 6 (3 at once): high-priority NEIGHBOR requests that find
 *       the view full evict a neighbour, chosen among those that carry no tree to us. Every
 *       eviction of a tree edge costs its subtree a repair; a stranger repeating high-priority
 *       requests made p99 latency twenty times worse in the hostile-network test. Isolated
 *       nodes ask random passive peers, so an honest node rarely gets more than one or two
 *       such requests a minute, even after half the network crashed. Our choice.</li>
 *   <li>{@code introductionBackoffMin} 500 ms, {@code introductionBackoffMax} 30 s: isolated nodes
 *       ask again with exponential backoff, as Streamr's split avoidance does (500 ms · 2ⁱ).</li>
 *   <li>{@code reintroductionInterval} 30 min (0: never): a node that is not isolated still asks
 *       its introducer for members this often (±50 %), and takes one of them into its active view
 *       with high priority, evicting a neighbour that brings it no tree if it must. Sooner after a
 *       suspected partition (half the active view lost within 10 s, without goodbyes): 10 s, then
 *       doubling up to this interval (not while the view is below capacity, for 10 minutes). That is what merges two islands of a stream after a
 *       partition, which nothing inside either island can do. Chosen in the simulator
 *       (docs/benchmarks.md, "Partitions"): every 10 min cost 7-19 % on the steady p99 latency of
 *       1,000 nodes, with spikes to 1.65 s (each take-in reshapes the trees around it), so the
 *       steady interval is a slow backstop and the suspicion does the healing.</li>
 *   <li>{@code churnInterval} 60 s (0: never), {@code churnFraction} 0.2, {@code churnRandomShare}
 *       0.5: every interval (±50 %) a node with a full active view asks a passive peer in for its
 *       worst-scored neighbours (fewest messages delivered first, then the longest round trip), a
 *       fifth of the view and at least one (Cardano's governor churns its worst 20 %); neighbours
 *       that came during the interval or carry a tree to it are not judged. A replacement is the
 *       nearest measured passive peer if it is nearer than the neighbour it replaces; for {@code
 *       churnRandomShare} of them, and whenever no nearer peer is known, a random one: that share
 *       keeps the graph random enough to resist a fast attacker and stay one piece. Chosen in the
 *       simulator (docs/benchmarks.md, "Peer quality"): at 1,000 nodes in the geographic model,
 *       60 s took RDP p50 from 3.3 to 1.3 within 10 minutes at RMR 0.036; 30 s converged sooner at
 *       RMR 0.066 (over the 0.05 we allow), 120 s was still converging after 10 minutes. A random
 *       share of 0.25 gave RDP p99 22 rather than 29 (one seed), 0.75 gave 47.</li>
 * </ul>
 */
public record HyParViewConfig(
    int activeViewCapacity,
    int passiveViewCapacity,
    int activeRandomWalkLength,
    int passiveRandomWalkLength,
    int shuffleActiveCount,
    int shufflePassiveCount,
    int shuffleTtl,
    long shuffleIntervalNanos,
    int activeViewMinimum,
    long neighborRequestTimeoutNanos,
    long repairIntervalNanos,
    long introductionBackoffMinNanos,
    long introductionBackoffMaxNanos,
    int maxPendingRequests,
    long formerNeighborGraceNanos,
    long joinIntervalNanos,
    int joinBudgetPerSecond,
    int forcedEvictionsPerMinute,
    long reintroductionIntervalNanos,
    long churnIntervalNanos,
    double churnFraction,
    double churnRandomShare) {

  /**
   * Checks every value.
   *
   * @param activeViewCapacity {@code activeViewCapacity} (class description)
   * @param passiveViewCapacity {@code passiveViewCapacity} (class description)
   * @param activeRandomWalkLength {@code activeRandomWalkLength} (class description)
   * @param passiveRandomWalkLength {@code passiveRandomWalkLength} (class description)
   * @param shuffleActiveCount {@code shuffleActiveCount} (class description)
   * @param shufflePassiveCount {@code shufflePassiveCount} (class description)
   * @param shuffleTtl {@code shuffleTtl} (class description)
   * @param shuffleIntervalNanos {@code shuffleInterval} in nanoseconds (class description)
   * @param activeViewMinimum {@code activeViewMinimum} (class description)
   * @param neighborRequestTimeoutNanos {@code neighborRequestTimeout} in nanoseconds (class description)
   * @param repairIntervalNanos {@code repairInterval} in nanoseconds (class description)
   * @param introductionBackoffMinNanos {@code introductionBackoffMin} in nanoseconds (class description)
   * @param introductionBackoffMaxNanos {@code introductionBackoffMax} in nanoseconds (class description)
   * @param maxPendingRequests {@code maxPendingRequests} (class description)
   * @param formerNeighborGraceNanos {@code formerNeighborGrace} in nanoseconds (class description)
   * @param joinIntervalNanos {@code joinInterval} in nanoseconds (class description)
   * @param joinBudgetPerSecond {@code joinBudgetPerSecond} (class description)
   * @param forcedEvictionsPerMinute {@code forcedEvictionsPerMinute} (class description)
   * @param reintroductionIntervalNanos {@code reintroductionInterval} in nanoseconds, 0 for never (class description)
   * @param churnIntervalNanos {@code churnInterval} in nanoseconds, 0 for never (class description)
   * @param churnFraction {@code churnFraction} (class description)
   * @param churnRandomShare {@code churnRandomShare} (class description)
   * @throws IllegalArgumentException naming the first value out of its bounds
   */
  public HyParViewConfig {
    atLeast(activeViewCapacity, 1, "activeViewCapacity");
    atLeast(passiveViewCapacity, 1, "passiveViewCapacity");
    atLeast(activeRandomWalkLength, 0, "activeRandomWalkLength");
    atLeast(passiveRandomWalkLength, 0, "passiveRandomWalkLength");
    if (passiveRandomWalkLength > activeRandomWalkLength) {
      throw new IllegalArgumentException("passiveRandomWalkLength (" + passiveRandomWalkLength
          + ") must not exceed activeRandomWalkLength (" + activeRandomWalkLength + ")");
    }
    atLeast(shuffleActiveCount, 0, "shuffleActiveCount");
    atLeast(shufflePassiveCount, 0, "shufflePassiveCount");
    atLeast(shuffleTtl, 0, "shuffleTtl");
    atLeast(shuffleIntervalNanos, 1, "shuffleInterval");
    atLeast(activeViewMinimum, 1, "activeViewMinimum");
    if (activeViewMinimum > activeViewCapacity) {
      throw new IllegalArgumentException("activeViewMinimum must not exceed activeViewCapacity");
    }
    atLeast(neighborRequestTimeoutNanos, 1, "neighborRequestTimeout");
    atLeast(repairIntervalNanos, 1, "repairInterval");
    atLeast(introductionBackoffMinNanos, 1, "introductionBackoffMin");
    if (introductionBackoffMaxNanos < introductionBackoffMinNanos) {
      throw new IllegalArgumentException("introductionBackoffMax must be at least introductionBackoffMin");
    }
    if (maxPendingRequests < activeViewCapacity) {
      throw new IllegalArgumentException("maxPendingRequests must be at least activeViewCapacity");
    }
    atLeast(formerNeighborGraceNanos, 0, "formerNeighborGrace");
    atLeast(joinIntervalNanos, 0, "joinInterval");
    atLeast(joinBudgetPerSecond, 1, "joinBudgetPerSecond");
    atLeast(forcedEvictionsPerMinute, 1, "forcedEvictionsPerMinute");
    if (reintroductionIntervalNanos != 0) atLeast(reintroductionIntervalNanos, 1_000_000_000L, "reintroductionInterval (or 0, never)");
    if (churnIntervalNanos != 0) atLeast(churnIntervalNanos, 1_000_000_000L, "churnInterval (or 0, never)");
    if (!(churnFraction > 0 && churnFraction <= 1)) {
      throw new IllegalArgumentException("churnFraction must be in (0, 1], got " + churnFraction);
    }
    if (!(churnRandomShare >= 0 && churnRandomShare <= 1)) {
      throw new IllegalArgumentException("churnRandomShare must be in [0, 1], got " + churnRandomShare);
    }
  }

  /** The default {@code churnInterval}, in seconds. */
  static final int CHURN_INTERVAL_SECONDS = 60;

  private static void atLeast(long v, long min, String name) {
    if (v < min) throw new IllegalArgumentException(name + " must be at least " + min + ", got " + v);
  }

  /**
   * The most peers one SHUFFLE carries: the origin, ka active and kp passive peers.
   *
   * @return the count
   */
  public int shuffleSize() {
    return 1 + shuffleActiveCount + shufflePassiveCount;
  }

  /**
   * The defaults, each with its source in the class description.
   *
   * @return the default configuration
   */
  public static HyParViewConfig defaults() {
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
    private int activeViewCapacity = 5;
    private int passiveViewCapacity = 30;
    private int activeRandomWalkLength = 6;
    private int passiveRandomWalkLength = 3;
    private int shuffleActiveCount = 3;
    private int shufflePassiveCount = 4;
    private int shuffleTtl = 6;
    private Duration shuffleInterval = Duration.ofSeconds(10);
    private int activeViewMinimum = 2;
    private Duration neighborRequestTimeout = Duration.ofSeconds(2);
    private Duration repairInterval = Duration.ofSeconds(1);
    private Duration introductionBackoffMin = Duration.ofMillis(500);
    private Duration introductionBackoffMax = Duration.ofSeconds(30);
    private int maxPendingRequests = -1; // twice the active view unless set
    private Duration formerNeighborGrace = Duration.ofSeconds(5);
    private Duration joinInterval = Duration.ofSeconds(1);
    private int joinBudgetPerSecond = 20;
    private int forcedEvictionsPerMinute = 6;
    private Duration reintroductionInterval = Duration.ofMinutes(30);
    private Duration churnInterval = Duration.ofSeconds(CHURN_INTERVAL_SECONDS);
    private double churnFraction = 0.2;
    private double churnRandomShare = 0.5;

    /**
     * Sets {@code churnInterval}; {@link Duration#ZERO} turns the churn of the worst neighbours
     * off. From the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder churnInterval(Duration v) {
      churnInterval = v;
      return this;
    }

    /**
     * Sets {@code churnFraction}, in (0, 1]. From the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder churnFraction(double v) {
      churnFraction = v;
      return this;
    }

    /**
     * Sets {@code churnRandomShare}, in [0, 1]. From the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder churnRandomShare(double v) {
      churnRandomShare = v;
      return this;
    }

    /**
     * Sets {@code reintroductionInterval}; {@link Duration#ZERO} turns re-introduction off, also
     * after a suspected partition. From the class description: a node that is not isolated still
     * asks its introducer for members this often (±50 %, default 30 min) and takes one of them into
     * its active view with high priority; after a suspected partition from 10 s on, doubling up to
     * this interval. That is what merges two islands of a stream after a partition.
     *
     * @param v the value
     * @return this builder
     */
    public Builder reintroductionInterval(Duration v) {
      reintroductionInterval = v;
      return this;
    }

    /**
     * Sets {@code forcedEvictionsPerMinute}. From the class description: {@code
     * forcedEvictionsPerMinute} 6 (3 at once): high-priority NEIGHBOR requests that find the view
     * full evict a neighbour, chosen among those that carry no tree to us. Every eviction of a tree
     * edge costs its subtree a repair; a stranger repeating high-priority requests made p99 latency
     * twenty times worse in the hostile-network test. Isolated nodes ask random passive peers, so
     * an honest node rarely gets more than one or two such requests a minute, even after half the
     * network crashed. Our choice.
     *
     * @param v the value
     * @return this builder
     */
    public Builder forcedEvictionsPerMinute(int v) {
      forcedEvictionsPerMinute = v;
      return this;
    }

    /**
     * Sets {@code activeViewCapacity}. From the class description: {@code activeViewCapacity} 5,
     * {@code passiveViewCapacity} 30: the paper, for 10,000 nodes (log₁₀(N) + 1 active, 6× that
     * passive).
     *
     * @param v the value
     * @return this builder
     */
    public Builder activeViewCapacity(int v) {
      activeViewCapacity = v;
      return this;
    }

    /**
     * Sets {@code passiveViewCapacity}. From the class description: {@code activeViewCapacity} 5,
     * {@code passiveViewCapacity} 30: the paper, for 10,000 nodes (log₁₀(N) + 1 active, 6× that
     * passive).
     *
     * @param v the value
     * @return this builder
     */
    public Builder passiveViewCapacity(int v) {
      passiveViewCapacity = v;
      return this;
    }

    /**
     * Sets {@code activeRandomWalkLength}. From the class description: {@code
     * activeRandomWalkLength} (ARWL) 6, {@code passiveRandomWalkLength} (PRWL) 3: the paper.
     *
     * @param v the value
     * @return this builder
     */
    public Builder activeRandomWalkLength(int v) {
      activeRandomWalkLength = v;
      return this;
    }

    /**
     * Sets {@code passiveRandomWalkLength}. From the class description: {@code
     * activeRandomWalkLength} (ARWL) 6, {@code passiveRandomWalkLength} (PRWL) 3: the paper.
     *
     * @param v the value
     * @return this builder
     */
    public Builder passiveRandomWalkLength(int v) {
      passiveRandomWalkLength = v;
      return this;
    }

    /**
     * Sets {@code shuffleActiveCount}. From the class description: {@code shuffleActiveCount} (ka)
     * 3, {@code shufflePassiveCount} (kp) 4: the paper.
     *
     * @param v the value
     * @return this builder
     */
    public Builder shuffleActiveCount(int v) {
      shuffleActiveCount = v;
      return this;
    }

    /**
     * Sets {@code shufflePassiveCount}. From the class description: {@code shuffleActiveCount} (ka)
     * 3, {@code shufflePassiveCount} (kp) 4: the paper.
     *
     * @param v the value
     * @return this builder
     */
    public Builder shufflePassiveCount(int v) {
      shufflePassiveCount = v;
      return this;
    }

    /**
     * Sets {@code shuffleTtl}. From the class description: {@code shuffleTtl} 6: the paper's walk
     * length for shuffles (= ARWL).
     *
     * @param v the value
     * @return this builder
     */
    public Builder shuffleTtl(int v) {
      shuffleTtl = v;
      return this;
    }

    /**
     * Sets {@code shuffleInterval}. From the class description: {@code shuffleInterval} 10 s: the
     * paper counts rounds, not seconds; Partisan shuffles every 10 s, iroh-gossip every 60 s ("wild
     * guess"). Each node starts at a random phase.
     *
     * @param v the value
     * @return this builder
     */
    public Builder shuffleInterval(Duration v) {
      shuffleInterval = v;
      return this;
    }

    /**
     * Sets {@code activeViewMinimum}. From the class description: {@code activeViewMinimum} 2:
     * below this a node asks with high priority (always accepted) and, with no passive peers, asks
     * the introducer. Partisan keeps a minimum of 3; the paper only escalates when the view is
     * empty.
     *
     * @param v the value
     * @return this builder
     */
    public Builder activeViewMinimum(int v) {
      activeViewMinimum = v;
      return this;
    }

    /**
     * Sets {@code neighborRequestTimeout}. From the class description: {@code
     * neighborRequestTimeout} 2 s: long enough for a TLS dial and one round trip on a slow link;
     * iroh-gossip uses 500 ms ("wild guess").
     *
     * @param v the value
     * @return this builder
     */
    public Builder neighborRequestTimeout(Duration v) {
      neighborRequestTimeout = v;
      return this;
    }

    /**
     * Sets {@code repairInterval}. From the class description: {@code repairInterval} 1 s: how
     * often a node with room in its active view asks one more passive peer (the tick only runs
     * while there is room). Our guess: quick healing at one request per second per stream.
     *
     * @param v the value
     * @return this builder
     */
    public Builder repairInterval(Duration v) {
      repairInterval = v;
      return this;
    }

    /**
     * Sets {@code introductionBackoffMin}. From the class description: {@code
     * introductionBackoffMin} 500 ms, {@code introductionBackoffMax} 30 s: isolated nodes ask again
     * with exponential backoff, as Streamr's split avoidance does (500 ms · 2ⁱ).
     *
     * @param v the value
     * @return this builder
     */
    public Builder introductionBackoffMin(Duration v) {
      introductionBackoffMin = v;
      return this;
    }

    /**
     * Sets {@code introductionBackoffMax}. From the class description: {@code
     * introductionBackoffMin} 500 ms, {@code introductionBackoffMax} 30 s: isolated nodes ask again
     * with exponential backoff, as Streamr's split avoidance does (500 ms · 2ⁱ).
     *
     * @param v the value
     * @return this builder
     */
    public Builder introductionBackoffMax(Duration v) {
      introductionBackoffMax = v;
      return this;
    }

    /**
     * Sets {@code maxPendingRequests}. From the class description: {@code maxPendingRequests} twice
     * the active view: neighbour requests under way, to fill free slots or to offer joiners a slot.
     * Each holds a link and a dial; a peer forwarding walks that end here with made-up joiners
     * could otherwise hold every link slot. Our choice.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxPendingRequests(int v) {
      maxPendingRequests = v;
      return this;
    }

    /**
     * Sets {@code formerNeighborGrace}. From the class description: {@code formerNeighborGrace} 5
     * s: broadcast frames and walks are taken only from the stream's neighbours, and from a former
     * neighbour for this long after it left the active view (its frames sent before it heard of the
     * change are still on the way). Our choice: well above a round trip plus a full outbound
     * queue's drain on a slow link.
     *
     * @param v the value
     * @return this builder
     */
    public Builder formerNeighborGrace(Duration v) {
      formerNeighborGrace = v;
      return this;
    }

    /**
     * Sets {@code joinInterval}. From the class description: {@code joinInterval} 1 s, {@code
     * joinBudgetPerSecond} 20: one JOIN per peer per interval, and at most this many JOINs per
     * second in a stream. A JOIN costs 5 random walks; a mass join of 1,000 nodes spreads over many
     * contacts. Our choice.
     *
     * @param v the value
     * @return this builder
     */
    public Builder joinInterval(Duration v) {
      joinInterval = v;
      return this;
    }

    /**
     * Sets {@code joinBudgetPerSecond}. From the class description: {@code joinInterval} 1 s,
     * {@code joinBudgetPerSecond} 20: one JOIN per peer per interval, and at most this many JOINs
     * per second in a stream. A JOIN costs 5 random walks; a mass join of 1,000 nodes spreads over
     * many contacts. Our choice.
     *
     * @param v the value
     * @return this builder
     */
    public Builder joinBudgetPerSecond(int v) {
      joinBudgetPerSecond = v;
      return this;
    }

    /**
     * Checks every value and builds the configuration.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the first value out of its bounds
     */
    public HyParViewConfig build() {
      return new HyParViewConfig(activeViewCapacity, passiveViewCapacity, activeRandomWalkLength,
          passiveRandomWalkLength, shuffleActiveCount, shufflePassiveCount, shuffleTtl,
          shuffleInterval.toNanos(), activeViewMinimum, neighborRequestTimeout.toNanos(),
          repairInterval.toNanos(), introductionBackoffMin.toNanos(), introductionBackoffMax.toNanos(),
          maxPendingRequests < 0 ? 2 * activeViewCapacity : maxPendingRequests, formerNeighborGrace.toNanos(),
          joinInterval.toNanos(), joinBudgetPerSecond, forcedEvictionsPerMinute, reintroductionInterval.toNanos(),
          churnInterval.toNanos(), churnFraction, churnRandomShare);
    }
  }
}
