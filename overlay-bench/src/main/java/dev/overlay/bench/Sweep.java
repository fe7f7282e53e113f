package dev.overlay.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The offered-load sweep ({@code cluster --sweep}): one fresh network per offered rate, and what
 * came of it. Its figures are keyed {@code sweep.<offered, 7 digits>.<figure>}, so that the
 * repeats of a sweep aggregate step by step, and its plots (delivered against offered, p99
 * against offered) are drawn from medians.
 */
final class Sweep {

  private Sweep() {}

  static String key(double rate, String figure) {
    if (rate >= 1e7) throw new IllegalArgumentException("a sweep's rates must be below 10,000,000 msg/s");
    return String.format(Locale.ROOT, "sweep.%07d.%s", Math.round(rate), figure);
  }

  /** The figures of every step of one sweep, flat. */
  static Map<String, Double> figures(List<DemoNetwork.Result> steps) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (DemoNetwork.Result r : steps) {
      String prefix = key(r.rate(), "");
      out.putAll(Repeats.figures(prefix, r));
    }
    return out;
  }

  /** The offered rates of a sweep's figures, ascending. */
  static double[] rates(Map<String, Repeats.Spread> spread) {
    TreeSet<Long> rates = new TreeSet<>();
    for (String k : spread.keySet()) {
      if (k.startsWith("sweep.")) rates.add(Long.parseLong(k.substring(6, 13)));
    }
    return rates.stream().mapToDouble(Long::doubleValue).toArray();
  }

  /** A table of the medians, one line per offered rate, and the verdict on collapse. */
  static String table(Map<String, Repeats.Spread> spread, int runs) {
    double[] rates = rates(spread);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%n%s%n", runs > 1 ? "Medians over " + runs + " runs [min - max]:" : "One run:"));
    sb.append(String.format(Locale.ROOT, "%10s %10s %18s %12s %10s %10s %9s %7s %9s %7s %6s%n", "offered", "accepted",
        "delivered", "complete", "p50 ms", "p99 ms", "grafts", "shed", "demoted", "disc.", "cores"));
    double peak = 0;
    for (double r : rates) peak = Math.max(peak, median(spread, r, "goodput_per_s"));
    for (double r : rates) {
      Repeats.Spread g = spread.get(key(r, "goodput_per_s"));
      sb.append(String.format(Locale.ROOT, "%,10.0f %,10.0f %,9.0f [%s] %12.4f %10.2f %10.1f %,9.0f %,7.0f %,9.0f %,7.0f %6.2f%n", r,
          median(spread, r, "accepted_per_s"), g.median(), runs > 1 ? String.format(Locale.ROOT, "%,.0f-%,.0f", g.min(), g.max()) : "-",
          spread.get(key(r, "completeness_min")).min(), median(spread, r, "latency_ms_p50"), median(spread, r, "latency_ms_p99"),
          median(spread, r, "grafts_sent"), median(spread, r, "frames_shed"), median(spread, r, "slow_peer_demotions"),
          median(spread, r, "slow_peer_disconnects"), median(spread, r, "cpu_cores")));
    }
    double top = rates[rates.length - 1];
    double atTop = median(spread, top, "goodput_per_s");
    double worstComplete = 1.0;
    for (double r : rates) worstComplete = Math.min(worstComplete, spread.get(key(r, "completeness_min")).min());
    sb.append(String.format(Locale.ROOT, "Peak delivered %,.0f msg/s; at the highest offered rate (%,.0f) %,.0f, %.0f %% of the peak (target: at least 90 %%).%n",
        peak, top, atTop, peak == 0 ? 0 : 100 * atTop / peak));
    sb.append(String.format(Locale.ROOT, "Completeness over accepted messages, worst subscriber of any run at any rate: %.4f (target: 1.0).%n",
        worstComplete));
    return sb.toString();
  }

  private static double median(Map<String, Repeats.Spread> spread, double rate, String figure) {
    Repeats.Spread s = spread.get(key(rate, figure));
    return s == null ? Double.NaN : s.median();
  }

  private static double[][] series(Map<String, Repeats.Spread> spread, double[] rates, String figure) {
    double[][] v = new double[3][rates.length];
    for (int i = 0; i < rates.length; i++) {
      Repeats.Spread s = spread.get(key(rates[i], figure));
      v[0][i] = s.median();
      v[1][i] = s.min();
      v[2][i] = s.max();
    }
    return v;
  }

  /** overload-delivered.png and overload-latency.png in {@code dir}. */
  static void plot(Path dir, Map<String, Repeats.Spread> spread, int runs) throws IOException {
    double[] rates = rates(spread);
    if (rates.length == 0) return;
    String of = runs > 1 ? " (median of " + runs + " runs; dashed: min and max)" : " (one run)";
    Map<String, double[][]> delivered = new LinkedHashMap<>();
    delivered.put("offered", new double[][] {rates});
    delivered.put("accepted by publish", series(spread, rates, "accepted_per_s"));
    delivered.put("delivered to every subscriber", series(spread, rates, "goodput_per_s"));
    Plots.linesWithRange(dir.resolve("overload-delivered.png"), "Offered load and what came of it" + of,
        "offered (msg/s)", "msg/s", rates, delivered, true, true);
    Map<String, double[][]> p99 = new LinkedHashMap<>();
    p99.put("p99 latency", series(spread, rates, "latency_ms_p99"));
    p99.put("p50 latency", series(spread, rates, "latency_ms_p50"));
    Plots.linesWithRange(dir.resolve("overload-latency.png"), "Latency against offered load" + of, "offered (msg/s)",
        "ms (publish to handler)", rates, p99, true, true);
    System.out.println("plots written to " + dir.resolve("overload-delivered.png") + " and " + dir.resolve("overload-latency.png"));
  }

  /** For a single run: its figures as spreads of one. */
  static Map<String, Repeats.Spread> single(Map<String, Double> figures) {
    Map<String, Repeats.Spread> out = new LinkedHashMap<>();
    figures.forEach((k, v) -> out.put(k, Repeats.Spread.of(new double[] {v})));
    return out;
  }

  static List<Double> parse(String rates) {
    List<Double> out = new ArrayList<>();
    for (String r : rates.split(",")) out.add(Double.parseDouble(r.trim()));
    return out;
  }
}
