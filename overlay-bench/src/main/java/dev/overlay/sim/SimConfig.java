package dev.overlay.sim;

import dev.overlay.config.NodeConfig;

/**
 * One simulated scenario. Times are virtual milliseconds. Build with {@link #builder()}.
 *
 * <p>Timeline: every node joins the stream at a random instant in {@code [0, joinWindowMs)};
 * publishing starts {@code settleMs} later; {@code messages} messages follow at
 * {@code ratePerSecond}, round-robin over the publishers; the run continues {@code drainMs}
 * after the last publish, then quiesces (periodic timers stop, in-flight work finishes) and
 * the invariants are checked.
 *
 * <p>Faults: {@code crashFraction} of the non-publishing nodes crash at once,
 * {@code crashAtMs} after the first publish (see {@link #effectiveCrashAtMs()} for the default),
 * and stay down. {@code churnPerSecond} crashes random nodes at that rate during publishing and
 * restarts each after {@code churnDowntimeMs}. {@code partitionFraction} of the nodes are cut
 * off from the rest {@code partitionAtMs} after the first publish, for {@code partitionMs}; with
 * {@code trackersOneSide}, introduction requests from the cut-off side go unanswered meanwhile
 * (the trackers sit on the publishers' side). {@code afterHealMs} after the heal, the
 * {@code after_heal} window of the report starts. {@code lossRate} drops each message independently.
 *
 * <p>Service time (off unless set): {@code cpuReceiveNanos} per message a node takes in and
 * {@code cpuSendNanos} per message it sends make each node one CPU that handles received
 * messages one at a time; what arrives while it is busy waits, in order. Without backpressure
 * those queues grow without bound, as the real node's did when it shed and repaired. With
 * {@code backpressureWindow} messages, the transport's backpressure is modelled as the runtime
 * does it: a link whose far end has that many of our messages not yet handled is congested; a
 * node with a congested link stops taking messages (except from the peers it is congested
 * towards) and refuses publishes ({@code QUEUE_FULL}), until the far end has worked through half.
 */
