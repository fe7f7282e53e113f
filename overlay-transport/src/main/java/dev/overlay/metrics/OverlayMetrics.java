package dev.overlay.metrics;

import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
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
 * new OverlayMetrics(node).bindTo(registry);               // node and stream meters
 * OverlayMetrics.withLinks(node).bindTo(registry);          // and one set per open link
 * }</pre>
 *
 * <p>Micrometer is an optional dependency of overlay-transport: only this package uses it, so an
 * application without it on its class path loads none of it and pays nothing.
 *
 * <p>Streams and links come and go, so the set of meters follows the snapshot: a stream joined
 * after binding gets its meters at the next reading, and a stream left or a link closed loses
 * them (a stream joined again starts its counters from zero, which Prometheus reads as a reset).
 * The meters read one snapshot, taken on the node's loop at most once a second however many
 * meters a scrape reads ({@link #MAX_AGE_NANOS}); after the node closes they keep its last figures.
 *
 * <p>Per-link meters are off by default: a node may hold a thousand links, and one time series
 * per link and figure is more than most registries want.
 */
public final class OverlayMetrics implements MeterBinder {

  /**
   * How old a snapshot may be before a meter's reading takes a new one: a scrape reads a few
   * hundred meters, and one snapshot (a trip to the node's loop) must serve them all.
   */
  public static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final Logger log = LoggerFactory.getLogger(OverlayMetrics.class);

  private final OverlayNode node;
  private final boolean perLink;
  private final Object lock = new Object();
  /** Guarded by lock: what is registered, and the values the meters read. */
  private final Map<MeterKey, Meter> meters = new HashMap<>();
  private Map<MeterKey, Double> values = Map.of();
  private MeterRegistry registry;
  private long takenAt;
  /** Whether the last snapshot failed (not started, closed, stuck). */
  private boolean failedBefore = true;

  /**
   * Node and stream meters for a node.
   *
   * @param node the node; it may be started later, and its meters appear once it is
   */
  public OverlayMetrics(OverlayNode node) {
    this(node, false);
  }

  private OverlayMetrics(OverlayNode node, boolean perLink) {
    if (node == null) throw new IllegalArgumentException("node is null");
    this.node = node;
    this.perLink = perLink;
  }

  /**
   * Node and stream meters, and meters for each open link tagged with the peer's id.
   *
   * @param node the node
   * @return the binder
   */
  public static OverlayMetrics withLinks(OverlayNode node) {
    return new OverlayMetrics(node, true);
  }

  /**
   * Registers the node's meters. A binder serves one registry: bind another {@code OverlayMetrics}
   * to another registry (a {@code CompositeMeterRegistry} serves several).
   *
   * @param registry where the meters go
   * @throws IllegalStateException if this binder was bound before
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    synchronized (lock) {
      if (this.registry != null) throw new IllegalStateException("this OverlayMetrics is bound to a registry already");
      this.registry = registry;
      // Always there, so that a scrape reads something and a node started later gets its meters.
      Gauge.builder("overlay.node.running", this, m -> m.running()).description(
          "1 while the node answers for its figures; 0 before it starts, after it closes, or when its loop is stuck")
          .register(registry);
      refresh(System.nanoTime());
    }
  }

  /** A meter's reading: the value from a snapshot at most {@link #MAX_AGE_NANOS} old. */
  private double read(MeterKey key) {
    synchronized (lock) {
      long now = System.nanoTime();
      if (now - takenAt >= MAX_AGE_NANOS) refresh(now);
      Double v = values.get(key);
      return v == null ? Double.NaN : v;
    }
  }

  private double running() {
    synchronized (lock) {
      long now = System.nanoTime();
      if (now - takenAt >= MAX_AGE_NANOS) refresh(now);
      return failedBefore ? 0 : 1;
    }
  }

  /** Takes a snapshot and makes the registered meters its readings: new ones added, gone ones removed. */
  private void refresh(long now) {
    takenAt = now;
    NodeSnapshot snapshot;
    try {
      snapshot = node.snapshot();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (RuntimeException e) {
      // Not started yet, closed, or its loop did not answer: the meters keep their last figures.
      if (!failedBefore) log.debug("no snapshot for metrics: {}", e.toString());
      failedBefore = true;
      return;
    }
    failedBefore = false;
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

  private Meter register(Reading r) {
    MeterKey key = r.key();
    if (r.counter()) {
      return FunctionCounter.builder(key.name(), this, m -> m.read(key)).tags(key.tags()).description(r.description())
          .baseUnit(r.unit()).register(registry);
    }
    return Gauge.builder(key.name(), this, m -> m.read(key)).tags(key.tags()).description(r.description())
        .baseUnit(r.unit()).register(registry);
  }

  /** A meter's identity: its name and its tags (key, value, key, value...). */
  record MeterKey(String name, List<String> tagList) {
    String[] tags() {
      return tagList.toArray(String[]::new);
    }
  }

  /** One figure of a snapshot, as a meter shows it. */
  record Reading(MeterKey key, boolean counter, String description, String unit, double value) {}
}
