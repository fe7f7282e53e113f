package dev.overlay.bench;

import dev.overlay.report.Json;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * {@code --repeat N}: runs the same command N times, each in a fresh JVM, and reports every
 * figure as its median with min and max. One run of a network benchmark is one sample: JIT
 * warm-up, GC and how the views settled differ from one JVM to the next, and a figure that
 * holds in one run only is not a figure (docs/benchmarks.md, "How the figures are made").
 *
 * <p>Each child writes its headline figures, flat, to a file named by the hidden option
 * {@code --metrics-out}; the parent reads them back.
 */
final class Repeats {

  /** One figure over the runs. */
  record Spread(double median, double min, double max, double[] values) {
    static Spread of(double[] values) {
      double[] sorted = values.clone();
      Arrays.sort(sorted);
      int n = sorted.length;
      double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      return new Spread(median, sorted[0], sorted[n - 1], values);
    }
  }

  private Repeats() {}

  /** The value of {@code --repeat}, or 1. */
  static int count(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--repeat") && i + 1 < args.length) return Integer.parseInt(args[i + 1]);
      if (args[i].startsWith("--repeat=")) return Integer.parseInt(args[i].substring(9));
    }
    return 1;
  }

  /** The value of option {@code name}, or null. */
  static String option(String[] args, String name) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals(name) && i + 1 < args.length) return args[i + 1];
      if (args[i].startsWith(name + "=")) return args[i].substring(name.length() + 1);
    }
    return null;
  }

  /** {@code args} without the options named (each with its value). */
  static List<String> without(String[] args, String... names) {
    List<String> out = new ArrayList<>();
    outer:
    for (int i = 0; i < args.length; i++) {
      for (String n : names) {
        if (args[i].equals(n)) {
          i++;
          continue outer;
        }
        if (args[i].startsWith(n + "=")) continue outer;
      }
      out.add(args[i]);
    }
    return out;
  }

  /**
   * Runs {@code args} (a demo or cluster command line with {@code --repeat N}) N times in fresh
   * JVMs, prints the spread of every figure, writes it to {@code --json} if given, and draws the
   * sweep's plots from the medians if the command is a sweep with {@code --plots}.
   */
  static int run(String[] args) throws Exception {
    int n = count(args);
    if (n < 1) throw new IllegalArgumentException("--repeat must be at least 1");
    if (ThroughputJvm.jarPath() == null) throw new IllegalStateException("--repeat runs children from the jar: java -jar overlay-bench.jar ...");
    String json = option(args, "--json");
    String plots = option(args, "--plots");
    List<String> base = without(args, "--repeat", "--json", "--plots", "--metrics-out");
    List<Map<String, Double>> runs = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      Path metrics = Files.createTempFile("overlay-run-", ".properties");
      List<String> child = new ArrayList<>(base);
      child.add("--metrics-out");
      child.add(metrics.toString());
      System.out.printf(Locale.ROOT, "%n=== run %d of %d (a fresh JVM) ===%n", i, n);
      try {
        int rc = ThroughputJvm.relaunchDemo(child.toArray(String[]::new));
        if (rc != 0) {
          System.err.printf(Locale.ROOT, "run %d exited with %d%n", i, rc);
          return rc;
        }
        runs.add(read(metrics));
      } finally {
        Files.deleteIfExists(metrics);
      }
    }
    Map<String, Spread> spread = aggregate(runs);
    System.out.printf(Locale.ROOT, "%n%s over %d runs, each in a fresh JVM: median [min - max]%n", String.join(" ", base), n);
    System.out.print(table(spread));
    if (json != null) {
      Files.writeString(Path.of(json), toJson(base, n, spread).toString(), StandardCharsets.UTF_8);
      System.out.println("JSON written to " + json);
    }
    if (plots != null && option(args, "--sweep") != null) Sweep.plot(Path.of(plots), spread, n);
    return 0;
  }

  static Map<String, Spread> aggregate(List<Map<String, Double>> runs) {
    Map<String, Spread> out = new LinkedHashMap<>();
    for (String key : runs.get(0).keySet()) {
      double[] v = new double[runs.size()];
      boolean everywhere = true;
      for (int i = 0; i < runs.size(); i++) {
        Double x = runs.get(i).get(key);
        if (x == null) {
          everywhere = false;
          break;
        }
        v[i] = x;
      }
      if (everywhere) out.put(key, Spread.of(v));
    }
    return out;
  }

  static String table(Map<String, Spread> spread) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, Spread> e : spread.entrySet()) {
      Spread s = e.getValue();
      StringBuilder values = new StringBuilder();
      for (double v : s.values()) values.append(values.length() == 0 ? "" : ", ").append(format(v));
      sb.append(String.format(Locale.ROOT, "  %-44s %12s  [%s - %s]  (%s)%n", e.getKey(), format(s.median()), format(s.min()),
          format(s.max()), values));
    }
    return sb.toString();
  }

  static String format(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return String.format(Locale.ROOT, "%,d", (long) v);
    if (Math.abs(v) >= 100) return String.format(Locale.ROOT, "%,.0f", v);
    if (Math.abs(v) >= 1) return String.format(Locale.ROOT, "%.2f", v);
    return String.format(Locale.ROOT, "%.4f", v);
  }

  static Json toJson(List<String> command, int n, Map<String, Spread> spread) {
    Json figures = Json.object();
    for (Map.Entry<String, Spread> e : spread.entrySet()) {
      Spread s = e.getValue();
      List<Object> values = new ArrayList<>();
      for (double v : s.values()) values.add(v);
      figures.put(e.getKey(), Json.object().put("median", s.median()).put("min", s.min()).put("max", s.max()).put("runs", values));
    }
    return Json.object().put("command", String.join(" ", command)).put("runs", n).put("figures", figures);
  }

  /** Writes one run's figures for the parent (the child side of {@code --metrics-out}). */
  static void write(Path file, Map<String, Double> metrics) throws IOException {
    Properties p = new Properties();
    metrics.forEach((k, v) -> p.setProperty(k, Double.toString(v)));
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      p.store(w, null);
    }
  }

  private static Map<String, Double> read(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    if (p.isEmpty()) throw new IOException("the run wrote no figures to " + file);
    // The order the child wrote is lost in Properties; sort keys, sweep steps by their rate.
    Map<String, Double> sorted = new TreeMap<>(Repeats::compareKeys);
    p.forEach((k, v) -> sorted.put((String) k, Double.parseDouble((String) v)));
    return new LinkedHashMap<>(sorted);
  }

  /** Keys such as {@code step.005000.p99}: sorted as strings, which the zero-padded rates make numeric. */
  private static int compareKeys(String a, String b) {
    return a.compareTo(b);
  }

  /** The headline figures of one run, flat, under {@code prefix}. */
  static Map<String, Double> figures(String prefix, DemoNetwork.Result r) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put(prefix + "offered_per_s", r.offeredPerS());
    m.put(prefix + "accepted_per_s", r.acceptedPerS());
    m.put(prefix + "goodput_per_s", r.goodputPerS());
    m.put(prefix + "completeness_min", r.completenessMin());
    m.put(prefix + "latency_ms_p50", r.latencyMsP50());
    m.put(prefix + "latency_ms_p99", r.latencyMsP99());
    m.put(prefix + "latency_ms_max", r.latencyMsMax());
    m.put(prefix + "duplicates_per_delivery", r.duplicatesPerDelivery());
    m.put(prefix + "refused", (double) r.refused());
    m.put(prefix + "cpu_cores", r.cpuCores());
    for (String k : List.of("grafts_sent", "frames_shed", "slow_peer_disconnects", "slow_peer_demotions", "backpressure_pauses")) {
      m.put(prefix + k, (double) r.protocol().getOrDefault(k, 0L));
    }
    return m;
  }
}
