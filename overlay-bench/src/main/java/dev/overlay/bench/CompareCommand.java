package dev.overlay.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The side-by-side job: Overlay, js-libp2p gossipsub and JGroups, one after the other on this
 * machine, each in a process of its own: the same N nodes on 127.0.0.1, 100-byte messages with a
 * send timestamp and a sequence number, at fixed rates and in a max-rate search. Writes a
 * Markdown table and bar charts. Run it through {@code overlay-bench/compare/run.sh}, which
 * installs the pinned gossipsub first.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
    description = "Runs the comparison job on Overlay, gossipsub (node) and JGroups; see overlay-bench/compare/run.sh.")
final class CompareCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "20") int nodes;
  @Option(names = "--rates", split = ",", defaultValue = "1000,5000") double[] rates;
  @Option(names = "--duration", defaultValue = "8") double duration;
  @Option(names = "--warmup", defaultValue = "4", description = "Seconds of unmeasured traffic first, for every system (default ${DEFAULT-VALUE}).") double warmup;
  @Option(names = "--max-start", defaultValue = "1000", description = "First rate of the max search (default ${DEFAULT-VALUE}).") double maxStart;
  @Option(names = "--max-p99-ms", defaultValue = "50") double maxP99;
  @Option(names = "--no-max", description = "Skip the max-rate search.") boolean noMax;
  @Option(names = "--systems", split = ",", defaultValue = "overlay,gossipsub,gossipsub-procs,jgroups") List<String> systems;
  @Option(names = "--compare-dir", defaultValue = "overlay-bench/compare") Path compareDir;
  @Option(names = "--out", defaultValue = "bench-results/compare") Path out;
  @Option(names = "--img", defaultValue = "docs/img") Path img;
  @Option(names = "--reuse", description = "Take a run's results from --out when its file exists, instead of running it (to redraw the table and charts).")
  boolean reuse;
  @Option(names = "--heap", defaultValue = "2g", description = "-Xmx (and -Xms) of each JVM side (default ${DEFAULT-VALUE}).") String heap;

  static final String[] FIELDS = {"completeness_min", "latency_ms_p50", "latency_ms_p99", "duplicates_per_delivery",
      "wire_bytes_per_delivery", "cpu_s_per_1000_deliveries", "delivered_per_s"};

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(out);
    Map<String, Map<Double, Map<String, Double>>> fixed = new LinkedHashMap<>();
    Map<String, Double> maxRate = new LinkedHashMap<>();
    for (String system : systems) {
      Map<Double, Map<String, Double>> bySystem = new LinkedHashMap<>();
      for (double r : rates) bySystem.put(r, run(system, r));
      fixed.put(system, bySystem);
      if (!noMax) maxRate.put(system, searchMax(system));
    }
    String table = table(fixed, maxRate);
    System.out.println(table);
    Files.writeString(out.resolve("table.md"), table, StandardCharsets.UTF_8);
    if (!noMax) {
      List<String> cats = List.of("highest complete rate, p99 <= " + (int) maxP99 + " ms (k msg/s)");
      Map<String, List<Double>> bars = new LinkedHashMap<>();
      maxRate.forEach((s, v) -> bars.put(label(s), List.of(v / 1000)));
      Plots.bars(img.resolve("compare-max-rate.png"), nodes + " nodes on one 2-core machine: highest rate with every message everywhere",
          "thousand messages per second", cats, bars, false);
    }
    // At the highest fixed rate, on a log scale: the systems differ by orders of magnitude.
    double r0 = rates[rates.length - 1];
    List<String> cats = List.of("p50 latency (ms)", "p99 latency (ms)", "CPU ms per 1,000 deliveries");
    Map<String, List<Double>> bars = new LinkedHashMap<>();
    for (String s : systems) {
      Map<String, Double> m = fixed.get(s).get(r0);
      bars.put(label(s), new ArrayList<>(List.of(nz(m.get("latency_ms_p50")), nz(m.get("latency_ms_p99")), nz(m.get("cpu_s_per_1000_deliveries")) * 1000)));
    }
    Plots.bars(img.resolve("compare-at-rate.png"), String.format(Locale.ROOT, "%d nodes at %,.0f msg/s (lower is better; log scale)", nodes, r0),
        "", cats, bars, true);
    System.out.println("table: " + out.resolve("table.md") + "; charts: " + img);
    return 0;
  }

  private static double nz(Double v) {
    return v == null || v.isNaN() ? 0 : v;
  }

  private static String label(String system) {
    return switch (system) {
      case "overlay" -> "Overlay";
      case "gossipsub" -> "js-libp2p gossipsub (one process)";
      case "gossipsub-signed" -> "js-libp2p gossipsub (one process, signed)";
      case "gossipsub-procs" -> "js-libp2p gossipsub (a process per node)";
      case "jgroups" -> "JGroups (TCP)";
      case "jgroups-encrypted" -> "JGroups (TCP, encrypted)";
      default -> system;
    };
  }

  private boolean searching;

  /** Doubles from {@code --max-start} until a run fails (or halves until one passes), then bisects twice. */
  private double searchMax(String system) throws Exception {
    searching = true;
    double good = 0;
    double bad = Double.NaN;
    double r = maxStart;
    if (ok(run(system, r))) {
      good = r;
      for (r *= 2; Double.isNaN(bad) && r <= 2_000_000; r *= 2) {
        if (ok(run(system, r))) good = r;
        else bad = r;
      }
    } else {
      bad = r;
      for (r /= 2; good == 0 && r >= 10; r /= 2) {
        if (ok(run(system, r))) good = r;
        else bad = r;
      }
    }
    for (int i = 0; i < 2 && good > 0 && !Double.isNaN(bad); i++) {
      double step = bad - good > 2_000 ? 1_000 : 10;
      double mid = Math.round((good + bad) / 2 / step) * step;
      if (mid <= good || mid >= bad) break;
      if (ok(run(system, mid))) good = mid;
      else bad = mid;
    }
    System.out.printf(Locale.ROOT, "%s: highest complete rate %,.0f msg/s%n", system, good);
    searching = false;
    return good;
  }

  private boolean ok(Map<String, Double> m) {
    Double c = m.get("completeness_min");
    Double p99 = m.get("latency_ms_p99");
    return c != null && c >= 1.0 && p99 != null && p99 <= maxP99;
  }

  /** One run of one system, in a process of its own; the JSON fields it printed. */
  private Map<String, Double> run(String system, double rate) throws Exception {
    Path json = out.resolve(String.format(Locale.ROOT, "%s-%d-%.0f%s.json", system, nodes, rate, searching ? "-max" : ""));
    if (reuse && Files.exists(json)) {
      String text = Files.readString(json);
      Map<String, Double> m = new LinkedHashMap<>();
      for (String f : FIELDS) m.put(f, field(text, f));
      return m;
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String jar = ThroughputJvm.jarPath();
    String r = String.format(Locale.ROOT, "%.0f", rate);
    String d = String.format(Locale.ROOT, "%.0f", duration);
    String w = String.format(Locale.ROOT, "%.0f", warmup);
    List<String> cmd = switch (system) {
      case "overlay" -> List.of(java, "-Xms" + heap, "-Xmx" + heap, "-XX:+AlwaysPreTouch", "-jar", jar, "cluster", "--no-relaunch",
          "--nodes", "" + nodes, "--rate", r, "--duration", d, "--warmup", w, "--json", json.toString());
      case "jgroups" -> List.of(java, "-Xms" + heap, "-Xmx" + heap, "-XX:+AlwaysPreTouch", "-jar", jar, "jgroups",
          "--nodes", "" + nodes, "--rate", r, "--duration", d, "--warmup", w, "--json", json.toString());
      case "jgroups-encrypted" -> List.of(java, "-Xms" + heap, "-Xmx" + heap, "-XX:+AlwaysPreTouch", "-jar", jar, "jgroups",
          "--encrypt", "--nodes", "" + nodes, "--rate", r, "--duration", d, "--warmup", w, "--json", json.toString());
      case "gossipsub" -> List.of("node", "--import", "./polyfill.mjs", "gossipsub.mjs", "--nodes", "" + nodes, "--rate", r,
          "--duration", d, "--warmup", w);
      case "gossipsub-signed" -> List.of("node", "--import", "./polyfill.mjs", "gossipsub.mjs", "--nodes", "" + nodes, "--rate", r,
          "--duration", d, "--warmup", w, "--sign", "true");
      case "gossipsub-procs" -> List.of("node", "--import", "./polyfill.mjs", "gossipsub-procs.mjs", "--nodes", "" + nodes, "--rate", r,
          "--duration", d, "--warmup", w);
      default -> throw new IllegalArgumentException("unknown system " + system);
    };
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    if (system.startsWith("gossipsub")) pb.directory(compareDir.toFile());
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.MINUTES)) p.destroyForcibly();
    String text;
    if (system.startsWith("gossipsub")) {
      String last = "";
      for (String line : output.split("\n")) if (line.startsWith("{")) last = line;
      text = last;
      Files.writeString(json, text, StandardCharsets.UTF_8);
    } else {
      text = Files.exists(json) ? Files.readString(json) : "";
    }
    Map<String, Double> m = new LinkedHashMap<>();
    for (String f : FIELDS) m.put(f, field(text, f));
    System.out.printf(Locale.ROOT, "%-10s %,8.0f msg/s: completeness %s, p99 %s ms%n", system, rate, m.get("completeness_min"), m.get("latency_ms_p99"));
    if (text.isEmpty()) System.out.println(output.length() > 2000 ? output.substring(output.length() - 2000) : output);
    return m;
  }

  /** The first numeric value of {@code "name": x} in the text (the cluster JSON lists its best run first). */
  static Double field(String text, String name) {
    Matcher mt = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?|null)").matcher(text);
    if (!mt.find() || mt.group(1).equals("null")) return null;
    return Double.parseDouble(mt.group(1));
  }

  private String table(Map<String, Map<Double, Map<String, Double>>> fixed, Map<String, Double> maxRate) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "| System | Rate (msg/s) | Completeness | p50 (ms) | p99 (ms) | Duplicates / delivery | Bytes on loopback / delivery | CPU-s / 1,000 deliveries |%n"));
    b.append("|---|---|---|---|---|---|---|---|\n");
    fixed.forEach((s, byRate) -> byRate.forEach((r, m) -> b.append(String.format(Locale.ROOT, "| %s | %,.0f | %s | %s | %s | %s | %s | %s |%n",
        label(s), r, f(m.get("completeness_min"), 4), f(m.get("latency_ms_p50"), 2), f(m.get("latency_ms_p99"), 2),
        f(m.get("duplicates_per_delivery"), 3), f(m.get("wire_bytes_per_delivery"), 0), f(m.get("cpu_s_per_1000_deliveries"), 4)))));
    if (!maxRate.isEmpty()) {
      b.append(String.format(Locale.ROOT, "%n| System | Highest rate with completeness 1.0 and p99 <= %.0f ms |%n|---|---|%n", maxP99));
      maxRate.forEach((s, r) -> b.append(String.format(Locale.ROOT, "| %s | %,.0f msg/s |%n", label(s), r)));
    }
    return b.toString();
  }

  private static String f(Double v, int digits) {
    return v == null ? "n/a" : String.format(Locale.ROOT, "%." + digits + "f", v);
  }

}
