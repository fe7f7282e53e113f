package dev.overlay.bench.natlab;

import dev.overlay.report.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * LAN discovery in the LAN lab (two network namespaces on one segment). First, per run, two
 * nodes with neither tracker nor seeds (LanNode, one publishing every 10 ms from its start): the
 * time from the later of the two starts to the subscriber's first delivered message. Then the
 * measurement behind the choice of an mDNS implementation for LAN discovery: JmDNS against
 * Overlay's own (on the node's loop), each publishing in one namespace of the LAN lab and
 * browsing from the other, in fresh JVMs. Per implementation and run: the time from the start of
 * discovery to the first instance resolved (address, port, TXT), the threads it added and the
 * heap it retained; and whether it resolves an instance published by python-zeroconf. Prints one
 * JSON object. Needs root, ip, and python3-zeroconf.
 */
@Command(
    name = "lanlab",
    mixinStandardHelpOptions = true,
    description = {"LAN discovery in a lab of two network namespaces: the time from two nodes' start to the first delivery, and",
        "JmDNS against Overlay's own mDNS (discovery time, threads, heap, resolving python-zeroconf's records).",
        "Needs root, ip and python3-zeroconf."})
public final class LanLabCommand implements Callable<Integer> {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @Option(names = "--runs", defaultValue = "3", description = "Fresh labs per implementation (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--scripts", defaultValue = "overlay-bench/src/test/resources/lanlab",
      description = "Where zc_publish.py is (default ${DEFAULT-VALUE}).")
  Path scripts;

  @Override
  public Integer call() throws Exception {
    String why = NatLab.unavailable();
    if (why != null) throw new IllegalStateException(why);
    Json out = Json.object().put("runs", runs);
    List<Double> first = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      try (NatLab lab = NatLab.lan()) {
        NatLab.Running sub = lab.start("h1", "sub", NatLab.java(false, LanNode.class, NatLab.H1, "7000", "sub", "on"));
        NatLab.Running pub = lab.start("h2", "pub", NatLab.java(false, LanNode.class, NatLab.LAN_H2, "7000", "pub", "on"));
        long subStarted = (long) number(sub.await(l -> l.startsWith("STARTED "), WAIT, "the subscriber's start"));
        long pubStarted = (long) number(pub.await(l -> l.startsWith("STARTED "), WAIT, "the publisher's start"));
        long at = (long) number(sub.await(l -> l.startsWith("FIRST "), WAIT, "the first delivery"));
        first.add((double) (at - Math.max(subStarted, pubStarted)));
      }
      System.out.printf(Locale.ROOT, "two nodes, run %d: first delivery %.0f ms after both started%n", r + 1, first.get(r));
    }
    out.put("first_delivery_ms_after_both_started", stats(first));
    for (String impl : List.of("overlay", "jmdns")) {
      List<Double> resolved = new ArrayList<>();
      List<Double> threads = new ArrayList<>();
      List<Double> heap = new ArrayList<>();
      for (int r = 0; r < runs; r++) {
        try (NatLab lab = NatLab.lan()) {
          NatLab.Running pub = lab.start("h2", "publisher", NatLab.java(false, MdnsProbe.class, impl, "publish", NatLab.LAN_H2, "7000"));
          pub.await(l -> l.startsWith("HEAP_ADDED"), WAIT, "the publisher's start");
          NatLab.Running browse = lab.start("h1", "browser", NatLab.java(false, MdnsProbe.class, impl, "browse", NatLab.H1, "7000"));
          resolved.add(number(browse.await(l -> l.startsWith("RESOLVED "), WAIT, "an instance resolved")));
          threads.add(number(browse.await(l -> l.startsWith("THREADS_ADDED "), WAIT, "the thread count")));
          heap.add(number(browse.await(l -> l.startsWith("HEAP_ADDED "), WAIT, "the heap")) / 1024);
        }
        System.out.printf(Locale.ROOT, "%s run %d: resolved in %.1f ms, %d threads added, %.0f KiB heap added%n", impl, r + 1,
            resolved.get(r), threads.get(r).intValue(), heap.get(r));
      }
      boolean zeroconf;
      try (NatLab lab = NatLab.lan()) {
        NatLab.Running zc = lab.start("h2", "zc-publish", List.of("/usr/bin/python3", scripts.resolve("zc_publish.py").toAbsolutePath().toString(),
            NatLab.LAN_H2, "7001", "11".repeat(32), "1", "*", "60"));
        zc.await(l -> l.equals("PUBLISHED"), WAIT, "zeroconf's registration");
        NatLab.Running browse = lab.start("h1", "browser", NatLab.java(false, MdnsProbe.class, impl, "browse", NatLab.H1, "7000"));
        String line;
        try {
          line = browse.await(l -> l.startsWith("RESOLVED "), Duration.ofSeconds(20), "zeroconf's instance");
        } catch (AssertionError e) {
          line = null;
        }
        zeroconf = line != null;
      }
      out.put(impl, Json.object().put("resolved_ms", stats(resolved)).put("threads_added", stats(threads))
          .put("heap_added_kib", stats(heap)).put("resolves_python_zeroconf", zeroconf));
    }
    System.out.println(out);
    return 0;
  }

  private static double number(String line) {
    return Double.parseDouble(line.split(" ")[1]);
  }

  private static Json stats(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    return Json.object().put("median", s.get(s.size() / 2)).put("min", s.get(0)).put("max", s.get(s.size() - 1)).put("runs", v);
  }
}
