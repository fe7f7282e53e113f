package dev.overlay.bench.natlab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A NAT lab in network namespaces, for tests: two hosts, each behind its own NAT router, and a
 * server on a shared "public" bridge. Everything lives in namespaces this class creates and
 * deletes; the addresses (TEST-NET-3 and two private /24s) exist only inside them, and the root
 * namespace gets unreachable routes for them while the lab is up, so a process started without
 * {@code ip netns exec} fails at once instead of sending lab traffic out of the machine.
 *
 * <pre>
 *   srv  203.0.113.10 ─┐
 *                      ├─ pub (bridge br0, 203.0.113.0/24)
 *   nat1 203.0.113.1  ─┤                         nat2 203.0.113.2 ─┘
 *   nat1 192.168.1.1 ── h1 192.168.1.10          nat2 192.168.2.1 ── h2 192.168.2.10
 * </pre>
 *
 * Each router masquerades its LAN behind its WAN address with nftables and drops anything
 * unsolicited. {@link Mode#CONE} keeps a host's source port (an endpoint-independent mapping, as
 * most home routers do); {@link Mode#SYMMETRIC} picks a random port per connection
 * ({@code masquerade fully-random}), as carrier-grade NATs do. Dropping, not rejecting, matters:
 * a rejected SYN would leave a confirmed conntrack entry that changes the next mapping.
 *
 * <p>Needs root, {@code ip} and {@code nft}. Processes started in the lab ({@link #start}) are
 * killed, and the namespaces deleted, by {@link #close}, also from a shutdown hook if the test
 * JVM exits first. The tests (NatHolePunchTest, NatKeepAliveTest) and the {@code natlab}
 * scenario command use it; docs/nat.md, "The NAT lab".
 */
public final class NatLab implements AutoCloseable {

  /** How a router maps its LAN's connections to its WAN address. */
  public enum Mode {
    CONE("masquerade"),
    SYMMETRIC("masquerade fully-random");

    final String masquerade;

    Mode(String masquerade) {
      this.masquerade = masquerade;
    }
  }

  public static final String SRV = "203.0.113.10";
  public static final String NAT1 = "203.0.113.1";
  public static final String NAT2 = "203.0.113.2";
  public static final String H1 = "192.168.1.10";
  public static final String H2 = "192.168.2.10";
  /** The hosts' and the server's global IPv6 addresses, once {@link #ipv6()} gave the lab IPv6. */
  public static final String SRV6 = "2001:db8:ab::10";
  public static final String H1_6 = "2001:db8:ab:1::10";
  public static final String H2_6 = "2001:db8:ab:2::10";
  private static final List<String> GUARDED = List.of("203.0.113.0/24", "192.168.1.0/24", "192.168.2.0/24", "2001:db8:ab::/48");
  private static final String[] NODES = {"pub", "srv", "nat1", "nat2", "h1", "h2"};
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);

  private final String prefix;
  private final List<Running> running = new ArrayList<>();
  private final List<String> guards = new ArrayList<>();
  private final Thread hook = new Thread(this::down, "natlab-teardown");
  private boolean closed;

  /** Why the lab cannot run here, or null when it can. */
  public static String unavailable() {
    if (!"root".equals(System.getProperty("user.name"))) return "the NAT lab needs root (network namespaces, nftables)";
    for (String tool : new String[] {"ip", "nft"}) {
      if (!onPath(tool)) return "the NAT lab needs '" + tool + "' (apt-get install -y iproute2 nftables)";
    }
    return null;
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) return true;
    }
    return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
  }

  /** The second host's address in {@link #lan()}: on h1's segment. */
  public static final String LAN_H2 = "192.168.1.11";

  /**
   * A LAN instead: h1 (192.168.1.10) and h2 ({@link #LAN_H2}) on one segment, a veth pair between
   * their namespaces with multicast on, and no router. For LAN discovery (mDNS): multicast stays
   * between the two namespaces.
   */
  public static NatLab lan() throws IOException, InterruptedException {
    NatLab lab = new NatLab("ovl" + Long.toHexString(ProcessHandle.current().pid() & 0xFFFF) + "-");
    Runtime.getRuntime().addShutdownHook(lab.hook);
    try {
      lab.guard();
      for (String n : new String[] {"h1", "h2"}) {
        run("ip", "netns", "add", lab.ns(n));
        run("ip", "-n", lab.ns(n), "link", "set", "lo", "up");
        run("ip", "netns", "exec", lab.ns(n), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
      }
      lab.veth("h1", "eth0", "h2", "eth0");
      lab.address("h1", "eth0", H1 + "/24");
      lab.address("h2", "eth0", LAN_H2 + "/24");
      for (String n : new String[] {"h1", "h2"}) {
        run("ip", "-n", lab.ns(n), "link", "set", "eth0", "multicast", "on");
        run("ip", "-n", lab.ns(n), "route", "add", "224.0.0.0/4", "dev", "eth0");
      }
    } catch (IOException | RuntimeException e) {
      lab.close();
      throw e;
    }
    return lab;
  }

  /** Builds the lab, with the routers in the given modes. */
  public static NatLab up(Mode nat1, Mode nat2) throws IOException, InterruptedException {
    NatLab lab = new NatLab("ovl" + Long.toHexString(ProcessHandle.current().pid() & 0xFFFF) + "-");
    Runtime.getRuntime().addShutdownHook(lab.hook);
    try {
      lab.build(nat1, nat2);
    } catch (IOException | RuntimeException e) {
      lab.close();
      throw e;
    }
    return lab;
  }

  private NatLab(String prefix) {
    this.prefix = prefix;
  }

  /** The namespace of a lab node: pub, srv, nat1, nat2, h1 or h2. */
  public String ns(String node) {
    return prefix + node;
  }

  private void build(Mode nat1, Mode nat2) throws IOException, InterruptedException {
    guard();
    for (String n : NODES) {
      run("ip", "netns", "add", ns(n));
      run("ip", "-n", ns(n), "link", "set", "lo", "up");
      run("ip", "netns", "exec", ns(n), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }
    run("ip", "-n", ns("pub"), "link", "add", "br0", "type", "bridge");
    run("ip", "-n", ns("pub"), "link", "set", "br0", "up");
    run(false, "ip", "netns", "exec", ns("pub"), "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0");
    veth("srv", "eth0", "pub", "p-srv");
    veth("nat1", "wan", "pub", "p-nat1");
    veth("nat2", "wan", "pub", "p-nat2");
    veth("h1", "eth0", "nat1", "lan");
    veth("h2", "eth0", "nat2", "lan");
    for (String port : new String[] {"p-srv", "p-nat1", "p-nat2"}) {
      run("ip", "-n", ns("pub"), "link", "set", port, "master", "br0", "up");
    }
    address("srv", "eth0", SRV + "/24");
    run("ip", "-n", ns("srv"), "addr", "add", "203.0.113.11/24", "dev", "eth0");
    address("nat1", "wan", NAT1 + "/24");
    address("nat1", "lan", "192.168.1.1/24");
    address("nat2", "wan", NAT2 + "/24");
    address("nat2", "lan", "192.168.2.1/24");
    address("h1", "eth0", H1 + "/24");
    address("h2", "eth0", H2 + "/24");
    run("ip", "-n", ns("h1"), "route", "add", "default", "via", "192.168.1.1");
    run("ip", "-n", ns("h2"), "route", "add", "default", "via", "192.168.2.1");
    for (String r : new String[] {"nat1", "nat2"}) run("ip", "netns", "exec", ns(r), "sysctl", "-qw", "net.ipv4.ip_forward=1");
    mode("nat1", nat1);
    mode("nat2", nat2);
  }

  /** Clears leftovers of a killed run of this pid, and routes the lab's networks nowhere in the root namespace. */
  private void guard() throws IOException, InterruptedException {
    down(); // leftovers of a run of this JVM's pid that was killed before its teardown
    closed = false;
    for (String net : GUARDED) {
      if (run(false, "ip", "route", "show", "exact", net).isBlank()) {
        run("ip", "route", "add", "unreachable", net, "metric", "4242");
        guards.add(net);
      }
    }
  }

  private void veth(String a, String ifA, String b, String ifB) throws IOException, InterruptedException {
    run("ip", "link", "add", "name", ifA, "netns", ns(a), "type", "veth", "peer", "name", ifB, "netns", ns(b));
  }

  private void address(String node, String dev, String cidr) throws IOException, InterruptedException {
    run("ip", "-n", ns(node), "addr", "add", cidr, "dev", dev);
    run("ip", "-n", ns(node), "link", "set", dev, "up");
  }

  /**
   * Gives the lab IPv6 beside its IPv4, as an ISP that hands each home a global prefix does:
   * 2001:db8:ab::/64 on the public side (nat1 ::1, nat2 ::2, srv ::10), 2001:db8:ab:1::/64 and
   * 2001:db8:ab:2::/64 on the two LANs (routers ::1, hosts ::10), routed end to end with no NAT.
   * The routers' rules are IPv4's only (nftables family {@code ip}), so IPv6 passes unfiltered:
   * a home router that blocks inbound IPv6 would need a pinhole, which this lab does not model.
   */
  public void ipv6() throws IOException, InterruptedException {
    for (String n : new String[] {"srv", "nat1", "nat2", "h1", "h2"}) {
      run("ip", "netns", "exec", ns(n), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0");
    }
    for (String[] a : new String[][] {{"srv", "eth0"}, {"nat1", "wan"}, {"nat1", "lan"}, {"nat2", "wan"}, {"nat2", "lan"}, {"h1", "eth0"}, {"h2", "eth0"}}) {
      run("ip", "netns", "exec", ns(a[0]), "sysctl", "-qw", "net.ipv6.conf." + a[1] + ".disable_ipv6=0");
    }
    address6("srv", "eth0", SRV6 + "/64");
    address6("nat1", "wan", "2001:db8:ab::1/64");
    address6("nat2", "wan", "2001:db8:ab::2/64");
    address6("nat1", "lan", "2001:db8:ab:1::1/64");
    address6("nat2", "lan", "2001:db8:ab:2::1/64");
    address6("h1", "eth0", H1_6 + "/64");
    address6("h2", "eth0", H2_6 + "/64");
    run("ip", "-n", ns("h1"), "-6", "route", "add", "default", "via", "2001:db8:ab:1::1");
    run("ip", "-n", ns("h2"), "-6", "route", "add", "default", "via", "2001:db8:ab:2::1");
    run("ip", "-n", ns("nat1"), "-6", "route", "add", "2001:db8:ab:2::/64", "via", "2001:db8:ab::2");
    run("ip", "-n", ns("nat2"), "-6", "route", "add", "2001:db8:ab:1::/64", "via", "2001:db8:ab::1");
    run("ip", "-n", ns("srv"), "-6", "route", "add", "2001:db8:ab:1::/64", "via", "2001:db8:ab::1");
    run("ip", "-n", ns("srv"), "-6", "route", "add", "2001:db8:ab:2::/64", "via", "2001:db8:ab::2");
    for (String r : new String[] {"nat1", "nat2"}) run("ip", "netns", "exec", ns(r), "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
  }

  /** An IPv6 address usable at once: no duplicate address detection, which would hold it tentative for a second or more. */
  private void address6(String node, String dev, String cidr) throws IOException, InterruptedException {
    run("ip", "-n", ns(node), "-6", "addr", "add", cidr, "dev", dev, "nodad");
  }

  /** Sets a router's NAT mode (its rules replaced whole). */
  public void mode(String router, Mode mode) throws IOException, InterruptedException {
    String rules = """
        table ip natlab {}
        delete table ip natlab
        table ip natlab {
          chain input {
            type filter hook input priority filter; policy drop;
            iifname { "lo", "lan" } accept
            ct state established,related accept
          }
          chain forward {
            type filter hook forward priority filter; policy drop;
            ct state established,related accept
            iifname "lan" oifname "wan" accept
          }
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            oifname "wan" %s
          }
        }
        """.formatted(mode.masquerade);
    runWithInput(rules, "ip", "netns", "exec", ns(router), "nft", "-f", "-");
  }

  /**
   * Gives a router another public address and maps its LAN there from now on (SNAT, ports kept
   * where free), forgetting every mapping it had: what a home router does when its ISP hands it a
   * new address. Existing connections through it break.
   */
  public void renumber(String router, String newWanIp) throws IOException, InterruptedException {
    run("ip", "-n", ns(router), "addr", "add", newWanIp + "/24", "dev", "wan");
    runWithInput("""
        table ip natlab {
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
          }
        }
        flush chain ip natlab postrouting
        add rule ip natlab postrouting oifname "wan" snat to %s
        """.formatted(newWanIp), "ip", "netns", "exec", ns(router), "nft", "-f", "-");
    run(false, "ip", "netns", "exec", ns(router), "conntrack", "-F");
  }

  /**
   * Shortens a router's conntrack timeouts (per namespace; the host's stay as they are): how long
   * an idle UDP mapping and an idle established TCP mapping live.
   */
  public void timeouts(String router, int udpSeconds, int tcpEstablishedSeconds) throws IOException, InterruptedException {
    run("ip", "netns", "exec", ns(router), "sysctl", "-qw",
        "net.netfilter.nf_conntrack_udp_timeout=" + udpSeconds,
        "net.netfilter.nf_conntrack_udp_timeout_stream=" + udpSeconds,
        "net.netfilter.nf_conntrack_tcp_timeout_established=" + tcpEstablishedSeconds);
  }

  /**
   * Makes a router forget a TCP connection for good once its mapping expired: a packet of a
   * connection it no longer tracks is invalid and dropped (nf_conntrack_tcp_loose=0), as many
   * home routers do, instead of being picked up as a new mapping.
   */
  public void strictTcp(String router) throws IOException, InterruptedException {
    run("ip", "netns", "exec", ns(router), "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0");
  }

  /** The router's tracked TCP connections to or from {@code port}, as conntrack lists them. */
  public String tracked(String router, int port) throws IOException, InterruptedException {
    StringBuilder b = new StringBuilder();
    for (String line : run(false, "ip", "netns", "exec", ns(router), "conntrack", "-L", "-p", "tcp").split("\n")) {
      if (line.contains("port=" + port + " ")) b.append(line).append('\n');
    }
    return b.toString();
  }

  /** A file as seen from inside a lab node's namespace (sysfs shows that namespace's interfaces). */
  public String read(String node, String path) throws IOException, InterruptedException {
    return run("ip", "netns", "exec", ns(node), "cat", path);
  }

  /** A process in a lab node's namespace, its output (stdout and stderr) read line by line. */
  public Running start(String node, String name, List<String> command) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns(node)));
    cmd.addAll(command);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Running r = new Running(name, p);
    running.add(r);
    return r;
  }

  /** A java command line for {@code mainClass} on this JVM's class path, quick to start (C1 only): for tests. */
  public static List<String> java(Class<?> mainClass, String... args) {
    return java(true, mainClass, args);
  }

  /** As {@link #java(Class, String...)}; without {@code quickStart}, the JIT's full tiers, as for measurements. */
  public static List<String> java(boolean quickStart, Class<?> mainClass, String... args) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
    if (quickStart) cmd.add("-XX:TieredStopAtLevel=1");
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Deletes the lab: its processes, its namespaces, the root namespace's guard routes. Twice is harmless. */
  @Override
  public void close() {
    down();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or about to
    }
  }

  private synchronized void down() {
    if (closed) return;
    closed = true;
    for (Running r : running) r.process.destroyForcibly();
    for (Running r : running) {
      try {
        r.process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (String n : NODES) {
      try {
        String pids = run(false, "ip", "netns", "pids", ns(n)).trim();
        if (!pids.isEmpty()) {
          List<String> kill = new ArrayList<>(List.of("kill", "-9"));
          kill.addAll(List.of(pids.split("\\s+")));
          run(false, kill.toArray(String[]::new));
        }
        run(false, "ip", "netns", "del", ns(n));
      } catch (IOException | InterruptedException e) {
        // best effort: the next namespace still goes
      }
    }
    for (String net : guards) {
      try {
        run(false, "ip", "route", "del", "unreachable", net, "metric", "4242");
      } catch (IOException | InterruptedException e) {
        // best effort
      }
    }
    guards.clear();
  }

  private static String run(String... cmd) throws IOException, InterruptedException {
    return run(true, cmd);
  }

  private static String run(boolean check, String... cmd) throws IOException, InterruptedException {
    return runWithInput(check, null, cmd);
  }

  private static void runWithInput(String input, String... cmd) throws IOException, InterruptedException {
    runWithInput(true, input, cmd);
  }

  private static String runWithInput(boolean check, String input, String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      if (input != null) in.write(input.getBytes(StandardCharsets.UTF_8));
    }
    byte[] out = p.getInputStream().readAllBytes(); // ends when the command does
    if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + ": no exit within " + COMMAND_TIMEOUT.toSeconds() + " s");
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (check && p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + text.trim());
    return text;
  }

  /** A process started in the lab; every line it prints is kept, in order, for {@link #await}. */
  public static final class Running {
    final String name;
    public final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());

    Running(String name, Process process) {
      this.name = name;
      this.process = process;
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) {
            seen.add(line);
            lines.add(line);
          }
        } catch (IOException ended) {
          // the process is gone
        }
      }, "natlab-" + name);
      reader.setDaemon(true);
      reader.start();
    }

    /** The next line matching {@code wanted}, waiting at most {@code timeout}; fails with everything printed so far. */
    public String await(Predicate<String> wanted, Duration timeout, String what) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        long left = deadline - System.nanoTime();
        String line = left <= 0 ? null : lines.poll(Math.min(left, 200_000_000L), TimeUnit.NANOSECONDS);
        if (line != null && wanted.test(line)) return line;
        if (line == null && (left <= 0 || (!process.isAlive() && lines.isEmpty()))) {
          throw new AssertionError(name + ": " + what + " not seen within " + timeout.toSeconds() + " s"
              + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")") + "; it printed:\n" + output());
        }
      }
    }

    /** Writes a line to the process's standard input. */
    public void tell(String line) throws IOException {
      OutputStream in = process.getOutputStream();
      in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      in.flush();
    }

    /** Everything printed so far. */
    public String output() {
      synchronized (seen) {
        return String.join("\n", seen);
      }
    }
  }
}
