package dev.overlay.bench.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs one fuzz target under Jazzer (coverage-guided, libFuzzer's engine) in a child JVM for a
 * while, and reads what it did: inputs tried, coverage reached, and any finding (a crashing,
 * hanging or memory-hungry input, saved in the work directory with a Java reproducer). Used by
 * the {@code fuzz} command and by the short run in {@code mvn verify}.
 */
public final class FuzzRunner {

  /** Every fuzz target, by its class's simple name. */
  public static final List<String> TARGETS = List.of("FrameFuzz", "TrackerFuzz", "CoreFuzz");

  /** What one target's run did. */
  public record Result(String target, long seconds, long inputs, int coverage, List<Path> findings, int exitCode, String tail) {
    public boolean clean() {
      return findings.isEmpty() && exitCode == 0;
    }
  }

  private static final Pattern DONE = Pattern.compile("Done (\\d+) runs");
  private static final Pattern COVERAGE = Pattern.compile("cov: (\\d+)");

  private FuzzRunner() {}

  /**
   * Fuzzes {@code target} for {@code time}; the corpus grows in {@code work}/corpus-{target},
   * findings land in {@code work}. {@code classpath} must hold the targets and Jazzer.
   */
  public static Result run(String target, Duration time, Path work, String classpath) throws IOException, InterruptedException {
    Path corpus = work.resolve("corpus-" + target);
    Files.createDirectories(corpus);
    Path log = work.resolve(target + ".log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = List.of(java, "-Xmx1g", "-cp", classpath, "com.code_intelligence.jazzer.Jazzer",
        "--target_class=dev.overlay.bench.fuzz." + target, "--instrumentation_includes=dev.overlay.**",
        "-max_total_time=" + time.toSeconds(), "-timeout=10", "-rss_limit_mb=4096",
        "-artifact_prefix=" + work.toAbsolutePath() + "/", corpus.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(time.toSeconds() + 120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(target + " did not finish; see " + log);
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    long inputs = last(DONE, out, -1);
    int coverage = (int) last(COVERAGE, out, 0);
    List<Path> findings = new ArrayList<>();
    try (Stream<Path> files = Files.list(work)) {
      files.filter(f -> f.getFileName().toString().matches("(crash|timeout|oom|leak)-.*")).forEach(findings::add);
    }
    String tail = out.length() > 4000 ? out.substring(out.length() - 4000) : out;
    return new Result(target, time.toSeconds(), inputs, coverage, findings, p.exitValue(), tail);
  }

  private static long last(Pattern p, String text, long absent) {
    Matcher m = p.matcher(text);
    long v = absent;
    while (m.find()) v = Long.parseLong(m.group(1));
    return v;
  }
}
