package dev.overlay.bench;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Re-runs a command in a child JVM with its heap sized and touched up front.
 *
 * <p>The simulator (runs of 5,000 nodes or more) gets the parallel collector and a pre-touched
 * heap on transparent huge pages: a 10,000-node simulation spends most of its time on cache and
 * TLB misses across a gigabyte of node state, and these settings make it about a third faster
 * than G1 on a 2-core machine (docs/benchmarks.md). The child keeps the caller's -Xmx (if none,
 * {@link #defaultSimHeap}) and other JVM options.
 *
 * <p>The demo network keeps G1 but gets a fixed, pre-touched 2 GiB heap: otherwise the heap
 * grows during the run and the kernel zeroes each new page on first touch, which took about a
 * tenth of the CPU at 25,000 msg/s and made the overlay fall behind (docs/benchmarks.md).
 *
 * <p>{@code --no-relaunch} skips it.
 */
final class ThroughputJvm {

  static final String CHILD_MARKER = "overlay.bench.child";
  private static final long MIN_HEAP = 4L << 30;
  private static final long MAX_DEFAULT_HEAP = 8L << 30;

  /**
   * The simulator's heap when the caller gave no -Xmx: half the machine's memory, within 4 and
   * 8 GiB. A 10,000-node run keeps about 3 GiB live; with 4 GiB (a 1 GiB young generation) it
   * collected 14 times and once in full, about 10 s of a 90 s run, and with 8 GiB it took 70 s
   * (docs/benchmarks.md). More than 8 GiB only costs pre-touching.
   */
  static long defaultSimHeap(long physicalBytes) {
    return Math.max(MIN_HEAP, Math.min(MAX_DEFAULT_HEAP, physicalBytes / 2));
  }

  private static long physicalMemory() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getTotalMemorySize() : 0;
  }

  /** Below this many nodes a run takes seconds either way; not worth a second JVM and a pre-touched heap. */
  private static final int MIN_NODES = 5_000;

  private ThroughputJvm() {}

  private static final long DEMO_HEAP = 2L << 30;

  /** Whether the demo should hand over to a child with a pre-touched heap: from the jar only. */
  static boolean shouldRelaunchDemo(String[] args) {
    if (Boolean.getBoolean(CHILD_MARKER) || jarPath() == null) return false;
    for (String a : args) {
      if (a.equals("--no-relaunch") || a.equals("--help") || a.equals("-h")) return false;
    }
    return true;
  }

  /** Runs the demo in a child JVM with a fixed, pre-touched heap (G1, the default collector). */
  static int relaunchDemo(String[] args) throws Exception {
    long heap = inheritedHeap(DEMO_HEAP);
    List<String> cmd = childJvm(heap, List.of("-XX:+AlwaysPreTouch"), a -> false);
    return runChild(cmd, args, String.format(Locale.ROOT,
        "(running in a JVM with a pre-touched %d MiB heap; --no-relaunch to skip)", heap >> 20));
  }

  /** Whether this JVM should hand over to a throughput-configured child: large runs from the jar only. */
  static boolean shouldRelaunch(String[] args) {
    if (Boolean.getBoolean(CHILD_MARKER)) return false;
    int nodes = 1000; // the sim command's default
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--no-relaunch") || a.equals("--help") || a.equals("-h")) return false;
      try {
        if (a.equals("--nodes") && i + 1 < args.length) nodes = Integer.parseInt(args[i + 1]);
        if (a.startsWith("--nodes=")) nodes = Integer.parseInt(a.substring(8));
      } catch (NumberFormatException e) {
        return false; // let the command report the bad value
      }
    }
    return nodes >= MIN_NODES && jarPath() != null;
  }

  /** The -Xmx this JVM was started with, or {@code fallback}. */
  private static long inheritedHeap(long fallback) {
    long heap = fallback;
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-Xmx")) heap = parseSize(a.substring(4));
    }
    return heap;
  }

  /**
   * {@code java -Xmx -Xms} (both {@code heap}), then {@code flags}, then this JVM's own arguments
   * except its heap sizes and those {@code replaced} says the flags replace.
   */
  private static List<String> childJvm(long heap, List<String> flags, java.util.function.Predicate<String> replaced) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + heap / (1 << 20) + "m");
    cmd.add("-Xms" + heap / (1 << 20) + "m");
    cmd.addAll(flags);
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-Xmx") && !a.startsWith("-Xms") && !replaced.test(a)) cmd.add(a);
    }
    return cmd;
  }

  /** Runs the same command in a child JVM and returns its exit code. */
  static int relaunch(String[] args) throws Exception {
    long heap = inheritedHeap(defaultSimHeap(physicalMemory()));
    List<String> cmd = childJvm(heap, List.of("-Xmn" + heap / 4 / (1 << 20) + "m", "-XX:+UseParallelGC",
        "-XX:+UseTransparentHugePages", "-XX:+AlwaysPreTouch"), a -> a.startsWith("-Xmn") || a.startsWith("-XX:+Use"));
    return runChild(cmd, args, String.format(Locale.ROOT,
        "(running in a throughput JVM: -Xmx%dm, parallel GC, pre-touched huge pages; --no-relaunch to skip)", heap >> 20));
  }

  private static int runChild(List<String> cmd, String[] args, String note) throws Exception {
    cmd.add("-D" + CHILD_MARKER + "=true");
    cmd.add("-cp");
    cmd.add(jarPath());
    cmd.add(Main.class.getName());
    cmd.addAll(List.of(args));
    System.err.println(note);
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    return p.waitFor();
  }

  static String jarPath() {
    try {
      String path = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
      return path.endsWith(".jar") && new File(path).isFile() ? path : null;
    } catch (Exception e) {
      return null;
    }
  }

  static long parseSize(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    long unit = 1;
    char last = v.charAt(v.length() - 1);
    if (last == 'k') unit = 1L << 10;
    else if (last == 'm') unit = 1L << 20;
    else if (last == 'g') unit = 1L << 30;
    else if (last == 't') unit = 1L << 40;
    if (unit != 1) v = v.substring(0, v.length() - 1);
    return Long.parseLong(v) * unit;
  }
}
