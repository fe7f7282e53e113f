package dev.overlay.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every benchmark command runs, briefly, and writes what it promises. The figures are not
 * checked here (benchmarks are not timed tests); that the commands work is. {@code compare}
 * needs the packaged jar and node, so only its table parsing is checked.
 */
class CommandSmokeTest {

  @TempDir
  Path dir;

  private static int run(String... args) {
    return new CommandLine(new Main()).execute(args);
  }

  @Test
  void sim() throws Exception {
    Path json = dir.resolve("sim.json");
    assertThat(run("sim", "--nodes", "50", "--messages", "20", "--no-relaunch", "--quiet", "--json", json.toString())).isZero();
    assertThat(Files.readString(json)).contains("\"reliability_min\"");
  }

  @Test
  void simWithTrackersAndStreams() {
    assertThat(run("sim", "--nodes", "60", "--streams", "3", "--publishers", "3", "--messages", "30", "--trackers", "3",
        "--tracker-crash-at-ms", "500", "--no-relaunch", "--quiet")).isZero();
  }

  @Test
  void simSuiteWritesReportsAndPlots() throws Exception {
    assertThat(run("sim-suite", "--sizes", "30,60", "--messages", "30", "--json-dir", dir.resolve("json").toString(),
        "--img", dir.resolve("img").toString())).isZero();
    assertThat(dir.resolve("json/sim-60-churn.json")).exists();
    for (String png : new String[] {"latency-cdf.png", "rmr-over-time.png", "ldh-over-time.png", "reliability-after-crash.png"}) {
      assertThat(Files.size(dir.resolve("img").resolve(png))).as(png).isGreaterThan(1000);
    }
  }

  @Test
  void clusterAtAFixedRate() throws Exception {
    Path json = dir.resolve("cluster.json");
    assertThat(run("cluster", "--nodes", "3", "--rate", "100", "--duration", "1", "--warmup", "0", "--no-relaunch",
        "--json", json.toString())).isZero();
    assertThat(CompareCommand.field(Files.readString(json), "completeness_min")).isNotNull();
  }

  @Test
  void clusterSweepWritesItsTableAndPlots() throws Exception {
    Path json = dir.resolve("sweep.json");
    assertThat(run("cluster", "--nodes", "3", "--sweep", "100,200", "--duration", "1", "--warmup", "0", "--no-relaunch",
        "--json", json.toString(), "--plots", dir.resolve("img").toString())).isZero();
    assertThat(Files.readString(json)).contains("\"mode\": \"sweep\"", "\"offered_per_s\"");
    for (String png : new String[] {"overload-delivered.png", "overload-latency.png"}) {
      assertThat(Files.size(dir.resolve("img").resolve(png))).as(png).isGreaterThan(1000);
    }
  }

  @Test
  void burst() throws Exception {
    Path json = dir.resolve("burst.json");
    assertThat(run("burst", "--nodes", "3", "--capacity", "200", "--pre", "2", "--burst", "1", "--post", "3", "--warmup", "0",
        "--no-relaunch", "--json", json.toString())).isZero();
    assertThat(CompareCommand.field(Files.readString(json), "completeness_after_drop")).isNotNull();
  }

  @Test
  void repeatsReportMedianMinAndMax() {
    var spread = Repeats.aggregate(java.util.List.of(java.util.Map.of("p99", 3.0), java.util.Map.of("p99", 1.0),
        java.util.Map.of("p99", 2.0)));
    assertThat(spread.get("p99")).satisfies(s -> {
      assertThat(s.median()).isEqualTo(2.0);
      assertThat(s.min()).isEqualTo(1.0);
      assertThat(s.max()).isEqualTo(3.0);
    });
    assertThat(Repeats.without(new String[] {"demo", "--repeat", "3", "--json=x", "--rate", "5"}, "--repeat", "--json"))
        .containsExactly("demo", "--rate", "5");
  }

  @Test
  void trackerBench() throws Exception {
    Path json = dir.resolve("tracker.json");
    assertThat(run("tracker-bench", "--clients", "2", "--duration", "1", "--warmup", "0.5", "--registrations", "1000", "--nodes", "3",
        "--joins", "1", "--json", json.toString())).isZero();
    assertThat(CompareCommand.field(Files.readString(json), "joins_per_s")).isPositive();
  }

  @Test
  void idle() {
    assertThat(run("idle", "--nodes", "2", "--streams", "2", "--idle", "0")).isZero();
  }

  @Test
  void jgroups() throws Exception {
    Path json = dir.resolve("jgroups.json");
    assertThat(run("jgroups", "--nodes", "3", "--rate", "50", "--duration", "1", "--warmup", "0", "--base-port", "27800",
        "--json", json.toString())).isZero();
    assertThat(CompareCommand.field(Files.readString(json), "completeness_min")).isEqualTo(1.0);
  }

  @Test
  void compareReadsTheFieldsOfEverySystem() {
    String cluster = "{\"mode\": \"fixed\", \"best\": {\"completeness_min\": 1, \"latency_ms_p99\": 2.5}, \"trials\": []}";
    assertThat(CompareCommand.field(cluster, "latency_ms_p99")).isEqualTo(2.5);
    assertThat(CompareCommand.field("{\"latency_ms_p99\":null}", "latency_ms_p99")).isNull();
    assertThat(CompareCommand.field("{\"x\":1e-3}", "x")).isEqualTo(0.001);
  }
}
