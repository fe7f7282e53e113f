package dev.overlay.metrics;

import dev.overlay.NodeSnapshot;
import dev.overlay.metrics.OverlayMetrics.MeterKey;
import dev.overlay.metrics.OverlayMetrics.Reading;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How a snapshot's figures are named as meters (Micrometer's conventions: lower-case words
 * separated by dots, a dimension as a tag). docs/operations.md lists the result; the Grafana
 * dashboard in docs/ queries it, and a test checks that every name it queries exists.
 *
 * <p>The node's counters keep their snapshot names with dots for underscores
 * ({@code frames_shed} becomes {@code overlay.node.frames.shed}), except the families with a
 * reason, which become one meter with a {@code reason} tag. The broadcast and membership figures
 * are the components of {@code PlumtreeStats} and {@code HyParViewStats}, read by name, so a
 * figure added there is a meter here without a change.
 */
final class MeterNames {

  private static final String SEE = "see docs/operations.md, \"Nodes under load\"";
  /** Node counters that are levels, not totals (besides the names ending in _now). */
  private static final Set<String> NODE_GAUGES = Set.of("links", "handshakes_in_progress", "dials_in_progress");
  /** Counter families: the prefix of the snapshot's name, and the meter they become with a reason tag. */
  private static final Map<String, String> REASON_FAMILIES = Map.of(
      "dropped_", "overlay.node.messages.dropped",
      "closed_", "overlay.node.links.closed",
      "dials_refused_", "overlay.node.dials.refused");

  private MeterNames() {}

  static void node(NodeSnapshot s, List<Reading> out) {
    for (Map.Entry<String, Long> e : s.counters().entrySet()) {
      String name = e.getKey();
      double v = e.getValue();
      String family = null;
      String reason = null;
      for (Map.Entry<String, String> f : REASON_FAMILIES.entrySet()) {
        if (name.startsWith(f.getKey())) {
          family = f.getValue();
          reason = name.substring(f.getKey().length());
        }
      }
      if (family != null) {
        out.add(new Reading(new MeterKey(family, List.of("reason", reason)), true, SEE, null, v));
      } else {
        boolean gauge = NODE_GAUGES.contains(name) || name.endsWith("_now");
        out.add(new Reading(new MeterKey("overlay.node." + name.replace('_', '.'), List.of()), !gauge, SEE, null, v));
      }
    }
  }

  static void stream(NodeSnapshot.Stream s, List<Reading> out) {
    String n = s.name();
    NodeSnapshot.Counters c = s.counters();
    counter(out, "overlay.stream.frames.received", n, "kind", "data", c.dataIn(), null, "Frames received");
    counter(out, "overlay.stream.frames.received", n, "kind", "control", c.controlIn(), null, "Frames received");
    counter(out, "overlay.stream.frames.sent", n, "kind", "data", c.dataOut(), null, "Frames sent");
    counter(out, "overlay.stream.frames.sent", n, "kind", "control", c.controlOut(), null, "Frames sent");
    counter(out, "overlay.stream.received", n, "kind", "data", c.dataInBytes(), "bytes", "Bytes received in frames");
    counter(out, "overlay.stream.received", n, "kind", "control", c.controlInBytes(), "bytes", "Bytes received in frames");
    counter(out, "overlay.stream.sent", n, "kind", "data", c.dataOutBytes(), "bytes", "Bytes sent in frames");
    counter(out, "overlay.stream.sent", n, "kind", "control", c.controlOutBytes(), "bytes", "Bytes sent in frames");
    counter(out, "overlay.stream.messages.delivered", n, null, null, c.delivered(), null, "Messages handed to this node's subscriptions");
    counter(out, "overlay.stream.messages.published", n, null, null, c.published(), null, "Messages this node published");
    counter(out, "overlay.stream.messages.missed", n, null, null, c.missedBySubscribers(), null,
        "Messages dropped for subscriptions whose handlers fell behind");
    out.add(new Reading(new MeterKey("overlay.stream.view.size", List.of("stream", n, "view", "active")), false,
        "Peers in the view: active (neighbours) or passive (known members)", null, s.active().size()));
    out.add(new Reading(new MeterKey("overlay.stream.view.size", List.of("stream", n, "view", "passive")), false,
        "Peers in the view: active (neighbours) or passive (known members)", null, s.passive().size()));
    components(out, "overlay.stream.broadcast.", n, s.broadcast(), "Plumtree: see PlumtreeStats");
    components(out, "overlay.stream.membership.", n, s.membership(), "HyParView: see HyParViewStats");
  }

  static void link(NodeSnapshot.Link l, List<Reading> out) {
    List<String> tags = List.of("peer", l.peer().toHex()); // the whole id: two peers may share a prefix
    out.add(new Reading(new MeterKey("overlay.link.queued", tags), false, "Bytes waiting in this node's queue for the link",
        "bytes", l.queuedBytes()));
    out.add(new Reading(new MeterKey("overlay.link.writable", tags), false,
        "1 while the link takes more, 0 while the peer reads slower than this node sends", null, l.writable() ? 1 : 0));
    out.add(new Reading(new MeterKey("overlay.link.frames.received", tags), true, "Frames received on this connection", null,
        l.framesIn()));
    out.add(new Reading(new MeterKey("overlay.link.frames.sent", tags), true, "Frames sent on this connection", null,
        l.framesOut()));
  }

  private static void counter(List<Reading> out, String name, String stream, String tag, String value, long v, String unit,
      String description) {
    List<String> tags = tag == null ? List.of("stream", stream) : List.of("stream", stream, tag, value);
    out.add(new Reading(new MeterKey(name, tags), true, description, unit, v));
  }

  /** A stats record's components: longs are totals, ints and booleans are levels. */
  private static void components(List<Reading> out, String prefix, String stream, Record stats, String description) {
    for (RecordComponent rc : stats.getClass().getRecordComponents()) {
      Object v;
      try {
        v = rc.getAccessor().invoke(stats);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot read " + rc, e);
      }
      MeterKey key = new MeterKey(prefix + dotted(rc.getName()), List.of("stream", stream));
      if (v instanceof Long l) {
        out.add(new Reading(key, true, description, null, l));
      } else if (v instanceof Integer i) {
        out.add(new Reading(key, false, description, null, i));
      } else if (v instanceof Boolean b) {
        out.add(new Reading(key, false, description, null, b ? 1 : 0));
      }
    }
  }

  /** {@code graftsSent} becomes {@code grafts.sent}. */
  static String dotted(String camel) {
    StringBuilder b = new StringBuilder(camel.length() + 4);
    for (int i = 0; i < camel.length(); i++) {
      char ch = camel.charAt(i);
      if (Character.isUpperCase(ch)) {
        b.append('.').append(Character.toLowerCase(ch));
      } else {
        b.append(ch);
      }
    }
    return b.toString().toLowerCase(Locale.ROOT);
  }
}
