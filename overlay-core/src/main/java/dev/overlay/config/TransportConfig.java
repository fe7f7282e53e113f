package dev.overlay.config;

import java.time.Duration;

/**
 * The transport's limits and timers. Immutable; build with {@link #builder()}, which checks
 * every value.
 *
 * <p>Defaults, and where they come from (our own choices unless a source is named):
 * <ul>
 *   <li>{@code maxFrameBytes} 1 MiB: well above the largest frame a node sends (a 64 KiB
 *       payload, or an IHAVE of 256 ranges); a peer can never make us buffer more for one frame.
 *       At least {@code WireCodec.MIN_FRAME_LIMIT} (128 KiB), which every peer must accept.</li>
 *   <li>{@code maxPause} 1 s: while any peer's link is not writable (Netty holds more than the
 *       high water mark for it), the node reads from no link: TCP carries the pressure back to
 *       the publisher, whose publishes are refused. A pause that one peer alone holds for
 *       {@code maxPause} takes that peer off the eager path; after ten times {@code maxPause}
 *       the node reads again whatever the backlogs (docs/architecture.md, "Overload").</li>
 *   <li>{@code dataQueueBytes} 4 MiB and {@code controlQueueBytes} 1 MiB per peer: the hard caps
 *       of what may wait beyond Netty's own buffer. Data reaching its cap (only after a pause ran
 *       out) is shed; control messages are never shed, and a full control lane closes the link.</li>
 *   <li>{@code writeBufferLowWaterMark} 128 KiB, {@code writeBufferHighWaterMark} 256 KiB: Netty's
 *       writability thresholds; above the high mark we stop writing, queue, and the node stops
 *       reading (above). Small, so that a saturated overlay holds little in flight and is back
 *       to its usual latency soon after the load drops: with 1 MiB, a burst left seconds of
 *       messages queued at every hop.</li>
 *   <li>{@code socketReceiveBuffer} 256 KiB (SO_RCVBUF) and {@code unsentLowWater} 128 KiB
 *       (TCP_NOTSENT_LOWAT, epoll only): the kernel's share of a link's queue. Left to
 *       itself, Linux grows a receive buffer to {@code tcp_rmem}'s maximum (32 MiB on our
 *       machines) and queues unsent data up to {@code tcp_wmem}'s: megabytes per link in which
 *       a burst waits unseen by the backpressure above, for seconds, while announcements by
 *       other paths overtake it and are repaired. The cost: a receive window of 256 KiB carries
 *       at most about 2.5 MB/s per link at 100 ms round trip (25,000 messages of 100 bytes);
 *       raise it for links that carry more over long distances, or set 0 to leave either to
 *       the kernel. Measured in docs/benchmarks.md ("Overload").</li>
 *   <li>{@code slowPeerTimeout} 15 s: a link that stays unwritable this long without its backlog
 *       shrinking is closed ({@code SlowPeerDisconnected}): its peer reads nothing. It must be
 *       longer than ten times {@code maxPause}, because an honest peer may read nothing while it
 *       is backpressured itself, and a pause ends at the latest then (validated). With 5 s the
 *       sweep at 100,000 msg/s closed honest links that were only paused, and the torn trees lost
 *       3 % of the messages. Before backpressure, slow peers were disconnected after 2 s of
 *       backlog, which tore the trees up under load (jvm-libp2p penalises such peers after a
 *       number of heartbeats, PR #513).</li>
 *   <li>{@code pauseReading} true: whether backpressure stops reading at all. A tracker sets
 *       false: it forwards nothing, so pausing would only let one slow client stall all.</li>
 *   <li>{@code keepAliveInterval} 5 s: checked once per interval, a whole interval with nothing
 *       sent sends a PING (so a quiet link pings every 5 to 10 s); {@code idleTimeout} 15 s of
 *       receive silence closes the link as half-open (Partisan v5 added the same ping for
 *       half-open TCP).</li>
 *   <li>{@code connectTimeout} 5 s, {@code handshakeTimeout} 5 s (TLS and HELLO together).</li>
 *   <li>{@code dialBackoffMin} 100 ms, {@code dialBackoffMax} 30 s: after a failed dial, the next
 *       one to that peer waits a random time up to min(max, min · 2ⁿ) ("full jitter").</li>
 *   <li>{@code commandQueueCapacity} 65,536: publishes and other application calls waiting for
 *       the node's loop; a publish finding it full is refused at once.</li>
 *   <li>{@code subscriptionQueueCapacity} 16,384 messages per subscription: how far a handler may
 *       fall behind before messages are dropped for it and it is told it lagged.</li>
 *   <li>{@code eventQueueCapacity} 4,096 events waiting for the listener; beyond, events are
 *       counted and dropped.</li>
 *   <li>{@code flushCoalescing} 200 µs: a connection flushed less than this ago waits until it
 *       has passed, collecting whatever else is written; an idle one flushes at once. At 1,000
 *       msg/s nothing waits; at 50,000 msg/s about ten frames share a TLS record and a system
 *       call (measured in docs/benchmarks.md). Zero flushes every loop turn.</li>
 *   <li>{@code maxLinks} 4,096: connections to distinct peers a node keeps at once (100 streams
 *       with 5 neighbours each and as many being tried fit eight times over). A handshake that
 *       would pass it is refused, so no remote peer can make the link table grow. A tracker,
 *       which holds a link from every node it serves, sets it far higher.</li>
 *   <li>{@code maxHandshakes} 256: connections in their TLS and HELLO handshake at once. Every
 *       ClientHello costs an ECDHE and a signature on the node's one loop and holds a file
 *       descriptor until the handshake timeout; beyond this an inbound connection is closed at
 *       once, counted as {@code closed_handshake_limit}.</li>
 *   <li>{@code maxDialsPerSecond} 50 and {@code maxDialsInProgress} 64: the budget of outbound
 *       connection attempts. Peers name addresses to dial (walks, shuffles); with no budget, a
 *       few hundred frames a second aimed the node at any host:port and held every link slot.
 *       A dial beyond either fails at once with its reason. Independent of these, an address
 *       whose last attempts failed is not tried again within its backoff.</li>
 *   <li>{@code nativeTransport} and {@code nativeTls} true: epoll and BoringSSL when the platform
 *       has them, NIO and the JDK's TLS otherwise.</li>
 * </ul>
 */
