package dev.overlay.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The benchmark charts, drawn with XChart into PNG files. */
final class Plots {

  private Plots() {}

  /** One line per network: x = latency (ms), y = fraction of deliveries at or below it. */
  static void latencyCdf(Path file, String title, Map<String, double[]> quantilesByLabel) throws IOException {
    XYChart chart = xy(title, "delivery latency (ms)", "fraction of deliveries");
    for (Map.Entry<String, double[]> e : quantilesByLabel.entrySet()) {
      double[] q = e.getValue();
      double[] y = new double[q.length];
      for (int i = 0; i < q.length; i++) y[i] = i / (double) (q.length - 1);
      chart.addSeries(e.getKey(), q, y).setMarker(SeriesMarkers.NONE);
    }
    save(chart, file);
  }

  /** One or more per-message series against publish time (s), skipping NaN points. */
  static void overTime(Path file, String title, String yLabel, double[] timesS, Map<String, double[]> series, Double verticalAt)
      throws IOException {
    XYChart chart = xy(title, "time since the first publish (s)", yLabel);
    for (Map.Entry<String, double[]> e : series.entrySet()) {
      List<Double> xs = new ArrayList<>();
      List<Double> ys = new ArrayList<>();
      for (int i = 0; i < timesS.length; i++) {
        if (Double.isNaN(timesS[i]) || Double.isNaN(e.getValue()[i])) continue;
        xs.add(timesS[i]);
        ys.add(e.getValue()[i]);
      }
      if (xs.isEmpty()) continue;
      chart.addSeries(e.getKey(), xs, ys).setMarker(SeriesMarkers.NONE);
    }
    if (verticalAt != null) {
      double lo = chart.getStyler().getYAxisMin() != null ? chart.getStyler().getYAxisMin() : 0;
      XYSeries s = chart.addSeries("crash", new double[] {verticalAt, verticalAt}, new double[] {lo, 1.0});
      s.setMarker(SeriesMarkers.NONE);
      s.setLineColor(Color.RED);
    }
    save(chart, file);
  }

  /** Grouped bars: one group per measure, one bar per system. */
  static void bars(Path file, String title, String yLabel, List<String> categories, Map<String, List<Double>> valuesBySystem,
      boolean logarithmic) throws IOException {
    CategoryChart chart = new CategoryChartBuilder().width(900).height(500).title(title).yAxisTitle(yLabel).build();
    if (logarithmic) {
      chart.getStyler().setYAxisLogarithmic(true);
      chart.getStyler().setYAxisMin(0.01); // bars otherwise start at 0, which a log axis cannot hold
      // A log axis cannot show 0: such a value is drawn as the axis floor (the table has the figure).
      for (List<Double> v : valuesBySystem.values()) v.replaceAll(x -> Math.max(x, 0.01));
    }
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    for (Map.Entry<String, List<Double>> e : valuesBySystem.entrySet()) chart.addSeries(e.getKey(), categories, new java.util.ArrayList<>(e.getValue()));
    Files.createDirectories(file.toAbsolutePath().getParent());
    BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /**
   * One line with markers per series (its medians) against x, and, when a series has a range, its
   * min and max as thin lines of the same colour around it.
   */
  static void linesWithRange(Path file, String title, String xLabel, String yLabel, double[] x,
      Map<String, double[][]> medianMinMax, boolean logX, boolean logY) throws IOException {
    XYChart chart = xy(title, xLabel, yLabel);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    chart.getStyler().setXAxisLogarithmic(logX);
    chart.getStyler().setYAxisLogarithmic(logY);
    Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd)};
    int i = 0;
    for (Map.Entry<String, double[][]> e : medianMinMax.entrySet()) {
      Color c = colors[i++ % colors.length];
      double[][] v = e.getValue();
      XYSeries median = chart.addSeries(e.getKey(), x, v[0]);
      median.setLineColor(c);
      median.setMarkerColor(c);
      median.setMarker(SeriesMarkers.CIRCLE);
      if (v.length < 3 || java.util.Arrays.equals(v[1], v[2])) continue;
      for (int k = 1; k <= 2; k++) {
        XYSeries edge = chart.addSeries(e.getKey() + (k == 1 ? " (min)" : " (max)"), x, v[k]);
        edge.setLineColor(c);
        edge.setMarker(SeriesMarkers.NONE);
        edge.setLineStyle(new java.awt.BasicStroke(0.8f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER, 10f,
            new float[] {4f, 4f}, 0f));
        edge.setShowInLegend(false);
      }
    }
    save(chart, file);
  }

  private static XYChart xy(String title, String x, String y) {
    XYChart chart = new XYChartBuilder().width(900).height(500).title(title).xAxisTitle(x).yAxisTitle(y).build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    return chart;
  }

  private static void save(XYChart chart, Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
