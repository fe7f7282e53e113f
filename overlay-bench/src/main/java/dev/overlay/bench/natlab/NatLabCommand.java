package dev.overlay.bench.natlab;

import dev.overlay.report.Json;
import dev.overlay.tracker.TrackerMain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The NAT lab as a scenario: for each NAT mode, {@code --runs} fresh labs, each with a tracker
 * (STUN and relay) on the public side and a node behind each NAT; the nodes meet, then one
 * publishes {@code --warmup} messages, then {@code --messages} timed ones, at {@code --rate}, and the other measures their
 * latency. Prints one JSON object: per mode, how many runs connected and how (punched or
 * relayed), the time from the tracker's signal to the link, messages lost, the latency
 * percentiles, and the relay's CPU per relayed MB. Needs root (network namespaces, nftables).
 */
@Command(
    name = "natlab",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {"Runs nodes behind NATs built in network namespaces (cone: hole punching; symmetric: the tracker's relay) "
        + "and measures connecting, loss and latency. Needs root, ip and nft."})
public final class NatLabCommand implements Callable<Integer> {

  @Option(names = "--modes", split = ",", defaultValue = "cone,symmetric", description = "NAT modes, both routers alike (default ${DEFAULT-VALUE}).")
  List<String> modes;

  @Option(names = "--runs", defaultValue = "20", description = "Fresh labs per mode (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--messages", defaultValue = "5000", description = "Timed messages per run (default ${DEFAULT-VALUE}).")
  int messages;

  @Option(names = "--rate", defaultValue = "1000", description = "Messages a second (default ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--warmup", defaultValue = "0", description = "Messages published first, at the same rate, and left out of the figures: "
      + "the JVMs' code warms up (default ${DEFAULT-VALUE}: the figures include the cold start).")
  int warmup;

  @Option(names = "--verbose", description = "Print what the nodes and the tracker printed, once they are linked.")
  boolean verbose;

  @Option(names = "--json", description = "Also write the JSON to this file.")
  Path json;

  private static final Duration WAIT = Duration.ofSeconds(90); // longer than a node's own wait for a neighbour (60 s)
  private static final Pattern PUNCHED = Pattern.compile("hole punched to \\S+ at \\S+ in (\\d+) ms");
  private static final Pattern LATENCY = Pattern.compile("LATENCY p50=(\\d+) p99=(\\d+) max=(\\d+) n=(\\d+)");

