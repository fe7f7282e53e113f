package dev.overlay.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar overlay-bench.jar <command>}: the simulator, the demo network and the benchmarks. */
@Command(
    name = "overlay-bench",
    mixinStandardHelpOptions = true,
    version = "overlay-bench 0.1.0",
    description = {"Overlay's simulator, demo network and benchmarks.",
        "JMH benchmarks run through 'jmh', with JMH's own options: overlay-bench.jar jmh -l lists them."},
    subcommands = {DemoCommand.class, SimCommand.class, IdleCommand.class, FootprintCommand.class, TrackerBenchCommand.class, ClusterCommand.class, BurstCommand.class, SimSuiteCommand.class, JGroupsCommand.class, CompareCommand.class, FuzzCommand.class, StunCommand.class,
        dev.overlay.bench.natlab.NatLabCommand.class, dev.overlay.bench.natlab.LanLabCommand.class, dev.overlay.bench.store.StoreCommand.class, dev.overlay.bench.store.RetentionCommand.class, ResendCommand.class, RestartsCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) throws Exception {
    // The bench's own logging (slf4j-simple) says warnings and errors only, unless asked otherwise.
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
    // Netty's leak detector samples buffer allocations with a stack trace each; that is for
    // tests (which run it at paranoid), not for measurements. -Dio.netty.leakDetection.level wins.
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      System.setProperty("io.netty.leakDetection.level", "disabled");
    }
    if (args.length > 0 && args[0].equals("jmh")) {
      // JMH's own command line: java -jar overlay-bench.jar jmh FanOutBenchmark -prof gc
      org.openjdk.jmh.Main.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length > 0 && (args[0].equals("demo") || args[0].equals("cluster") || args[0].equals("burst"))
        && Repeats.count(args) > 1 && !Boolean.getBoolean(ThroughputJvm.CHILD_MARKER)) {
      System.exit(Repeats.run(args));
    }
    if (args.length > 0 && (args[0].equals("demo") || args[0].equals("cluster") || args[0].equals("burst")) && ThroughputJvm.shouldRelaunchDemo(args)) {
      System.exit(ThroughputJvm.relaunchDemo(args));
    }
    if (args.length > 0 && args[0].equals("sim") && ThroughputJvm.shouldRelaunch(args)) {
      System.exit(ThroughputJvm.relaunch(args));
    }
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
