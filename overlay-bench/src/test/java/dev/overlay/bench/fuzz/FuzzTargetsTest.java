package dev.overlay.bench.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The short fuzzing run of {@code mvn verify}: each target under Jazzer for 20 seconds, in a
 * child JVM, from an empty corpus. A finding fails the build with its input and stack; the long
 * run is {@code java -jar overlay-bench/target/overlay-bench.jar fuzz --minutes N}.
 */
class FuzzTargetsTest {

  @TempDir
  Path work;

  @ParameterizedTest
  @ValueSource(strings = {"FrameFuzz", "TrackerFuzz", "CoreFuzz"})
  void twentySecondsOfFuzzingFindNothing(String target) throws Exception {
    FuzzRunner.Result r = FuzzRunner.run(target, Duration.ofSeconds(20), work, System.getProperty("java.class.path"));
    System.out.printf("%s: %,d inputs, coverage %,d%n", target, r.inputs(), r.coverage());
    assertThat(r.findings()).as("findings of %s:%n%s", target, r.tail()).isEmpty();
    assertThat(r.exitCode()).as("%s exited with %d:%n%s", target, r.exitCode(), r.tail()).isZero();
    assertThat(r.inputs()).as("inputs tried").isGreaterThan(1_000);
  }
}