public record TransportConfig(
    int maxFrameBytes,
    int dataQueueBytes,
    int controlQueueBytes,
    int writeBufferLowWaterMark,
    int writeBufferHighWaterMark,
    long slowPeerTimeoutNanos,
    long keepAliveIntervalNanos,
    long idleTimeoutNanos,
    long connectTimeoutNanos,
    long handshakeTimeoutNanos,
    long dialBackoffMinNanos,
    long dialBackoffMaxNanos,
    int commandQueueCapacity,
    int subscriptionQueueCapacity,
    int eventQueueCapacity,
    boolean nativeTransport,
    boolean nativeTls,
    long flushCoalescingNanos,
    int maxLinks,
    int maxHandshakes,
    int maxDialsPerSecond,
    int maxDialsInProgress,
    int socketReceiveBufferBytes,
    int unsentLowWaterBytes,
    long maxPauseNanos,
    boolean pauseReading) {

  /**
   * Checks every value.
   *
   * @param maxFrameBytes {@code maxFrameBytes} (class description)
   * @param dataQueueBytes {@code dataQueueBytes} (class description)
   * @param controlQueueBytes {@code controlQueueBytes} (class description)
   * @param writeBufferLowWaterMark {@code writeBufferLowWaterMark} (class description)
   * @param writeBufferHighWaterMark {@code writeBufferHighWaterMark} (class description)
   * @param slowPeerTimeoutNanos {@code slowPeerTimeout} in nanoseconds (class description)
   * @param keepAliveIntervalNanos {@code keepAliveInterval} in nanoseconds (class description)
   * @param idleTimeoutNanos {@code idleTimeout} in nanoseconds (class description)
   * @param connectTimeoutNanos {@code connectTimeout} in nanoseconds (class description)
   * @param handshakeTimeoutNanos {@code handshakeTimeout} in nanoseconds (class description)
   * @param dialBackoffMinNanos {@code dialBackoffMin} in nanoseconds (class description)
   * @param dialBackoffMaxNanos {@code dialBackoffMax} in nanoseconds (class description)
   * @param commandQueueCapacity {@code commandQueueCapacity} (class description)
   * @param subscriptionQueueCapacity {@code subscriptionQueueCapacity} (class description)
   * @param eventQueueCapacity {@code eventQueueCapacity} (class description)
   * @param nativeTransport {@code nativeTransport} (class description)
   * @param nativeTls {@code nativeTls} (class description)
   * @param flushCoalescingNanos {@code flushCoalescing} in nanoseconds (class description)
   * @param maxLinks {@code maxLinks} (class description)
   * @param maxHandshakes {@code maxHandshakes} (class description)
   * @param maxDialsPerSecond {@code maxDialsPerSecond} (class description)
   * @param maxDialsInProgress {@code maxDialsInProgress} (class description)
   * @param socketReceiveBufferBytes {@code socketReceiveBufferBytes} (class description)
   * @param unsentLowWaterBytes {@code unsentLowWaterBytes} (class description)
   * @param maxPauseNanos {@code maxPause} in nanoseconds (class description)
   * @param pauseReading {@code pauseReading} (class description)
   * @throws IllegalArgumentException naming the first value out of its bounds
   */
  public TransportConfig {
    if (maxFrameBytes < dev.overlay.wire.WireCodec.MIN_FRAME_LIMIT) {
      throw new IllegalArgumentException("maxFrameBytes must be at least " + dev.overlay.wire.WireCodec.MIN_FRAME_LIMIT
          + " (peers refuse a HELLO offering less), got " + maxFrameBytes);
    }
    positive(dataQueueBytes, "dataQueueBytes");
    positive(controlQueueBytes, "controlQueueBytes");
    positive(writeBufferLowWaterMark, "writeBufferLowWaterMark");
    if (writeBufferHighWaterMark < writeBufferLowWaterMark) {
      throw new IllegalArgumentException("writeBufferHighWaterMark must be at least writeBufferLowWaterMark");
    }
    positive(slowPeerTimeoutNanos, "slowPeerTimeout");
    positive(keepAliveIntervalNanos, "keepAliveInterval");
    if (idleTimeoutNanos <= keepAliveIntervalNanos) {
      throw new IllegalArgumentException("idleTimeout must be longer than keepAliveInterval");
    }
    positive(connectTimeoutNanos, "connectTimeout");
    positive(handshakeTimeoutNanos, "handshakeTimeout");
    positive(dialBackoffMinNanos, "dialBackoffMin");
    if (dialBackoffMaxNanos < dialBackoffMinNanos) throw new IllegalArgumentException("dialBackoffMax must be at least dialBackoffMin");
    positive(commandQueueCapacity, "commandQueueCapacity");
    positive(subscriptionQueueCapacity, "subscriptionQueueCapacity");
    positive(eventQueueCapacity, "eventQueueCapacity");
    if (flushCoalescingNanos < 0) throw new IllegalArgumentException("flushCoalescing must not be negative");
    positive(maxLinks, "maxLinks");
    positive(maxHandshakes, "maxHandshakes");
    positive(maxDialsPerSecond, "maxDialsPerSecond");
    positive(maxDialsInProgress, "maxDialsInProgress");
    if (socketReceiveBufferBytes < 0) throw new IllegalArgumentException("socketReceiveBuffer must not be negative");
    if (unsentLowWaterBytes < 0) throw new IllegalArgumentException("unsentLowWater must not be negative");
    positive(maxPauseNanos, "maxPause");
    if (slowPeerTimeoutNanos <= 10 * maxPauseNanos) {
      throw new IllegalArgumentException("slowPeerTimeout must be longer than ten times maxPause: a backpressured peer reads nothing until its pause ends");
    }
    if (maxPauseNanos > idleTimeoutNanos / 10) {
      // A pause may last ten times maxPause, during which nothing is read: links would be closed as half-open.
      throw new IllegalArgumentException("maxPause must be at most a tenth of idleTimeout");
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
  public static TransportConfig defaults() {
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
   * A builder holding these values, to change some.
   *
   * @return a new builder
   */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxFrameBytes = maxFrameBytes;
    b.dataQueueBytes = dataQueueBytes;
    b.controlQueueBytes = controlQueueBytes;
    b.writeBufferLowWaterMark = writeBufferLowWaterMark;
    b.writeBufferHighWaterMark = writeBufferHighWaterMark;
    b.slowPeerTimeout = Duration.ofNanos(slowPeerTimeoutNanos);
    b.keepAliveInterval = Duration.ofNanos(keepAliveIntervalNanos);
    b.idleTimeout = Duration.ofNanos(idleTimeoutNanos);
    b.connectTimeout = Duration.ofNanos(connectTimeoutNanos);
    b.handshakeTimeout = Duration.ofNanos(handshakeTimeoutNanos);
    b.dialBackoffMin = Duration.ofNanos(dialBackoffMinNanos);
    b.dialBackoffMax = Duration.ofNanos(dialBackoffMaxNanos);
    b.commandQueueCapacity = commandQueueCapacity;
    b.subscriptionQueueCapacity = subscriptionQueueCapacity;
    b.eventQueueCapacity = eventQueueCapacity;
    b.nativeTransport = nativeTransport;
    b.nativeTls = nativeTls;
    b.flushCoalescing = Duration.ofNanos(flushCoalescingNanos);
    b.maxLinks = maxLinks;
    b.maxHandshakes = maxHandshakes;
    b.maxDialsPerSecond = maxDialsPerSecond;
    b.maxDialsInProgress = maxDialsInProgress;
    b.socketReceiveBufferBytes = socketReceiveBufferBytes;
    b.unsentLowWaterBytes = unsentLowWaterBytes;
    b.maxPause = Duration.ofNanos(maxPauseNanos);
    b.pauseReading = pauseReading;
    return b;
  }

  /**
   * Collects settings, starting from the defaults; {@link #build()} checks them.
   */
  public static final class Builder {
    private int maxFrameBytes = 1 << 20;
    private int dataQueueBytes = 4 << 20;
    private int controlQueueBytes = 1 << 20;
    private int writeBufferLowWaterMark = 128 << 10;
    private int writeBufferHighWaterMark = 256 << 10;
    private Duration slowPeerTimeout = Duration.ofSeconds(15);
    private Duration keepAliveInterval = Duration.ofSeconds(5);
    private Duration idleTimeout = Duration.ofSeconds(15);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration handshakeTimeout = Duration.ofSeconds(5);
    private Duration dialBackoffMin = Duration.ofMillis(100);
    private Duration dialBackoffMax = Duration.ofSeconds(30);
    private int commandQueueCapacity = 65_536;
    private int subscriptionQueueCapacity = 16_384;
    private int eventQueueCapacity = 4_096;
    private boolean nativeTransport = true;
    private boolean nativeTls = true;
    private Duration flushCoalescing = Duration.ofNanos(200_000);
    private int maxLinks = 4_096;
    private int maxHandshakes = 256;
    private int maxDialsPerSecond = 50;
    private int maxDialsInProgress = 64;
    private int socketReceiveBufferBytes = 256 << 10;
    private int unsentLowWaterBytes = 128 << 10;
    private Duration maxPause = Duration.ofSeconds(1);
    private boolean pauseReading = true;

    /**
     * Whether backpressure stops reading (see the class comment); a tracker turns it off.
     *
     * @param v true to pause reading while a link is congested
     * @return this builder
     */
    public Builder pauseReading(boolean v) {
      pauseReading = v;
      return this;
    }

    /**
     * SO_RCVBUF of every link; 0 leaves it to the kernel.
     *
     * @param bytes the buffer's size
     * @return this builder
     */
    public Builder socketReceiveBuffer(int bytes) {
      socketReceiveBufferBytes = bytes;
      return this;
    }

    /**
     * TCP_NOTSENT_LOWAT of every link (epoll only); 0 leaves it to the kernel.
     *
     * @param bytes the threshold
     * @return this builder
     */
    public Builder unsentLowWater(int bytes) {
      unsentLowWaterBytes = bytes;
      return this;
    }

    /**
     * Sets {@code maxPause}. From the class description: {@code maxPause} 1 s: while any peer's
     * link is not writable (Netty holds more than the high water mark for it), the node reads from
     * no link: TCP carries the pressure back to the publisher, whose publishes are refused. A pause
     * that one peer alone holds for {@code maxPause} takes that peer off the eager path; after ten
     * times {@code maxPause} the node reads again whatever the backlogs (docs/architecture.md,
     * "Overload").
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxPause(Duration v) {
      maxPause = v;
      return this;
    }

    /**
     * Sets {@code maxHandshakes}. From the class description: {@code maxHandshakes} 256:
     * connections in their TLS and HELLO handshake at once. Every ClientHello costs an ECDHE and a
     * signature on the node's one loop and holds a file descriptor until the handshake timeout;
     * beyond this an inbound connection is closed at once, counted as {@code
     * closed_handshake_limit}.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxHandshakes(int v) {
      maxHandshakes = v;
      return this;
    }

    /**
     * Sets {@code maxDialsPerSecond}. From the class description: {@code maxDialsPerSecond} 50 and
     * {@code maxDialsInProgress} 64: the budget of outbound connection attempts. Peers name
     * addresses to dial (walks, shuffles); with no budget, a few hundred frames a second aimed the
     * node at any host:port and held every link slot. A dial beyond either fails at once with its
     * reason. Independent of these, an address whose last attempts failed is not tried again within
     * its backoff.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxDialsPerSecond(int v) {
      maxDialsPerSecond = v;
      return this;
    }

    /**
     * Sets {@code maxDialsInProgress}. From the class description: {@code maxDialsPerSecond} 50 and
     * {@code maxDialsInProgress} 64: the budget of outbound connection attempts. Peers name
     * addresses to dial (walks, shuffles); with no budget, a few hundred frames a second aimed the
     * node at any host:port and held every link slot. A dial beyond either fails at once with its
     * reason. Independent of these, an address whose last attempts failed is not tried again within
     * its backoff.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxDialsInProgress(int v) {
      maxDialsInProgress = v;
      return this;
    }

    /**
     * Sets {@code maxLinks}. From the class description: {@code maxLinks} 4,096: connections to
     * distinct peers a node keeps at once (100 streams with 5 neighbours each and as many being
     * tried fit eight times over). A handshake that would pass it is refused, so no remote peer can
     * make the link table grow. A tracker, which holds a link from every node it serves, sets it
     * far higher.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxLinks(int v) {
      maxLinks = v;
      return this;
    }

    /**
     * Sets {@code maxFrameBytes}. From the class description: {@code maxFrameBytes} 1 MiB: well
     * above the largest frame a node sends (a 64 KiB payload, or an IHAVE of 256 ranges); a peer
     * can never make us buffer more for one frame. At least {@code WireCodec.MIN_FRAME_LIMIT} (128
     * KiB), which every peer must accept.
     *
     * @param v the value
     * @return this builder
     */
    public Builder maxFrameBytes(int v) {
      maxFrameBytes = v;
      return this;
    }

    /**
     * Sets {@code dataQueueBytes}. From the class description: {@code dataQueueBytes} 4 MiB and
     * {@code controlQueueBytes} 1 MiB per peer: the hard caps of what may wait beyond Netty's own
     * buffer. Data reaching its cap (only after a pause ran out) is shed; control messages are
     * never shed, and a full control lane closes the link.
     *
     * @param v the value
     * @return this builder
     */
    public Builder dataQueueBytes(int v) {
      dataQueueBytes = v;
      return this;
    }

    /**
     * Sets {@code controlQueueBytes}. From the class description: {@code dataQueueBytes} 4 MiB and
     * {@code controlQueueBytes} 1 MiB per peer: the hard caps of what may wait beyond Netty's own
     * buffer. Data reaching its cap (only after a pause ran out) is shed; control messages are
     * never shed, and a full control lane closes the link.
     *
     * @param v the value
     * @return this builder
     */
    public Builder controlQueueBytes(int v) {
      controlQueueBytes = v;
      return this;
    }

    /**
     * Netty's writability thresholds for every link (class description:
     * {@code writeBufferLowWaterMark}, {@code writeBufferHighWaterMark}).
     *
     * @param low bytes below which a link is writable again
     * @param high bytes above which it is not
     * @return this builder
     */
    public Builder writeBufferWaterMarks(int low, int high) {
      writeBufferLowWaterMark = low;
      writeBufferHighWaterMark = high;
      return this;
    }

    /**
     * Sets {@code slowPeerTimeout}. From the class description: {@code slowPeerTimeout} 15 s: a
     * link that stays unwritable this long without its backlog shrinking is closed ({@code
     * SlowPeerDisconnected}): its peer reads nothing. It must be longer than ten times {@code
     * maxPause}, because an honest peer may read nothing while it is backpressured itself, and a
     * pause ends at the latest then (validated). With 5 s the sweep at 100,000 msg/s closed honest
     * links that were only paused, and the torn trees lost 3 % of the messages. Before
     * backpressure, slow peers were disconnected after 2 s of backlog, which tore the trees up
     * under load (jvm-libp2p penalises such peers after a number of heartbeats, PR #513).
     *
     * @param v the value
     * @return this builder
     */
    public Builder slowPeerTimeout(Duration v) {
      slowPeerTimeout = v;
      return this;
    }

    /**
     * Sets {@code keepAliveInterval}. From the class description: {@code keepAliveInterval} 5 s:
     * checked once per interval, a whole interval with nothing sent sends a PING (so a quiet link
     * pings every 5 to 10 s); {@code idleTimeout} 15 s of receive silence closes the link as
     * half-open (Partisan v5 added the same ping for half-open TCP).
     *
     * @param v the value
     * @return this builder
     */
    public Builder keepAliveInterval(Duration v) {
      keepAliveInterval = v;
      return this;
    }

    /**
     * Sets {@code idleTimeout}; its default and bounds are in the class description.
     *
     * @param v the value
     * @return this builder
     */
    public Builder idleTimeout(Duration v) {
      idleTimeout = v;
      return this;
    }

    /**
     * Sets {@code connectTimeout}. From the class description: {@code connectTimeout} 5 s, {@code
     * handshakeTimeout} 5 s (TLS and HELLO together).
     *
     * @param v the value
     * @return this builder
     */
    public Builder connectTimeout(Duration v) {
      connectTimeout = v;
      return this;
    }

    /**
     * Sets {@code handshakeTimeout}. From the class description: {@code connectTimeout} 5 s, {@code
     * handshakeTimeout} 5 s (TLS and HELLO together).
     *
     * @param v the value
     * @return this builder
     */
    public Builder handshakeTimeout(Duration v) {
      handshakeTimeout = v;
      return this;
    }

    /**
     * The backoff between failed dials to one peer (class description: {@code dialBackoffMin},
     * {@code dialBackoffMax}).
     *
     * @param min the first wait's ceiling
     * @param max the largest ceiling
     * @return this builder
     */
    public Builder dialBackoff(Duration min, Duration max) {
      dialBackoffMin = min;
      dialBackoffMax = max;
      return this;
    }

    /**
     * Sets {@code commandQueueCapacity}. From the class description: {@code commandQueueCapacity}
     * 65,536: publishes and other application calls waiting for the node's loop; a publish finding
     * it full is refused at once.
     *
     * @param v the value
     * @return this builder
     */
    public Builder commandQueueCapacity(int v) {
      commandQueueCapacity = v;
      return this;
    }

    /**
     * Sets {@code subscriptionQueueCapacity}. From the class description: {@code
     * subscriptionQueueCapacity} 16,384 messages per subscription: how far a handler may fall
     * behind before messages are dropped for it and it is told it lagged.
     *
     * @param v the value
     * @return this builder
     */
    public Builder subscriptionQueueCapacity(int v) {
      subscriptionQueueCapacity = v;
      return this;
    }

    /**
     * Sets {@code eventQueueCapacity}. From the class description: {@code eventQueueCapacity} 4,096
     * events waiting for the listener; beyond, events are counted and dropped.
     *
     * @param v the value
     * @return this builder
     */
    public Builder eventQueueCapacity(int v) {
      eventQueueCapacity = v;
      return this;
    }

    /**
     * Sets {@code nativeTransport}. From the class description: {@code nativeTransport} and {@code
     * nativeTls} true: epoll and BoringSSL when the platform has them, NIO and the JDK's TLS
     * otherwise.
     *
     * @param v the value
     * @return this builder
     */
    public Builder nativeTransport(boolean v) {
      nativeTransport = v;
      return this;
    }

    /**
     * Sets {@code nativeTls}. From the class description: {@code nativeTransport} and {@code
     * nativeTls} true: epoll and BoringSSL when the platform has them, NIO and the JDK's TLS
     * otherwise.
     *
     * @param v the value
     * @return this builder
     */
    public Builder nativeTls(boolean v) {
      nativeTls = v;
      return this;
    }

    /**
     * Sets {@code flushCoalescing}. From the class description: {@code flushCoalescing} 200 µs: a
     * connection flushed less than this ago waits until it has passed, collecting whatever else is
     * written; an idle one flushes at once. At 1,000 msg/s nothing waits; at 50,000 msg/s about ten
     * frames share a TLS record and a system call (measured in docs/benchmarks.md). Zero flushes
     * every loop turn.
     *
     * @param v the value
     * @return this builder
     */
    public Builder flushCoalescing(Duration v) {
      flushCoalescing = v;
      return this;
    }

    /**
     * Checks every value and builds the configuration.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the first value out of its bounds
     */
    public TransportConfig build() {
      return new TransportConfig(maxFrameBytes, dataQueueBytes, controlQueueBytes, writeBufferLowWaterMark,
          writeBufferHighWaterMark, slowPeerTimeout.toNanos(), keepAliveInterval.toNanos(), idleTimeout.toNanos(),
          connectTimeout.toNanos(), handshakeTimeout.toNanos(), dialBackoffMin.toNanos(), dialBackoffMax.toNanos(),
          commandQueueCapacity, subscriptionQueueCapacity, eventQueueCapacity, nativeTransport, nativeTls,
          flushCoalescing.toNanos(), maxLinks, maxHandshakes, maxDialsPerSecond, maxDialsInProgress,
          socketReceiveBufferBytes, unsentLowWaterBytes, maxPause.toNanos(), pauseReading);
    }
  }
}
