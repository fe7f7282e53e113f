package dev.overlay.tracker;

import dev.overlay.nat.StunServer;
import dev.overlay.transport.CloseReason;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmHeapPressureMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.ToDoubleFunction;

/**
 * The tracker's figures as Micrometer meters in a Prometheus registry, with the JVM's (memory,
 * GC, threads, classes, CPU, file descriptors, uptime). {@code GET /metrics} is its scrape.
 *
 * <p>The names are the ones the hand-written page had before (docs/operations.md lists them), so
 * dashboards and alerts keep working; the values are now written as Prometheus' client writes
 * them (0.0 for 0).
 *
 * <p>The meters read the tracker's state, which belongs to its loop: the registry is scraped on
 * that loop only (TrackerHttp), so a reading never races a write.
 */
final class TrackerMetrics implements AutoCloseable {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final JvmHeapPressureMetrics heapPressure = new JvmHeapPressureMetrics();
  private final TrackerServer server;
  private final TrackerHttp http;
  private long lastJoins;
  private long lastJoinsAt = System.nanoTime();
  private double joinsPerSecond;
  private boolean stunBound;
  private boolean relayBound;

  /** On the tracker's loop, at the first scrape. */
  TrackerMetrics(TrackerServer server, TrackerHttp http) {
    this.server = server;
    this.http = http;
    bindTracker(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    heapPressure.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmInfoMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  /** The Prometheus text; on the loop. */
  String scrape() {
    long now = System.nanoTime();
    long joins = server.state().stats().joinsAnswered();
    if (now - lastJoinsAt >= 1_000_000_000L) { // a rate over the time since the last scrape (at least 1 s)
      joinsPerSecond = (joins - lastJoins) * 1e9 / (now - lastJoinsAt);
      lastJoins = joins;
      lastJoinsAt = now;
    }
    if (!stunBound && server.stun() != null) {
      bindStun(registry, server.stun());
      stunBound = true;
    }
    if (!relayBound && server.relay() != null) {
      bindRelay(registry, server.relay());
      relayBound = true;
    }
    return registry.scrape();
  }

  /** The STUN server's meters, once the tracker has one (TrackerMain sets it after start). */
  private void bindStun(MeterRegistry r, StunServer stun) {
    counter(r, "overlay.tracker.stun.answered", "STUN Binding requests answered with the address seen.", x -> stun.counters().answered());
    counter(r, "overlay.tracker.stun.errors", "STUN requests answered with an error (420: attributes not served).",
        x -> stun.counters().errors());
    counter(r, "overlay.tracker.stun.malformed", "STUN input dropped as malformed (and its TCP connection closed).",
        x -> stun.counters().malformed());
    counter(r, "overlay.tracker.stun.dropped", "STUN requests not answered: other methods, or a socket that could not take the answer.",
        x -> stun.counters().dropped());
    counter(r, "overlay.tracker.stun.tcp.refused", "STUN TCP connections refused at the caps (1,024 in all, 16 per source address).",
        x -> stun.counters().tcpRefused());
    gauge(r, "overlay.tracker.stun.tcp.connections", "Open STUN TCP connections.", x -> stun.counters().tcpOpen());
  }

  /** The relay's meters, once the tracker has one. */
  private void bindRelay(MeterRegistry r, RelayServer relay) {
    gauge(r, "overlay.tracker.relay.links", "Relayed links open or waiting for their second side.", x -> relay.stats().links());
    counter(r, "overlay.tracker.relay.linked", "Relayed links whose two sides met.", x -> relay.stats().linked());
    counter(r, "overlay.tracker.relay.tickets.issued", "Relay tickets given to pairs of nodes.", x -> relay.stats().ticketsIssued());
    counter(r, "overlay.tracker.relay.tickets.refused",
        "Relay tickets refused: the relay's or a node's links at their maximum, or an hour's bytes spent.", x -> relay.stats().ticketsRefused());
    counter(r, "overlay.tracker.relay.tickets.expired", "Relay tickets not used by both sides in time.", x -> relay.stats().ticketsExpired());
    counter(r, "overlay.tracker.relay.bad.prefaces", "Relay connections closed for a wrong, used or missing token.",
        x -> relay.stats().badPrefaces());
    counter(r, "overlay.tracker.relay.refused.pending",
        "Relay connections refused at the caps on those yet to present a token (1,024, 16 per source).", x -> relay.stats().refusedPending());
    counter(r, "overlay.tracker.relay.closed.over.bytes", "Relayed links closed at a byte cap: the link's, an identity's hour or the relay's hour.", x -> relay.stats().closedOverBytes());
    counter(r, "overlay.tracker.relay.closed.idle", "Relayed links closed after 120 s without a byte either way.",
        x -> relay.stats().closedIdle());
    counter(r, "overlay.tracker.relay.rate.pauses", "Times a relayed link's reading paused at a bytes-per-second limit: the link's, an identity's or the relay's.",
        x -> relay.stats().pausesForRate());
    counter(r, "overlay.tracker.relay.bytes", "Bytes carried by the relay.", x -> relay.stats().bytesRelayed());
  }

  MeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    gc.close();
    heapPressure.close();
    registry.close();
  }

  private void bindTracker(MeterRegistry r) {
    TrackerServer t = server;
    gauge(r, "overlay.tracker.registrations", "Registered (node, stream) pairs.", x -> t.state().registrations());
    gauge(r, "overlay.tracker.streams", "Streams with at least one registered node.", x -> t.state().streams());
    gauge(r, "overlay.tracker.links", "Open links from nodes.", x -> t.linksOpen);
    gauge(r, "overlay.tracker.joins.per.second", "Introductions answered per second, since the previous scrape.",
        x -> joinsPerSecond);
    counter(r, "overlay.tracker.registers", "Registrations and heartbeats accepted.", x -> t.state().stats().registers());
    counter(r, "overlay.tracker.joins", "Introductions answered.", x -> t.state().stats().joinsAnswered());
    counter(r, "overlay.tracker.leaves", "Nodes that left a stream.", x -> t.state().stats().leaves());
    counter(r, "overlay.tracker.expired", "Registrations forgotten for want of a heartbeat.", x -> t.state().stats().expired());
    counter(r, "overlay.tracker.stale", "Statuses dropped because a newer one from the same node was already held.",
        x -> t.state().stats().stale());
    String refused = "Requests refused, by reason.";
    counter(r, "overlay.tracker.refused", refused, x -> t.state().stats().refusedRateLimited(), "reason", "rate_limited");
    counter(r, "overlay.tracker.refused", refused, x -> t.state().stats().refusedFull(), "reason", "full");
    counter(r, "overlay.tracker.refused", refused, x -> t.state().stats().refusedInvalid() + t.notForTracker, "reason", "invalid");
    counter(r, "overlay.tracker.refused", refused, x -> t.state().stats().refusedQuota(), "reason", "quota");
    counter(r, "overlay.tracker.punches.arranged", "Hole punches signalled to both nodes.", x -> t.state().stats().punchesArranged());
    counter(r, "overlay.tracker.punches.refused",
        "Hole punch requests refused (no common stream, no usable reflexive candidate, rate).", x -> t.state().stats().punchesRefused());
    counter(r, "overlay.tracker.restarts", "Registrations replaced by a newer incarnation of their node (a restart).",
        x -> t.state().stats().restarts());
    counter(r, "overlay.tracker.connections.refused",
        "Connections closed for a protocol error or a limit (bad TLS, bad frames, caps).", x -> t.connectionsRefused);
    for (CloseReason reason : CloseReason.values()) {
      counter(r, "overlay.tracker.connections.closed", "Node connections closed, by reason.",
          x -> t.linkCounters().closes().getOrDefault(reason, 0L), "reason", reason.counterName().substring("closed_".length()));
    }
    gauge(r, "overlay.tracker.handshakes.in.progress", "Node connections in their TLS or HELLO handshake.",
        x -> t.linkCounters().handshakesInProgress());
    String httpClosed = "HTTP connections closed by the tracker, by reason.";
    counter(r, "overlay.tracker.http.closed", httpClosed, x -> http.refusedConnections, "reason", "connection_limit");
    counter(r, "overlay.tracker.http.closed", httpClosed, x -> http.deadlineCloses, "reason", "deadline");
    counter(r, "overlay.tracker.http.closed", httpClosed, x -> http.notReadingCloses, "reason", "not_reading");
    counter(r, "overlay.tracker.relays.arranged", "Relayed links arranged (a ticket sent to both nodes).",
        x -> t.state().stats().relaysArranged());
    counter(r, "overlay.tracker.relays.refused", "Relay requests refused (no relay, no common stream, relay limits, rate).",
        x -> t.state().stats().relaysRefused());
    counter(r, "overlay.tracker.reachability.checks", "Nodes the tracker connected back to, asked whether they are reachable.",
        x -> t.dialBack.checks);
    counter(r, "overlay.tracker.reachability.reached", "Of those, nodes reached where they proved their key.", x -> t.dialBack.reached);
    counter(r, "overlay.tracker.reachability.refused.busy", "Reachability checks refused: 32 already under way, or one of that node.",
        x -> t.dialBack.refusedBusy);
    counter(r, "overlay.tracker.reachability.refused",
        "Reachability requests not checked (rate, not registered, asked within a minute, no candidate at the node's address).",
        x -> t.state().stats().reachabilityRefused());
    Gauge.builder("overlay.tracker.uptime", t, x -> x.uptimeNanos() / 1e9).baseUnit("seconds")
        .description("Seconds since the tracker started.").register(r);
  }

  // Micrometer holds a meter's state object weakly: this one lives as long as the page does.
  private void gauge(MeterRegistry r, String name, String help, ToDoubleFunction<TrackerMetrics> f) {
    Gauge.builder(name, this, f).description(help).register(r);
  }

  private void counter(MeterRegistry r, String name, String help, ToDoubleFunction<TrackerMetrics> f, String... tags) {
    FunctionCounter.builder(name, this, f).description(help).tags(tags).register(r);
  }
}
