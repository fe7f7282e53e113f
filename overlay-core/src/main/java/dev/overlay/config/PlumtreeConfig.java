package dev.overlay.config;

import java.time.Duration;

/**
 * Plumtree's timers and limits. Built by {@link #builder()}, which checks every value.
 *
 * <p>Defaults, and where they come from:
 * <ul>
 *   <li>{@code lazyFlushInterval} 100 ms: how long IHAVE announcements are batched. iroh-gossip
 *       dispatches every 5 ms. Announcements only matter when an eager path fails, and
 *       consecutive messages collapse into one range, so we batch longer: at 100 msg/s this
 *       sends a quarter of the IHAVE packets a 25 ms batch does (measured in the simulator,
 *       docs/benchmarks.md) and adds at most 100 ms to a repair that takes ~0.5 s anyway.</li>
 *   <li>{@code graftTimeout1} 250 ms: the paper's first timeout, from an IHAVE to the first
 *       GRAFT; it "should consider the diameter of the overlay and a target maximum recovery
 *       latency" (Plumtree, p. 8). It must exceed the batching delay plus the spread of path
 *       latencies, or the tree grafts links it does not need. iroh uses 80 ms with 5 ms batches.</li>
 *   <li>{@code graftTimeout2} 100 ms: the paper's second timeout, between GRAFTs to successive
 *       announcers, "in the order of an average round trip time to a neighbor" (p. 9).</li>
 *   <li>{@code optimizationThreshold} 7 hops: graft a lazy link when its announcement has
 *       travelled this many fewer hops than the eager copy. iroh-gossip takes 7 from the
 *       paper's experiment settings (p. 12).</li>
 *   <li>{@code pruneGracePeriod} 500 ms: a link that just came up, or that we just grafted, is
 *       not pruned for duplicates this long. Its first copies are often older messages still on
 *       its own previous path; pruning on them cut the best path and left pairs of nodes
 *       feeding each other. In the simulator (docs/benchmarks.md) 250 ms let that happen across
 *       continents, and 1 s doubled the duplicates for no gain in latency.</li>
 *   <li>{@code optimizationBackoff} 60 s: a link grafted for a shorter path that then loses the
 *       race (it is shorter in hops, slower in time) is not grafted again for this long. Our
 *       choice: without it such links are grafted and pruned over and over.</li>
 *   <li>{@code stallTimeout} 250 ms: a tree that delivered a new message of a publisher this
 *       recently is still delivering, however far behind; announcements of that publisher's
 *       later messages then wait for it instead of being grafted. Without this, a node whose
 *       tree falls more than {@code graftTimeout1} behind under load grafts every message,
 *       which adds load and duplicates until the overlay collapses (the 20-node demo did, at
 *       20,000 msg/s). Our own rule; it equals graftTimeout1, so a tree that stops altogether
 *       is repaired as quickly as before.</li>
 *   <li>{@code messageCacheCapacity} 65,536 messages, {@code messageCacheBytes} 16 MiB,
 *       {@code messageCacheTtl} 30 s: messages kept to answer GRAFTs; the TTL is iroh-gossip's,
 *       the count and byte caps bound memory whatever the publish rate. The count must cover
 *       the IHAVE batching plus both graft timeouts at the highest rate: 4,096 was 140 ms at
 *       30,000 msg/s, and GRAFTs found their messages gone. The cache grows only as used.</li>
 *   <li>{@code maxPendingAnnouncements} 4,096: announcements queued between flushes; the
 *       queue flushes early when full.</li>
 *   <li>{@code maxAnnouncementsPerIHave} 256: keeps one IHAVE frame near 16 KB.</li>
 *   <li>{@code maxAnnouncementSpan} 1,024: the most sequence numbers one announcement range may
 *       cover; a longer range from a peer is truncated.</li>
 *   <li>{@code maxMissing} 4,096 announced-but-missing messages tracked, each with its timer: the
 *       repair window. Past it a missing number waits in its publisher's announced range (one
 *       per publisher) and is fetched as the window empties; only when that is impossible too
 *       (more than {@code maxPublisherTrees} publishers) is the oldest entry given up.
 *       {@code maxAnnouncersPerMissing} 4: graft candidates remembered per missing message.
 *       {@code missingTtl} 30 s: after that a missing message is left to gap recovery.</li>
 *   <li>{@code maxMissingPerFrame} 1,024: the most missing entries (each with a graft timer) one
 *       IHAVE or one DATA past a hole may create; the rest of an IHAVE is kept as one range per
 *       publisher and fetched this many at a time (a {@code WORK_BUDGET} event says so), the
 *       rest of a hole stays a gap. A legal 245 KB IHAVE once created millions of entries, timers
 *       and events and stalled the loop for seconds. Our choice: one announcement range's worth
 *       ({@code maxAnnouncementSpan}), which is what gap repair always fetched at most.</li>
 *   <li>{@code demotionHold} 10 s: a neighbour whose link stayed backlogged is made lazy in every
 *       tree and stays lazy this long even if it grafts: it fetches what it misses at its own
 *       pace. Our choice: several slow-peer checks (1 s), so a peer does not flap between eager
 *       and lazy.</li>
 *   <li>{@code graftAnswerBytesPerSecond} 4 MiB: bytes of GRAFT answers per peer per second
 *       (an answer carries its seal again: up to 4 KiB); GRAFTs past it are not answered
 *       (counted), and the asker turns to its next announcer. A demoted peer catching up, or a
 *       repair storm, then costs a bounded share of the link. Our choice: about a thousand
 *       answers a second even with full seals; with 1 MiB a subscriber that fell thousands of
 *       messages behind in a burst could not catch up before they expired. While the node is
 *       backpressured no GRAFT is answered.</li>
 *   <li>{@code pruneRetryInterval} 1 s: a duplicate from a peer we pruned less than this ago is
 *       one that was in flight, and gets no second PRUNE; after it, the PRUNE is sent again.</li>
 *   <li>{@code orderHoldMessages} 65,536, {@code orderHoldBytes} 16 MiB, {@code orderWait} 30 s:
 *       a stream joined from a position delivers each publisher session in order, and messages
 *       past a hole wait for it at most this many, this large, this long (checked at
 *       housekeeping, every 5 s). Our choice: the wait equals {@code missingTtl}, so a hole is
 *       waited for as long as its repair is tried; the counts hold a minute of history at
 *       1,000 msg/s arriving from two storage fetches at once, which is what issue 14's
 *       rejoin target needs, at about 16 MiB of payload at most.</li>
 *   <li>{@code treeStrategy} PER_PUBLISHER and {@code maxPublisherTrees} 256: chosen from the
 *       simulator's comparison in docs/benchmarks.md.</li>
 * </ul>
 */