  @Override
  public Integer call() throws Exception {
    String why = NatLab.unavailable();
    if (why != null) {
      System.err.println("natlab: " + why);
      return 2;
    }
    Json out = Json.object().put("runs_per_mode", runs).put("messages", messages).put("warmup", warmup).put("rate", rate);
    for (String m : modes) {
      NatLab.Mode mode = NatLab.Mode.valueOf(m.trim().toUpperCase(Locale.ROOT));
      List<Run> results = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        Run r = run(mode);
        results.add(r);
        System.err.printf(Locale.ROOT, "natlab %s run %d/%d: %s, connect %d ms, lost %d, p99 %d us, relay cpu %.1f ms/MB %s%n",
            m, i + 1, runs, r.how, r.connectMillis, r.lost, r.p99Micros, r.relayCpuMillisPerMb, r.windows);
      }
      out.put(m, summary(results));
    }
    System.out.println(out);
    if (json != null) Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
    return 0;
  }

  private static final class Run {
    String how = "failed";
    long connectMillis = -1; // from the tracker's moment (punch) or none measured (relay)
    long lost;
    long p50Micros = -1;
    long p99Micros = -1;
    double relayCpuMillisPerMb = -1;
    String windows = "";
    String error;
  }

  private Run run(NatLab.Mode mode) throws Exception {
    Run r = new Run();
    try (NatLab lab = NatLab.up(mode, mode)) {
      NatLab.Running tracker = lab.start("srv", "tracker", NatLab.java(false, TrackerMain.class, "--host", NatLab.SRV, "--port", "7000",
          "--ephemeral-identity", "--stun-port", "3478", "--stun-alt-port", "-1", "--relay-port", "7001"));
      tracker.await(l -> l.startsWith("overlay-tracker "), WAIT, "the tracker's start line");
      NatLab.Running h1 = lab.start("h1", "h1", NatLab.java(false, LabNode.class, NatLab.H1, NatLab.SRV + ":7000", NatLab.SRV + ":3478", String.valueOf(warmup + messages)));
      NatLab.Running h2 = lab.start("h2", "h2", NatLab.java(false, LabNode.class, NatLab.H2, NatLab.SRV + ":7000", NatLab.SRV + ":3478", String.valueOf(warmup + messages)));
      String n1 = h1.await(l -> l.startsWith("NEIGHBOUR ") || l.startsWith("NO NEIGHBOUR"), WAIT, "a neighbour");
      h2.await(l -> l.startsWith("NEIGHBOUR ") || l.startsWith("NO NEIGHBOUR"), WAIT, "a neighbour");
      if (n1.startsWith("NO ")) {
        r.error = "no link";
        r.lost = warmup + messages;
        return r;
      }
      r.how = n1.endsWith(":7001") ? "relayed" : "punched";
      for (NatLab.Running n : new NatLab.Running[] {h1, h2}) {
        Matcher m = PUNCHED.matcher(n.output());
        if (m.find()) r.connectMillis = Long.parseLong(m.group(1));
      }
      if (verbose) System.err.println("--- h1\n" + h1.output() + "\n--- h2\n" + h2.output() + "\n--- tracker\n" + tracker.output());
      long cpuBefore = cpuMillis(tracker.process.pid());
      long rxBefore = rxBytes(lab);
      h1.tell("publish " + (warmup + messages) + " " + rate + " " + warmup);
      h1.await(l -> l.startsWith("PUBLISHED "), Duration.ofSeconds(60L + (warmup + messages) / Math.max(1, rate)), "all published");
      try {
        String lat = h2.await(l -> l.startsWith("LATENCY "), WAIT, "every message received");
        r.windows = h2.output().lines().filter(l -> l.startsWith("WINDOWS ")).map(l -> l.substring(8)).findFirst().orElse("");
        Matcher m = LATENCY.matcher(lat);
        if (m.find()) {
          r.p50Micros = Long.parseLong(m.group(1));
          r.p99Micros = Long.parseLong(m.group(2));
        }
      } catch (AssertionError notAll) {
        long got = 0;
        for (String l : h2.output().lines().toList()) {
          if (l.startsWith("RECEIVED ")) got = Long.parseLong(l.substring(9).trim());
        }
        r.lost = warmup + messages - got;
        r.error = "not every message received";
      }
      if (r.how.equals("relayed")) {
        double mb = (rxBytes(lab) - rxBefore) / 1e6;
        r.relayCpuMillisPerMb = mb > 0 ? (cpuMillis(tracker.process.pid()) - cpuBefore) / mb : -1;
      }
    } catch (AssertionError | java.io.IOException e) {
      r.error = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
    }
    return r;
  }

  /** User and system CPU of a process, from /proc (clock ticks of 10 ms). */
  private static long cpuMillis(long pid) throws java.io.IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
  }

  /** Bytes the server namespace's interface received: what the relay took in, plus the tracker's little traffic. */
  private static long rxBytes(NatLab lab) throws Exception {
    return Long.parseLong(lab.read("srv", "/sys/class/net/eth0/statistics/rx_bytes").trim());
  }

  private static Json summary(List<Run> runs) {
    long ok = runs.stream().filter(r -> r.error == null).count();
    Json j = Json.object().put("runs", runs.size()).put("succeeded", ok)
        .put("punched", runs.stream().filter(r -> r.how.equals("punched")).count())
        .put("relayed", runs.stream().filter(r -> r.how.equals("relayed")).count())
        .put("messages_lost", runs.stream().mapToLong(r -> r.lost).sum());
    spread(j, "connect_after_signal_ms", runs.stream().mapToLong(r -> r.connectMillis).filter(v -> v >= 0).toArray());
    spread(j, "latency_p50_us", runs.stream().mapToLong(r -> r.p50Micros).filter(v -> v >= 0).toArray());
    spread(j, "latency_p99_us", runs.stream().mapToLong(r -> r.p99Micros).filter(v -> v >= 0).toArray());
    spread(j, "relay_cpu_ms_per_mb", runs.stream().mapToDouble(r -> r.relayCpuMillisPerMb).filter(v -> v >= 0).mapToLong(Math::round).toArray());
    List<String> errors = runs.stream().filter(r -> r.error != null).map(r -> r.error).toList();
    if (!errors.isEmpty()) j.put("errors", Json.list(errors));
    return j;
  }

  /** Median and range of a figure over the runs. */
  private static void spread(Json j, String name, long[] v) {
    if (v.length == 0) return;
    Arrays.sort(v);
    j.put(name, Json.object().put("median", v[v.length / 2]).put("min", v[0]).put("max", v[v.length - 1]).put("n", v.length));
  }
}
