package dev.overlay.metrics;

import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's {@link OverlayNode#snapshot() snapshot} as Micrometer meters: the node's counters,
 * each stream's traffic, broadcast and membership figures and, when asked for, each link's. The
 * names are listed in docs/operations.md ("Node metrics").
 *
 * <pre>{@code
 * new OverlayMetrics(node).bindTo(registry);                                  // node and stream meters
 * new OverlayMetrics(node, Tags.of("node", "gw-7")).withLinks().bindTo(registry); // tagged, and per link
 * }</pre>
 *
 * <p>Micrometer is an optional dependency of overlay-transport: only this package uses it, so an
 * application without it on its class path loads none of it and pays nothing.
 *
 * <p>Streams and links come and go, so the set of meters follows the snapshot: a stream joined
 * after binding gets its meters at the next reading, and a stream left or a link closed loses
 * them (a stream joined again starts its counters from zero, which Prometheus reads as a reset).
 * The meters read one snapshot, taken on the node's loop at most once a second however many
 * meters a scrape reads ({@link #MAX_AGE_NANOS}). A reading never waits for another's snapshot:
 * while one is being taken, the others serve the last figures, so a stuck node slows one reading,
 * not a whole scrape. After the node closes, or while its loop does not answer,
 * {@code overlay.node.running} reads 0 and the other meters keep their last figures;
 * {@link #close()} removes them.
 *
 * <p>Several nodes in one registry need tags that tell them apart: binding a second node with the
 * same tags is refused, since their meters would be one. Per-link meters are off by default: a
 * node may hold a thousand links, and one time series per link and figure is more than most
 * registries want (and a peer that reconnects under new identities makes new series).
 */
public final class OverlayMetrics implements MeterBinder, AutoCloseable {

  /**
   * How old a snapshot may be before a meter's reading takes a new one: a scrape reads a few
   * hundred meters, and one snapshot (a trip to the node's loop) must serve them all.
   */
  public static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final Logger log = LoggerFactory.getLogger(OverlayMetrics.class);

  private final OverlayNode node;
  private final Tags tags;
  private final boolean perLink;
  private final Object lock = new Object();
  // Guarded by lock: what is registered, the values the meters read, and who is taking a snapshot.
  private final Map<MeterKey, Meter> meters = new HashMap<>();
  private Map<MeterKey, Double> values = Map.of();
  private MeterRegistry registry;
  private Meter running;
  private long takenAt;
  private boolean taking;
  private boolean closed;
  /** Whether the last snapshot failed (not started, closed, stuck). */
  private boolean failedBefore = true;

  /**
   * Node and stream meters for a node.
   *
   * @param node the node; it may be started later, and its meters appear once it is
   */
  public OverlayMetrics(OverlayNode node) {
    this(node, Tags.empty(), false);
  }

  /**
   * Node and stream meters for a node, each with these tags as well (to tell several nodes in one
   * registry apart).
   *
   * @param node the node
   * @param tags tags every meter of this node carries
   */
  public OverlayMetrics(OverlayNode node, Iterable<Tag> tags) {
    this(node, Tags.of(tags), false);
  }

  private OverlayMetrics(OverlayNode node, Tags tags, boolean perLink) {
    if (node == null) throw new IllegalArgumentException("node is null");
    if (tags == null) throw new IllegalArgumentException("tags is null");
    this.node = node;
    this.tags = tags;
    this.perLink = perLink;
  }

  /**
   * {@return a binder like this one that also registers meters for each open link, tagged with the peer's id}
   */
  public OverlayMetrics withLinks() {
    return new OverlayMetrics(node, tags, true);
  }

  /**
   * Registers the node's meters. A binder serves one registry: bind another {@code OverlayMetrics}
   * to another registry (a {@code CompositeMeterRegistry} serves several).
   *
   * @param registry where the meters go
   * @throws IllegalStateException if this binder was bound before, or the registry holds another
   *     node's meters under the same tags
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    synchronized (lock) {
      if (this.registry != null || closed) throw new IllegalStateException("this OverlayMetrics was bound to a registry already");
      if (registry.find("overlay.node.running").tags(tags).gauge() != null) {
        throw new IllegalStateException("the registry has a node's meters with the tags " + tags
            + " already: give each node its own tags (new OverlayMetrics(node, Tags.of(\"node\", ...)))");
      }
      this.registry = registry;
      // Always there, so that a scrape reads something and a node started later gets its meters.
      running = Gauge.builder("overlay.node.running", this, m -> m.running()).tags(tags).strongReference(true)
          .description("1 while the node answers for its figures; 0 before it starts, after it closes, or when its loop is stuck")
          .register(registry);
    }
    refreshIfStale();
  }

  /** Removes every meter this binder registered; it reads nothing after this. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      if (registry == null) return;
      for (Meter m : meters.values()) registry.remove(m);
      meters.clear();
      if (running != null) registry.remove(running);
    }
  }

  /** A meter's reading: the value from a snapshot at most {@link #MAX_AGE_NANOS} old, or the last one while another reading takes it. */
  private double read(MeterKey key) {
    refreshIfStale();
    synchronized (lock) {
      Double v = values.get(key);
      return v == null ? Double.NaN : v;
    }
  }

  private double running() {
    refreshIfStale();
    synchronized (lock) {
      return failedBefore ? 0 : 1;
    }
  }

  /**
   * Takes a snapshot if the last is too old and no other reading is taking one, then makes the
   * registered meters its readings. The snapshot is taken outside the lock: a reading on the
   * node's own loop (which takes it inline) never waits for a thread that waits for that loop.
   */
  private void refreshIfStale() {
    synchronized (lock) {
      if (closed || registry == null || taking || System.nanoTime() - takenAt < MAX_AGE_NANOS) return;
      taking = true;
    }
    NodeSnapshot snapshot = null;
    try {
      snapshot = node.snapshot();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // Not started yet, closed, or its loop did not answer: the meters keep their last figures.
      if (!failedBefore) log.debug("no snapshot for metrics: {}", e.toString());
    }
    synchronized (lock) {
      taking = false;
      takenAt = System.nanoTime(); // after the attempt: a stuck loop costs one reading a second, not every one
      failedBefore = snapshot == null;
      if (snapshot != null && !closed) apply(snapshot);
    }
  }

  /** Under the lock: the snapshot's readings become the meters' values; new meters added, gone ones removed. */
  private void apply(NodeSnapshot snapshot) {
    List<Reading> readings = new ArrayList<>(256);
    MeterNames.node(snapshot, readings);
    for (NodeSnapshot.Stream s : snapshot.streams()) MeterNames.stream(s, readings);
    if (perLink) {
      for (NodeSnapshot.Link l : snapshot.links()) MeterNames.link(l, readings);
    }
    Map<MeterKey, Double> next = new HashMap<>(readings.size() * 2);
    for (Reading r : readings) {
      next.put(r.key(), r.value());
      if (!meters.containsKey(r.key())) meters.put(r.key(), register(r));
    }
    meters.entrySet().removeIf(e -> {
      if (next.containsKey(e.getKey())) return false;
      registry.remove(e.getValue());
      return true;
    });
    values = next;
  }

  // Micrometer holds a meter's state object weakly; the functions here hold this binder, so the
  // meters work for as long as the registry has them (until close()), however the caller keeps it.
  private Meter register(Reading r) {
    MeterKey key = r.key();
    Tags all = tags.and(key.tags());
    if (r.counter()) {
      return FunctionCounter.builder(key.name(), this, m -> read(key)).tags(all).description(r.description())
          .baseUnit(r.unit()).register(registry);
    }
    return Gauge.builder(key.name(), this, m -> read(key)).tags(all).description(r.description()).baseUnit(r.unit())
        .strongReference(true).register(registry);
  }

  /** A meter's identity: its name and its own tags (key, value, key, value...). */
  record MeterKey(String name, List<String> tagList) {
    String[] tags() {
      return tagList.toArray(String[]::new);
    }
  }

  /** One figure of a snapshot, as a meter shows it. */
  record Reading(MeterKey key, boolean counter, String description, String unit, double value) {}
}
