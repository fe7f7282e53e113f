package dev.overlay.bench;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How a measuring command runs: in a child JVM with a fixed heap, and how many times. Main and
 * {@link Repeats} act on these before the command does (they read the arguments); they are
 * declared here so that picocli accepts and documents them for every such command alike.
 */
final class RunOptions {

  @Option(names = "--no-relaunch", description = "Run in this JVM rather than a child with a fixed, pre-touched 2 GiB heap.")
  boolean noRelaunch;

  @Option(names = "--repeat", defaultValue = "1", description = "Run the whole command N times, each in a fresh JVM, and report"
      + " every figure as median [min - max] (default ${DEFAULT-VALUE}).")
  int repeat;

  @Option(names = "--metrics-out", hidden = true, description = "Where a child of --repeat writes its figures.")
  Path metricsOut;
}