public record PlumtreeConfig(
    long lazyFlushIntervalNanos,
    long graftTimeout1Nanos,
    long graftTimeout2Nanos,
    int optimizationThreshold,
    int messageCacheCapacity,
    long messageCacheBytes,
    long messageCacheTtlNanos,
    int maxPendingAnnouncements,
    int maxAnnouncementsPerIHave,
    int maxAnnouncementSpan,
    int maxMissing,
    int maxAnnouncersPerMissing,
    long missingTtlNanos,
    TreeStrategy treeStrategy,
    int maxPublisherTrees,
    long pruneRetryIntervalNanos,
    long optimizationBackoffNanos,
    long pruneGracePeriodNanos,
    long stallTimeoutNanos,
    int maxMissingPerFrame,
    long demotionHoldNanos,
    int graftAnswerBytesPerSecond,
    int orderHoldMessages,
    long orderHoldBytes,
    long orderWaitNanos) {

  /**
   * Checks every value.
   *
   * @param lazyFlushIntervalNanos {@code lazyFlushInterval} in nanoseconds (class description)
   * @param graftTimeout1Nanos {@code graftTimeout1} in nanoseconds (class description)
   * @param graftTimeout2Nanos {@code graftTimeout2} in nanoseconds (class description)
   * @param optimizationThreshold {@code optimizationThreshold} (class description)
   * @param messageCacheCapacity {@code messageCacheCapacity} (class description)
   * @param messageCacheBytes {@code messageCacheBytes} (class description)
   * @param messageCacheTtlNanos {@code messageCacheTtl} in nanoseconds (class description)
   * @param maxPendingAnnouncements {@code maxPendingAnnouncements} (class description)
   * @param maxAnnouncementsPerIHave {@code maxAnnouncementsPerIHave} (class description)
   * @param maxAnnouncementSpan {@code maxAnnouncementSpan} (class description)
   * @param maxMissing {@code maxMissing} (class description)
   * @param maxAnnouncersPerMissing {@code maxAnnouncersPerMissing} (class description)
   * @param missingTtlNanos {@code missingTtl} in nanoseconds (class description)
   * @param treeStrategy {@code treeStrategy} (class description)
   * @param maxPublisherTrees {@code maxPublisherTrees} (class description)
   * @param pruneRetryIntervalNanos {@code pruneRetryInterval} in nanoseconds (class description)
   * @param optimizationBackoffNanos {@code optimizationBackoff} in nanoseconds (class description)
   * @param pruneGracePeriodNanos {@code pruneGracePeriod} in nanoseconds (class description)
   * @param stallTimeoutNanos {@code stallTimeout} in nanoseconds (class description)
   * @param maxMissingPerFrame {@code maxMissingPerFrame} (class description)
   * @param demotionHoldNanos {@code demotionHold} in nanoseconds (class description)
   * @param graftAnswerBytesPerSecond {@code graftAnswerBytesPerSecond} (class description)
   * @param orderHoldMessages {@code orderHoldMessages} (class description)
   * @param orderHoldBytes {@code orderHoldBytes} (class description)
   * @param orderWaitNanos {@code orderWait} in nanoseconds (class description)
   * @throws IllegalArgumentException naming the first value out of its bounds
   */
  public PlumtreeConfig {
    positive(lazyFlushIntervalNanos, "lazyFlushInterval");
    positive(graftTimeout1Nanos, "graftTimeout1");
    positive(graftTimeout2Nanos, "graftTimeout2");
    positive(optimizationThreshold, "optimizationThreshold");
    positive(messageCacheCapacity, "messageCacheCapacity");
    positive(messageCacheBytes, "messageCacheBytes");
    positive(messageCacheTtlNanos, "messageCacheTtl");
    positive(maxPendingAnnouncements, "maxPendingAnnouncements");
    positive(maxAnnouncementsPerIHave, "maxAnnouncementsPerIHave");
    positive(maxAnnouncementSpan, "maxAnnouncementSpan");
    positive(maxMissing, "maxMissing");
    positive(maxAnnouncersPerMissing, "maxAnnouncersPerMissing");
    positive(missingTtlNanos, "missingTtl");
    positive(maxPublisherTrees, "maxPublisherTrees");
    positive(pruneRetryIntervalNanos, "pruneRetryInterval");
    positive(optimizationBackoffNanos, "optimizationBackoff");
    positive(pruneGracePeriodNanos, "pruneGracePeriod");
    positive(stallTimeoutNanos, "stallTimeout");
    positive(maxMissingPerFrame, "maxMissingPerFrame");
    positive(demotionHoldNanos, "demotionHold");
    positive(graftAnswerBytesPerSecond, "graftAnswerBytesPerSecond");
    positive(orderHoldMessages, "orderHoldMessages");
    positive(orderHoldBytes, "orderHoldBytes");
    positive(orderWaitNanos, "orderWait");
    if (treeStrategy == null) throw new IllegalArgumentException("treeStrategy is required");
    if (lazyFlushIntervalNanos >= graftTimeout1Nanos) {
      // Otherwise every announcement would be grafted before the eager copy could arrive.
      throw new IllegalArgumentException("lazyFlushInterval must be shorter than graftTimeout1");
    }
  }

  private static void positive(long v, String name) {
    if (v <= 0) throw new IllegalArgumentException(name + " must be positive, got " + v);
  }

  /**
   * The defaults, each with its source in the class description.
   *
   * @return the default configuration
   */
  public static PlumtreeConfig defaults() {
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
    Builder b = new Builder();
    b.lazyFlushInterval = Duration.ofNanos(lazyFlushIntervalNanos);
    b.graftTimeout1 = Duration.ofNanos(graftTimeout1Nanos);
    b.graftTimeout2 = Duration.ofNanos(graftTimeout2Nanos);
    b.optimizationThreshold = optimizationThreshold;
    b.messageCacheCapacity = messageCacheCapacity;
    b.messageCacheBytes = messageCacheBytes;
    b.messageCacheTtl = Duration.ofNanos(messageCacheTtlNanos);
    b.maxPendingAnnouncements = maxPendingAnnouncements;
    b.maxAnnouncementsPerIHave = maxAnnouncementsPerIHave;
    b.maxAnnouncementSpan = maxAnnouncementSpan;
    b.maxMissing = maxMissing;
    b.maxAnnouncersPerMissing = maxAnnouncersPerMissing;
    b.missingTtl = Duration.ofNanos(missingTtlNanos);
    b.treeStrategy = treeStrategy;
    b.maxPublisherTrees = maxPublisherTrees;
    b.pruneRetryInterval = Duration.ofNanos(pruneRetryIntervalNanos);
    b.optimizationBackoff = Duration.ofNanos(optimizationBackoffNanos);
    b.pruneGracePeriod = Duration.ofNanos(pruneGracePeriodNanos);
    b.stallTimeout = Duration.ofNanos(stallTimeoutNanos);
    b.maxMissingPerFrame = maxMissingPerFrame;
    b.demotionHold = Duration.ofNanos(demotionHoldNanos);
    b.graftAnswerBytesPerSecond = graftAnswerBytesPerSecond;
    b.orderHoldMessages = orderHoldMessages;
    b.orderHoldBytes = orderHoldBytes;
    b.orderWait = Duration.ofNanos(orderWaitNanos);
    return b;
  }

  /**
   * Collects settings, starting from the defaults; {@link #build()} checks them.
   */
  public static final class Builder {
    private Duration lazyFlushInterval = Duration.ofMillis(100);
    private Duration graftTimeout1 = Duration.ofMillis(250);
    private Duration graftTimeout2 = Duration.ofMillis(100);
    private int optimizationThreshold = 7;
    private int messageCacheCapacity = 65_536;
    private long messageCacheBytes = 16L << 20;
    private Duration messageCacheTtl = Duration.ofSeconds(30);
    private int maxPendingAnnouncements = 4096;
    private int maxAnnouncementsPerIHave = 256;
    private int maxAnnouncementSpan = 1024;
    private int maxMissing = 4096;
    private int maxAnnouncersPerMissing = 4;
    private Duration missingTtl = Duration.ofSeconds(30);
    private TreeStrategy treeStrategy = TreeStrategy.PER_PUBLISHER;
    private int maxPublisherTrees = 256;
    private Duration pruneRetryInterval = Duration.ofSeconds(1);
    private Duration optimizationBackoff = Duration.ofSeconds(60);
    private Duration pruneGracePeriod = Duration.ofMillis(500);
    private Duration stallTimeout = Duration.ofMillis(250);
    private int maxMissingPerFrame = 1024;
    private Duration demotionHold = Duration.ofSeconds(10);
    private int graftAnswerBytesPerSecond = 4 << 20;
    private int orderHoldMessages = 65_536;
    private long orderHoldBytes = 16L << 20;
    private Duration orderWait = Duration.ofSeconds(30);

    /**
     * Sets {@code graftAnswerBytesPerSecond}. From the class description: {@code
     * graftAnswerBytesPerSecond} 4 MiB: bytes of GRAFT answers per peer per second (an answer
     * carries its seal again: up to 4 KiB); GRAFTs past it are not answered (counted), and the
     * asker turns to its next announcer. A demoted peer catching up, or a repair storm, then costs
     * a bounded share of the link. Our choice: about a thousand answers a second even with full
     * seals; with 1 MiB a subscriber that fell thousands of messages behind in a burst could not
     * catch up before they expired. While the node is backpressured no GRAFT is answered.
     *
     * @param v the value
     * @return this builder
     */
    public Builder graftAnswerBytesPerSecond(int v) {
      graftAnswerBytesPerSecond = v;
      return this;
    }

    /**
     * Sets {@code orderHoldMessages}: the most messages of a stream joined from a position that
     * wait behind holes for in-order delivery (class description).
     *
     * @param v the value
     * @return this builder
     */
    public Builder orderHoldMessages(int v) {
      orderHoldMessages = v;
      return this;
    }

    /**
     * Sets {@code orderHoldBytes}: the most payload bytes waiting behind holes (class description).
     *
     * @param v the value
     * @return this builder
     */
    public Builder orderHoldBytes(long v) {
      orderHoldBytes = v;
      return this;
    }

    /**
     * Sets {@code orderWait}: how long messages wait behind a hole before they are released over
     * it (class description).
     *
     * @param v the value
     * @return this builder
     */
    public Builder orderWait(Duration v) {
      orderWait = v;
      return this;
    }

    /**
     * Sets {@code demotionHold}. From the class description: {@code demotionHold} 10 s: a neighbour
     * whose link stayed backlogged is made lazy in every tree and stays lazy this long even if it
     * grafts: it fetches what it misses at its own pace. Our choice: several slow-peer checks (1
     * s), so a peer does not flap between eager and lazy.
     *
     * @param v the value
     * @return this builder
     */
    public Builder demotionHold(Duration v) {
      demotionHold = v;
      return this;
    }

    /**
     * Sets {@code lazyFlushInterval}. From the class description: {@code lazyFlushInterval} 100 ms:
     * how long IHAVE announcements are batched. iroh-gossip dispatches every 5 ms. Announcements
     * only matter when an eager path fails, and consecutive messages collapse into one range, so we
     * batch longer: at 100 msg/s this sends a quarter of the IHAVE packets a 25 ms batch does
     * (measured in the simulator, docs/benchmarks.md) and adds at most 100 ms to a repair that
     * takes ~0.5 s anyway.
     *
     * @param v the value
     * @return this builder
     */
    public Builder lazyFlushInterval(Duration v) {
      lazyFlushInterval = v;
      return this;
    }

    /**
     * Sets {@code graftTimeout1}. From the class description: {@code graftTimeout1} 250 ms: the
     * paper's first timeout, from an IHAVE to the first GRAFT; it "should consider the diameter of
     * the overlay and a target maximum recovery latency" (Plumtree, p. 8). It must exceed the
     * batching delay plus the spread of path latencies, or the tree grafts links it does not need.
     * iroh uses 80 ms with 5 ms batches.
     *
     * @param v the value
     * @return this builder
     */
    public Builder graftTimeout1(Duration v) {
      graftTimeout1 = v;
      return this;
    }

    /**
     * Sets {@code graftTimeout2}. From the class description: {@code graftTimeout2} 100 ms: the
     * paper's second timeout, between GRAFTs to successive announcers, "in the order of an average
     * round trip time to a neighbor" (p. 9).
     *
     * @param v the value
     * @return this builder
     */
    public Builder graftTimeout2(Duration v) {
      graftTimeout2 = v;
      return this;
    }

    /**
     * Sets {@code optimizationThreshold}. From the class description: {@code optimizationThreshold}
     * 7 hops: graft a lazy link when its announcement has travelled this many fewer hops than the
     * eager copy. iroh-gossip takes 7 from the paper's experiment settings (p. 12).
     *
     * @param v the value
     * @return this builder
     */
    public Builder optimizationThreshold(int v) {
      optimizationThreshold = v;
      return this;
    }

    /**
     * Sets {@code messageCacheCapacity}. From the class description: {@code messageCacheCapacity}
     * 65,536 messages, {@code messageCacheBytes} 16 MiB, {@code messageCacheTtl} 30 s: messages
     * kept to answer GRAFTs; the TTL is iroh-gossip's, the count and byte caps bound memory
     * whatever the publish rate. The count must cover the IHAVE batching plus both graft timeouts
     * at the highest rate: 4,096 was 140 ms at 30,000 msg/s, and GRAFTs found their messages gone.
     * The cache grows only as used.
     *
     * @param v the value
     * @return this builder
     */
    public Builder messageCacheCapacity(int v) {
      messageCacheCapacity = v;
      return this;
    }

    /**
     * Sets {@code messageCacheBytes}. From the class description: {@code messageCacheCapacity}
     * 65,536 messages, {@code messageCacheBytes} 16 MiB, {@code messageCacheTtl} 30 s: messages
     * kept to answer GRAFTs; the TTL is iroh-gossip's, the count and byte caps bound memory
     * whatever the publish rate. The count must cover the IHAVE batching plus both graft timeouts
     * at the highest rate: 4,096 was 140 ms at 30,000 msg/s, and GRAFTs found their messages gone.
     * The cache grows only as used.
     *
     * @param v the value
     * @return this builder
     */
    public Builder messageCacheBytes(long v) {
      messageCacheBytes = v;
      return this;
    }

    /**
     * Sets {@code messageCacheTtl}. From the class description: {@code messageCacheCapacity} 65,536
     * messages, {@code messageCacheBytes} 16 MiB, {@code messageCacheTtl} 30 s: messages kept to
     * answer GRAFTs; the TTL is iroh-gossip's, the count and byte caps bound memory whatever the
     * publish rate. The count must cover the IHAVE batching plus both graft timeouts at the highest
     * rate: 4,096 was 140 ms at 30,000 msg/s, and GRAFTs found their messages gone. The cache grows
     * only as used.
     *
     * @param v the value
     * @return this builder
     */
    public Builder messageCacheTtl(Duration v) {
      messageCacheTtl = v;
      return this;
    }

    /**
     * Sets {@code maxPendingAnnouncements}. From the class description: {@code
     * maxPendingAnnouncements} 4,096: announcements queued between flushes; the queue flushes early
     * when full.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxPendingAnnouncements(int v) {
      maxPendingAnnouncements = v;
      return this;
    }

    /**
     * Sets {@code maxAnnouncementsPerIHave}. From the class description: {@code
     * maxAnnouncementsPerIHave} 256: keeps one IHAVE frame near 16 KB.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxAnnouncementsPerIHave(int v) {
      maxAnnouncementsPerIHave = v;
      return this;
    }

    /**
     * Sets {@code maxAnnouncementSpan}. From the class description: {@code maxAnnouncementSpan}
     * 1,024: the most sequence numbers one announcement range may cover; a longer range from a peer
     * is truncated.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxAnnouncementSpan(int v) {
      maxAnnouncementSpan = v;
      return this;
    }

    /**
     * Sets {@code maxMissing}. From the class description: {@code maxMissing} 4,096
     * announced-but-missing messages tracked, each with its timer: the repair window. Past it a
     * missing number waits in its publisher's announced range (one per publisher) and is fetched as
     * the window empties; only when that is impossible too (more than {@code maxPublisherTrees}
     * publishers) is the oldest entry given up. {@code maxAnnouncersPerMissing} 4: graft candidates
     * remembered per missing message. {@code missingTtl} 30 s: after that a missing message is left
     * to gap recovery.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxMissing(int v) {
      maxMissing = v;
      return this;
    }

    /**
     * Sets {@code maxAnnouncersPerMissing}; its default and bounds are in the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxAnnouncersPerMissing(int v) {
      maxAnnouncersPerMissing = v;
      return this;
    }

    /**
     * Sets {@code missingTtl}; its default and bounds are in the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder missingTtl(Duration v) {
      missingTtl = v;
      return this;
    }

    /**
     * Sets {@code treeStrategy}. From the class description: {@code treeStrategy} PER_PUBLISHER and
     * {@code maxPublisherTrees} 256: chosen from the simulator's comparison in docs/benchmarks.md.
     *
     * @param v the value
     * @return this builder
     */
    public Builder treeStrategy(TreeStrategy v) {
      treeStrategy = v;
      return this;
    }

    /**
     * Sets {@code maxPublisherTrees}. From the class description: {@code treeStrategy}
     * PER_PUBLISHER and {@code maxPublisherTrees} 256: chosen from the simulator's comparison in
     * docs/benchmarks.md.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxPublisherTrees(int v) {
      maxPublisherTrees = v;
      return this;
    }

    /**
     * Sets {@code pruneRetryInterval}. From the class description: {@code pruneRetryInterval} 1 s:
     * a duplicate from a peer we pruned less than this ago is one that was in flight, and gets no
     * second PRUNE; after it, the PRUNE is sent again.
     *
     * @param v the value
     * @return this builder
     */
    public Builder pruneRetryInterval(Duration v) {
      pruneRetryInterval = v;
      return this;
    }

    /**
     * Sets {@code optimizationBackoff}. From the class description: {@code optimizationBackoff} 60
     * s: a link grafted for a shorter path that then loses the race (it is shorter in hops, slower
     * in time) is not grafted again for this long. Our choice: without it such links are grafted
     * and pruned over and over.
     *
     * @param v the value
     * @return this builder
     */
    public Builder optimizationBackoff(Duration v) {
      optimizationBackoff = v;
      return this;
    }

    /**
     * Sets {@code pruneGracePeriod}. From the class description: {@code pruneGracePeriod} 500 ms: a
     * link that just came up, or that we just grafted, is not pruned for duplicates this long. Its
     * first copies are often older messages still on its own previous path; pruning on them cut the
     * best path and left pairs of nodes feeding each other. In the simulator (docs/benchmarks.md)
     * 250 ms let that happen across continents, and 1 s doubled the duplicates for no gain in
     * latency.
     *
     * @param v the value
     * @return this builder
     */
    public Builder pruneGracePeriod(Duration v) {
      pruneGracePeriod = v;
      return this;
    }

    /**
     * Sets {@code stallTimeout}. From the class description: {@code stallTimeout} 250 ms: a tree
     * that delivered a new message of a publisher this recently is still delivering, however far
     * behind; announcements of that publisher's later messages then wait for it instead of being
     * grafted. Without this, a node whose tree falls more than {@code graftTimeout1} behind under
     * load grafts every message, which adds load and duplicates until the overlay collapses (the
     * 20-node demo did, at 20,000 msg/s). Our own rule; it equals graftTimeout1, so a tree that
     * stops altogether is repaired as quickly as before.
     *
     * @param v the value
     * @return this builder
     */
    public Builder stallTimeout(Duration v) {
      stallTimeout = v;
      return this;
    }

    /**
     * Sets {@code maxMissingPerFrame}. From the class description: {@code maxMissingPerFrame}
     * 1,024: the most missing entries (each with a graft timer) one IHAVE or one DATA past a hole
     * may create; the rest of an IHAVE is kept as one range per publisher and fetched this many at
     * a time (a {@code WORK_BUDGET} event says so), the rest of a hole stays a gap. A legal 245 KB
     * IHAVE once created millions of entries, timers and events and stalled the loop for seconds.
     * Our choice: one announcement range's worth ({@code maxAnnouncementSpan}), which is what gap
     * repair always fetched at most.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxMissingPerFrame(int v) {
      maxMissingPerFrame = v;
      return this;
    }

    /**
     * Checks every value and builds the configuration.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the first value out of its bounds
     */
    public PlumtreeConfig build() {
      return new PlumtreeConfig(lazyFlushInterval.toNanos(), graftTimeout1.toNanos(), graftTimeout2.toNanos(),
          optimizationThreshold, messageCacheCapacity, messageCacheBytes, messageCacheTtl.toNanos(),
          maxPendingAnnouncements, maxAnnouncementsPerIHave, maxAnnouncementSpan, maxMissing,
          maxAnnouncersPerMissing, missingTtl.toNanos(), treeStrategy, maxPublisherTrees, pruneRetryInterval.toNanos(),
          optimizationBackoff.toNanos(), pruneGracePeriod.toNanos(), stallTimeout.toNanos(),
          maxMissingPerFrame, demotionHold.toNanos(), graftAnswerBytesPerSecond, orderHoldMessages, orderHoldBytes,
          orderWait.toNanos());
    }
  }
}
