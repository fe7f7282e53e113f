package dev.overlay.bench;

import dev.overlay.bench.fuzz.FuzzRunner;
import dev.overlay.report.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fuzz --minutes N}: the long run of the fuzz targets that {@code mvn verify} runs briefly. */
@Command(name = "fuzz", mixinStandardHelpOptions = true, description = {
    "Coverage-guided fuzzing (Jazzer) of the frame decoders, the tracker and the protocol core, each",
    "target for the given time in turn. Prints inputs tried, coverage and findings; exits 1 on any finding."})
final class FuzzCommand implements Callable<Integer> {

  @Option(names = "--minutes", defaultValue = "10", description = "Minutes per target (default ${DEFAULT-VALUE}).")
  double minutes;

  @Option(names = "--targets", split = ",", description = "Targets (default: all of FrameFuzz, TrackerFuzz, CoreFuzz).")
  List<String> targets;

  @Option(names = "--work", defaultValue = "fuzz-work", description = "Corpus and findings go here (default ${DEFAULT-VALUE}).")
  Path work;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    List<String> run = targets != null ? targets : FuzzRunner.TARGETS;
    String cp = Path.of(FuzzCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    Files.createDirectories(work);
    Json out = Json.object();
    boolean clean = true;
    for (String t : run) {
      System.out.printf(Locale.ROOT, "fuzzing %s for %.1f min...%n", t, minutes);
      FuzzRunner.Result r = FuzzRunner.run(t, Duration.ofSeconds((long) (minutes * 60)), work, cp);
      System.out.printf(Locale.ROOT, "  %s: %,d inputs, coverage %,d, %s%n", t, r.inputs(), r.coverage(),
          r.clean() ? "no findings" : r.findings().size() + " findings: " + r.findings() + "\n" + r.tail());
      clean &= r.clean();
      out.put(t, Json.object().put("seconds", r.seconds()).put("inputs", r.inputs()).put("coverage", r.coverage())
          .put("findings", r.findings().size()));
    }
    if (json != null) Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
    return clean ? 0 : 1;
  }
}