public record SimConfig(
    int nodes,
    int publishers,
    int messages,
    double ratePerSecond,
    long seed,
    String latency,
    int payloadBytes,
    NodeConfig nodeConfig,
    long joinWindowMs,
    long settleMs,
    long drainMs,
    int introductionCount,
    long introductionDelayMs,
    double crashFraction,
    long crashAtMs,
    double churnPerSecond,
    long churnDowntimeMs,
    double partitionFraction,
    long partitionAtMs,
    long partitionMs,
    long keepAliveTimeoutMs,
    long dialTimeoutMs,
    double lossRate,
    int steadyReliabilityFrom,
    int steadyRmrFrom,
    long afterCrashMs,
    int streams,
    long cpuReceiveNanos,
    long cpuSendNanos,
    int backpressureWindow,
    boolean trackersOneSide,
    long afterHealMs,
    boolean resume) {

  public SimConfig {
    if (streams < 1 || streams > nodes / 2) throw new IllegalArgumentException("--streams must be 1.." + nodes / 2 + " (two nodes a stream at least)");
    if (streams > 1 && publishers % streams != 0) {
      throw new IllegalArgumentException("--publishers must be a multiple of --streams (" + streams + "), so that every stream has the same number");
    }
    if (nodes < 2) throw new IllegalArgumentException("--nodes must be at least 2");
    if (publishers < 1 || publishers > nodes) throw new IllegalArgumentException("--publishers must be 1.." + nodes);
    if (messages < 0) throw new IllegalArgumentException("--messages must not be negative");
    if (!(ratePerSecond > 0)) throw new IllegalArgumentException("--rate must be positive");
    if (payloadBytes < 0) throw new IllegalArgumentException("payload size must not be negative");
    if (joinWindowMs < 0 || settleMs < 0 || drainMs < 0) throw new IllegalArgumentException("phase lengths must not be negative");
    if (introductionCount < 1) throw new IllegalArgumentException("introductionCount must be at least 1");
    if (crashFraction < 0 || crashFraction >= 1) throw new IllegalArgumentException("--crash-fraction must be in [0, 1)");
    if (churnPerSecond < 0) throw new IllegalArgumentException("churn rate must not be negative");
    if (partitionFraction < 0 || partitionFraction >= 1) throw new IllegalArgumentException("partition fraction must be in [0, 1)");
    if (lossRate < 0 || lossRate >= 1) throw new IllegalArgumentException("loss rate must be in [0, 1)");
    if (steadyReliabilityFrom < 1 || steadyRmrFrom < 1) throw new IllegalArgumentException("steady-state windows start at message 1 or later");
    if (cpuReceiveNanos < 0 || cpuSendNanos < 0) throw new IllegalArgumentException("service times must not be negative");
    if (backpressureWindow < 0 || backpressureWindow == 1) throw new IllegalArgumentException("--window must be 0 (off) or at least 2");
    if (afterHealMs < 0) throw new IllegalArgumentException("afterHealMs must not be negative");
    LatencyModel.parse(latency, seed, nodes); // fail early on a bad spec
  }

  /** Whether nodes have a service time, so that they can be overloaded. */
  public boolean serviceModelled() {
    return cpuReceiveNanos > 0 || cpuSendNanos > 0 || backpressureWindow > 0;
  }

  /** The publishing period in virtual milliseconds. */
  public long publishingMs() {
    return (long) Math.ceil(messages * 1000.0 / ratePerSecond);
  }

  /**
   * When the crash happens, relative to the first publish. By default halfway through
   * publishing, or earlier when that is needed to leave two seconds of messages published
   * {@code afterCrashMs} or more after it (otherwise there is nothing to judge recovery by).
   */
  public long effectiveCrashAtMs() {
    if (crashAtMs >= 0) return crashAtMs;
    return Math.max(0, Math.min(publishingMs() / 2, publishingMs() - afterCrashMs - 2_000));
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private int nodes = 100;
    private int publishers = 1;
    private int messages = 100;
    private double ratePerSecond = 100;
    private long seed = 1;
    private String latency = "uniform:10-100";
    private int payloadBytes = 100;
    private NodeConfig nodeConfig = NodeConfig.defaults();
    private long joinWindowMs = -1;
    private long settleMs = 5_000;
    private long drainMs = 5_000;
    private int introductionCount = 8;
    private long introductionDelayMs = 20;
    private double crashFraction;
    private long crashAtMs = -1;
    private double churnPerSecond;
    private long churnDowntimeMs = 2_000;
    private double partitionFraction;
    private long partitionAtMs = -1;
    private long partitionMs = 5_000;
    private long keepAliveTimeoutMs = 5_000;
    private long dialTimeoutMs = 3_000;
    private double lossRate;
    private int steadyReliabilityFrom = 20;
    private int steadyRmrFrom = 100;
    private long afterCrashMs = 5_000;
    private int streams = 1;
    private long cpuReceiveNanos;
    private long cpuSendNanos;
    private int backpressureWindow;
    private boolean trackersOneSide;
    private long afterHealMs = 10_000;
    private boolean resume;

    /**
     * A churned node restarts where it left off: it joins with {@code StartAt.after} the last
     * unbroken run it delivered of each publisher session, as an application that keeps its
     * positions would, and fetches what was published while it was down. Reliability then counts
     * a node from its first incarnation's readiness on, so messages published while it was down
     * count against it too.
     */
    public Builder resume(boolean v) {
      resume = v;
      return this;
    }

    /** During a partition, only the publishers' side reaches the introducer (trackers). */
    public Builder trackersOneSide(boolean v) {
      trackersOneSide = v;
      return this;
    }

    /** Where the report's after_heal window starts, after the partition ends (default 10 s). */
    public Builder afterHealMs(long v) {
      afterHealMs = v;
      return this;
    }

    /** Each node's cost per message taken in and per message sent (default 0: free, infinitely fast nodes). */
    public Builder serviceTime(long receiveNanos, long sendNanos) {
      cpuReceiveNanos = receiveNanos;
      cpuSendNanos = sendNanos;
      return this;
    }

    /** Messages in flight to a peer, not yet handled by it, before the link counts as congested (default 0: no backpressure). */
    public Builder backpressureWindow(int messages) {
      backpressureWindow = messages;
      return this;
    }

    /**
     * Streams: node i joins stream i mod {@code streams} only, and publisher p publishes on its
     * own stream; metrics count, for each message, the members of its stream. Default 1.
     */
    public Builder streams(int v) {
      streams = v;
      return this;
    }

    public Builder nodes(int v) {
      nodes = v;
      return this;
    }

    public Builder publishers(int v) {
      publishers = v;
      return this;
    }

    public Builder messages(int v) {
      messages = v;
      return this;
    }

    public Builder rate(double perSecond) {
      ratePerSecond = perSecond;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    public Builder latency(String spec) {
      latency = spec;
      return this;
    }

    public Builder payloadBytes(int v) {
      payloadBytes = v;
      return this;
    }

    public Builder nodeConfig(NodeConfig v) {
      nodeConfig = v;
      return this;
    }

    /** Default: one second per 1,000 nodes, between 1 s and 10 s. */
    public Builder joinWindowMs(long v) {
      joinWindowMs = v;
      return this;
    }

    public Builder settleMs(long v) {
      settleMs = v;
      return this;
    }

    public Builder drainMs(long v) {
      drainMs = v;
      return this;
    }

    public Builder introductionCount(int v) {
      introductionCount = v;
      return this;
    }

    public Builder introductionDelayMs(long v) {
      introductionDelayMs = v;
      return this;
    }

    public Builder crashFraction(double v) {
      crashFraction = v;
      return this;
    }

    public Builder crashAtMs(long v) {
      crashAtMs = v;
      return this;
    }

    public Builder churn(double perSecond, long downtimeMs) {
      churnPerSecond = perSecond;
      churnDowntimeMs = downtimeMs;
      return this;
    }

    public Builder partition(double fraction, long atMs, long durationMs) {
      partitionFraction = fraction;
      partitionAtMs = atMs;
      partitionMs = durationMs;
      return this;
    }

    public Builder keepAliveTimeoutMs(long v) {
      keepAliveTimeoutMs = v;
      return this;
    }

    public Builder dialTimeoutMs(long v) {
      dialTimeoutMs = v;
      return this;
    }

    public Builder lossRate(double v) {
      lossRate = v;
      return this;
    }

    public Builder steadyReliabilityFrom(int v) {
      steadyReliabilityFrom = v;
      return this;
    }

    public Builder steadyRmrFrom(int v) {
      steadyRmrFrom = v;
      return this;
    }

    public Builder afterCrashMs(long v) {
      afterCrashMs = v;
      return this;
    }

    public SimConfig build() {
      long window = joinWindowMs >= 0 ? joinWindowMs : Math.max(1_000, Math.min(10_000, nodes));
      return new SimConfig(nodes, publishers, messages, ratePerSecond, seed, latency, payloadBytes, nodeConfig,
          window, settleMs, drainMs, introductionCount, introductionDelayMs, crashFraction, crashAtMs,
          churnPerSecond, churnDowntimeMs, partitionFraction, partitionAtMs, partitionMs, keepAliveTimeoutMs,
          dialTimeoutMs, lossRate, steadyReliabilityFrom, steadyRmrFrom, afterCrashMs, streams, cpuReceiveNanos,
          cpuSendNanos, backpressureWindow, trackersOneSide, afterHealMs, resume);
    }
  }
}
