package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.config.TransportConfig;
import dev.overlay.it.TestNetwork;
import dev.overlay.metrics.OverlayMetrics;
import dev.overlay.nat.StunServer;
import dev.overlay.testing.Await;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The metrics pages an operator scrapes: the tracker's {@code /metrics} and a node's meters in a
 * Prometheus registry. Both must be valid Prometheus text, carry the names docs/operations.md
 * lists, and every name the Grafana dashboards in docs/grafana query must exist, so that a
 * renamed figure breaks this test instead of a dashboard.
 */
class MetricsPagesTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final Path DOCS = Paths.get("../docs");

  private StunServer stun;
  private RelayServer relay;
  private TrackerServer tracker;

  @BeforeEach
  void startTracker() throws Exception {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    stun = new StunServer(null).start(loopback, null);
    relay = new RelayServer(RelayServer.Limits.DEFAULTS).start(loopback, "127.0.0.1");
    tracker = new TrackerServer(TrackerConfig.defaults(), NodeIdentity.generate(), TransportConfig.defaults())
        .start(loopback, "127.0.0.1", 0);
    tracker.stun(stun);
    tracker.relay(relay);
  }

  @AfterEach
  void stop() throws Exception {
    if (tracker != null) tracker.close();
    if (relay != null) relay.close();
    if (stun != null) stun.close();
  }

  @Test
  void theTrackersPageIsValidPrometheusTextWithTheDocumentedNamesAndTheJvms() throws Exception {
    String page = TrackerNetworkTest.get(tracker, "/metrics");
    Map<String, Double> samples = parse(page);
    Set<String> names = names(samples);
    assertThat(names).contains("jvm_memory_used_bytes", "jvm_gc_overhead", "jvm_threads_live_threads", "process_cpu_usage",
        "process_files_open_files", "overlay_tracker_uptime_seconds", "overlay_tracker_stun_answered_total",
        "overlay_tracker_relay_bytes_total");
    assertThat(samples).containsEntry("overlay_tracker_refused_total{reason=\"rate_limited\"}", 0.0);

    // Every name docs/operations.md's table lists (with its labels' families) is on the page.
    String ops = Files.readString(DOCS.resolve("operations.md"));
    Matcher m = Pattern.compile("^\\| `(overlay_tracker_[a-z_]+)(\\{[a-z]+\\})?`", Pattern.MULTILINE).matcher(ops);
    List<String> documented = new ArrayList<>();
    while (m.find()) documented.add(m.group(1));
    assertThat(documented).hasSizeGreaterThan(10);
    assertThat(names).containsAll(documented);
  }

  @Test
  void everyNameTheDashboardsQueryExists() throws Exception {
    Set<String> names = new TreeSet<>(names(parse(TrackerNetworkTest.get(tracker, "/metrics"))));
    names.addAll(names(parse(nodePage())));
    Set<String> queried = new LinkedHashSet<>();
    for (String file : List.of("overlay-tracker.json", "overlay-nodes.json")) {
      String json = Files.readString(DOCS.resolve("grafana").resolve(file));
      Matcher expr = Pattern.compile("\"(?:expr|query)\": \"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
      while (expr.find()) {
        Matcher name = Pattern.compile("\\b((?:overlay|jvm|process|system)_[a-z_]+)\\b").matcher(expr.group(1));
        while (name.find()) queried.add(name.group(1));
      }
    }
    assertThat(queried).hasSizeGreaterThan(40);
    assertThat(names).containsAll(queried);
  }

  @Test
  void aNodesPageIsValidPrometheusTextWithTheDocumentedNames() throws Exception {
    Set<String> names = names(parse(nodePage()));
    String ops = Files.readString(DOCS.resolve("operations.md"));
    List<String> documented = new ArrayList<>();
    for (String line : ops.split("\n")) {
      if (!line.matches("\\| `overlay_(node|stream|link)_.*")) continue;
      // Every whole name in the row's first cell (a pattern such as overlay_node_<counter>_total is no name).
      Matcher m = Pattern.compile("`(overlay_[a-z_]+)`").matcher(line.substring(0, line.indexOf(" | ")));
      while (m.find()) documented.add(m.group(1));
    }
    assertThat(documented).hasSizeGreaterThan(20);
    assertThat(names).containsAll(documented);
  }

  /** A node that took part in a stream, its meters (per-link ones too) scraped as Prometheus text. */
  private static String nodePage() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode seed = net.start(null);
      seed.join("a");
      OverlayNode node = net.start(seed);
      AtomicInteger got = new AtomicInteger();
      node.subscribe("a", x -> got.incrementAndGet());
      assertThat(node.awaitNeighbors("a", 1, DEADLINE)).isTrue();
      for (int i = 0; i < 10; i++) seed.publish("a", new byte[] {(byte) i});
      Await.until(DEADLINE, () -> got.get() == 10, () -> "delivered " + got.get());
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      new OverlayMetrics(node).withLinks().bindTo(registry);
      String page = registry.scrape();
      Files.writeString(Paths.get("target/node-metrics.txt"), page); // for whoever updates docs/operations.md
      return page;
    }
  }

  /**
   * Checks the Prometheus text format (version 0.0.4) line by line, and returns each sample's
   * value by series ({@code name{labels}}): HELP and TYPE come before their family's samples, a
   * TYPE is a known one, a sample's name is its family's (or the family's name with a summary's
   * or histogram's suffix), labels are quoted, values are numbers, and no series repeats.
   */
  static Map<String, Double> parse(String page) {
    Pattern sample = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\",?)*\\})? (\\S+)");
    Pattern type = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)");
    Map<String, Double> out = new HashMap<>();
    Map<String, String> types = new HashMap<>();
    String family = null;
    assertThat(page).endsWith("\n");
    for (String line : page.split("\n")) {
      if (line.startsWith("# HELP ")) continue;
      if (line.startsWith("#")) {
        Matcher t = type.matcher(line);
        assertThat(t.matches()).as("a TYPE line: %s", line).isTrue();
        assertThat(types.put(t.group(1), t.group(2))).as("one TYPE for %s", t.group(1)).isNull();
        family = t.group(1);
        continue;
      }
      Matcher s = sample.matcher(line);
      assertThat(s.matches()).as("a sample line: %s", line).isTrue();
      String name = s.group(1);
      assertThat(family).as("a TYPE before %s", line).isNotNull();
      assertThat(name.equals(family) || name.startsWith(family + "_")).as("%s in family %s", name, family).isTrue();
      String v = s.group(3);
      double value = v.equals("+Inf") ? Double.POSITIVE_INFINITY : v.equals("-Inf") ? Double.NEGATIVE_INFINITY : Double.parseDouble(v);
      String series = name + (s.group(2) == null ? "" : s.group(2));
      assertThat(out.put(series, value)).as("one sample for %s", series).isNull();
    }
    return out;
  }

  private static Set<String> names(Map<String, Double> samples) {
    Set<String> names = new TreeSet<>();
    for (String series : samples.keySet()) {
      int brace = series.indexOf('{');
      names.add(brace < 0 ? series : series.substring(0, brace));
    }
    return names;
  }
}
