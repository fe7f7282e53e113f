package dev.overlay.bench.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes, each behind its own NAT, meet through a tracker on the lab's public side
 * ({@link NatLab}): child JVMs in network namespaces, as on real networks. Behind two cone NATs
 * they connect directly by TCP simultaneous open on the tracker's signal and deliver every
 * message; behind two symmetric NATs the punch fails, and says so. Needs root: skipped with the
 * reason otherwise, except under CI, where the lab must run.
 */
class NatHolePunchTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern PUNCHED = Pattern.compile("hole punched to \\S+ at (\\S+) in (\\d+) ms");
  private NatLab lab;

  @BeforeEach
  void labNeeded() {
    LabTests.labNeeded(null);
  }

  @AfterEach
  void down() {
    if (lab != null) lab.close();
  }

  private NatLab.Running tracker(String... more) throws Exception {
    return LabTests.tracker(lab, more);
  }

  private NatLab.Running node(String host, String ip) throws Exception {
    NatLab.Running n = lab.start(host, host, NatLab.java(LabNode.class, ip, NatLab.SRV + ":7000", NatLab.SRV + ":3478", "200"));
    n.await(l -> l.startsWith("STARTED "), WAIT, "the node's start line");
    return n;
  }

  @Test
  void behindTwoConeNatsTheNodesConnectDirectlyOnTheTrackersSignalAndDeliverEverything() throws Exception {
    lab = NatLab.up(NatLab.Mode.CONE, NatLab.Mode.CONE);
    NatLab.Running tracker = tracker();
    NatLab.Running h1 = node("h1", NatLab.H1);
    assertThat(h1.output()).as("h1 advertises its mapping, learnt over TCP from its listening port")
        .contains("reflexive:" + NatLab.NAT1 + ":7000");
    NatLab.Running h2 = node("h2", NatLab.H2);

    // Each sees the other at the other's NAT: a direct link through both NATs, no relay.
    assertThat(h1.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).endsWith("/" + NatLab.NAT2 + ":7000");
    assertThat(h2.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).endsWith("/" + NatLab.NAT1 + ":7000");
    long punchMillis = punchMillis(h1, h2);
    System.out.println("[natlab] cone/cone: connected " + punchMillis + " ms after the tracker's moment");

    h1.tell("publish 200");
    h1.await(l -> l.equals("PUBLISHED 200"), WAIT, "all 200 published");
    h2.await(l -> l.equals("RECEIVED 200"), WAIT, "all 200 received");

    Map<String, Long> c1 = counters(h1);
    Map<String, Long> c2 = counters(h2);
    assertThat(c1.get("punches_succeeded") + c2.get("punches_succeeded")).as("both ends count the punched link").isEqualTo(2);
    assertThat(c1.get("punches_requested") + c2.get("punches_requested")).isPositive();
    assertThat(tracker.output()).doesNotContain("Exception");
  }

  @Test
  void behindTwoSymmetricNatsThePunchFailsAndTheTrackersRelayCarriesEverythingWithTlsEndToEnd() throws Exception {
    lab = NatLab.up(NatLab.Mode.SYMMETRIC, NatLab.Mode.SYMMETRIC);
    NatLab.Running tracker = tracker("--relay-port", "7001");
    NatLab.Running h1 = node("h1", NatLab.H1);
    NatLab.Running h2 = node("h2", NatLab.H2);

    // Both reach the other at the relay's address: TLS and the identity check ran through it.
    assertThat(h1.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).endsWith("/" + NatLab.SRV + ":7001");
    assertThat(h2.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).endsWith("/" + NatLab.SRV + ":7001");
    assertThat(h1.output() + h2.output()).as("after the punch failed, with its reason").contains("hole punch failed: ");

    h1.tell("publish 200");
    h1.await(l -> l.equals("PUBLISHED 200"), WAIT, "all 200 published");
    h2.await(l -> l.equals("RECEIVED 200"), WAIT, "all 200 received");
    Map<String, Long> c1 = counters(h1);
    Map<String, Long> c2 = counters(h2);
    assertThat(c1.get("relays_succeeded") + c2.get("relays_succeeded")).as("both ends count the relayed link").isEqualTo(2);
    assertThat(c1.get("punches_succeeded") + c2.get("punches_succeeded")).isZero();
    assertThat(tracker.output()).doesNotContain("Exception");
  }

  @Test
  void behindTwoSymmetricNatsWithoutARelayEachFailureIsReportedWithItsReason() throws Exception {
    lab = NatLab.up(NatLab.Mode.SYMMETRIC, NatLab.Mode.SYMMETRIC);
    tracker();
    NatLab.Running h1 = node("h1", NatLab.H1);
    NatLab.Running h2 = node("h2", NatLab.H2);

    // The mapping a STUN server saw is not the one a connection to the peer gets: the SYNs never meet.
    String failed = h2.await(l -> l.startsWith("DIAL FAILED ") && l.contains("hole punch failed: "), WAIT, "a failed punch");
    assertThat(failed).as("it names the address tried: the mapping STUN saw, a random port").contains(NatLab.NAT1 + ":");
    Map<String, Long> c1 = counters(h1);
    Map<String, Long> c2 = counters(h2);
    assertThat(c2.get("punches_failed")).as("a failed punch is counted").isPositive();
    assertThat(c1.get("punches_succeeded") + c2.get("punches_succeeded")).isZero();
    assertThat((h1.output() + "\n" + h2.output()).lines()).noneMatch(l -> l.startsWith("NEIGHBOUR "));
  }

  @Test
  void behindTwoSymmetricNatsNodesWithGlobalIpv6LinkDirectlyOverItWithNoPunchAndNoRelay() throws Exception {
    lab = NatLab.up(NatLab.Mode.SYMMETRIC, NatLab.Mode.SYMMETRIC); // over IPv4 only a relay would do, and there is none
    lab.ipv6();
    NatLab.Running tracker = tracker();
    NatLab.Running h1 = node("h1", "[::]");
    NatLab.Running h2 = node("h2", "[::]");
    assertThat(h1.output()).as("on the wildcard, the host's addresses of both families, not the wildcard")
        .contains("local:" + NatLab.H1 + ":7000").contains("local:2001:db8:ab:1:0:0:0:10:7000");

    // The dial races the candidates, IPv6 first: the global address answers at once.
    String at1 = h1.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour");
    assertThat(at1).contains("2001:db8:ab:2:0:0:0:10");
    assertThat(h2.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).contains("2001:db8:ab:1:0:0:0:10");
    System.out.println("[natlab] IPv6 beside two symmetric NATs: h1's " + at1);

    h1.tell("publish 200");
    h1.await(l -> l.equals("PUBLISHED 200"), WAIT, "all 200 published");
    h2.await(l -> l.equals("RECEIVED 200"), WAIT, "all 200 received");
    Map<String, Long> c1 = counters(h1);
    Map<String, Long> c2 = counters(h2);
    assertThat(c1.get("punches_started") + c2.get("punches_started")).as("no punching").isZero();
    assertThat(c1.get("relays_requested") + c2.get("relays_requested")).as("no relay").isZero();
    assertThat(tracker.output()).doesNotContain("Exception");
  }

  @Test
  void aRelayedLinkIsReplacedByADirectOneOnceAPunchWorksAndNothingIsLost() throws Exception {
    lab = NatLab.up(NatLab.Mode.SYMMETRIC, NatLab.Mode.SYMMETRIC);
    tracker("--relay-port", "7001");
    // Mappings asked again every second, so that what the routers map after the change below is advertised at once.
    NatLab.Running h1 = lab.start("h1", "h1", NatLab.java(LabNode.class, NatLab.H1, NatLab.SRV + ":7000", NatLab.SRV + ":3478",
        "400", "-", "1000"));
    h1.await(l -> l.startsWith("STARTED "), WAIT, "the start line");
    NatLab.Running h2 = lab.start("h2", "h2", NatLab.java(LabNode.class, NatLab.H2, NatLab.SRV + ":7000", NatLab.SRV + ":3478",
        "400", "-", "1000"));
    assertThat(h1.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).endsWith("/" + NatLab.SRV + ":7001");
    h1.tell("publish 200");
    h2.await(l -> l.equals("RECEIVED 200"), WAIT, "200 received through the relay");

    // The routers start keeping ports (a firmware update, a new router): a punch would work now.
    lab.mode("nat1", NatLab.Mode.CONE);
    lab.mode("nat2", NatLab.Mode.CONE);

    // Every minute a relayed link asks for a punch again; one that works replaces the relay at
    // both ends (a direct connection beats a relayed one). Within two ticks: the first may come
    // before the trackers heard the new mappings (30 s heartbeats).
    long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
    while (!(links(h1).contains("/" + NatLab.NAT2 + ":") && links(h2).contains("/" + NatLab.NAT1 + ":")
        && !links(h1).contains(":7001") && !links(h2).contains(":7001"))) {
      assertThat(System.nanoTime() - deadline).as("both ends linked directly, the relay gone, within 150 s; h1 printed:\n"
          + h1.output() + "\nh2 printed:\n" + h2.output()).isNegative();
      java.util.concurrent.locks.LockSupport.parkNanos(500_000_000L); // between checks of the condition
    }
    h1.tell("publish 200");
    try {
      h2.await(l -> l.equals("RECEIVED 400"), WAIT, "the next 200 received over the direct link");
    } catch (AssertionError e) { // the other end's side of it
      throw new AssertionError(e.getMessage() + "\nh1 printed:\n" + h1.output(), e);
    }
    assertThat(counters(h1).get("punches_succeeded") + counters(h2).get("punches_succeeded")).isPositive();
  }

  /** The remote addresses of the node's links now, one a line. */
  private static String links(NatLab.Running n) throws Exception {
    n.tell("links");
    StringBuilder out = new StringBuilder();
    for (String l; !(l = n.await(x -> x.startsWith("LINK ") || x.equals("LINKS END"), WAIT, "its links")).equals("LINKS END"); ) {
      out.append(l).append('\n');
    }
    return out.toString();
  }

  /** How long the punch took from the moment the tracker named (the connecting side's log line). */
  private static long punchMillis(NatLab.Running... nodes) {
    for (NatLab.Running n : nodes) {
      Matcher m = PUNCHED.matcher(n.output());
      if (m.find()) return Long.parseLong(m.group(2));
    }
    throw new AssertionError("no 'hole punched' line from either node");
  }

  private static Map<String, Long> counters(NatLab.Running node) throws Exception {
    node.tell("counters");
    String line = node.await(l -> l.startsWith("COUNTERS "), WAIT, "counters");
    Map<String, Long> out = new HashMap<>();
    for (String kv : line.substring("COUNTERS ".length()).split(" ")) {
      int eq = kv.indexOf('=');
      if (eq > 0) out.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
    }
    return out;
  }

  @Test
  void aTrackerReachesANodeOnThePublicSideButNotOneBehindANatAndEachSaysSoInItsSnapshot() throws Exception {
    lab = NatLab.up(NatLab.Mode.CONE, NatLab.Mode.CONE);
    NatLab.Running tracker = tracker();
    NatLab.Running open = lab.start("srv", "public", NatLab.java(LabNode.class, NatLab.SRV + ":7100", NatLab.SRV + ":7000",
        NatLab.SRV + ":3478", "200"));
    NatLab.Running h1 = node("h1", NatLab.H1);

    assertThat(open.await(l -> l.startsWith("NAT ") && !l.startsWith("NAT UNKNOWN"), WAIT, "a verdict"))
        .startsWith("NAT REACHABLE mapping=" + NatLab.SRV + ":7100 reachable_at=" + NatLab.SRV + ":7100");
    assertThat(h1.await(l -> l.startsWith("NAT ") && !l.startsWith("NAT UNKNOWN"), WAIT, "a verdict"))
        .startsWith("NAT NOT_REACHABLE mapping=" + NatLab.NAT1 + ":7000 reachable_at=null")
        .contains("not reached: " + NatLab.NAT1 + ":7000");
    assertThat(tracker.output()).doesNotContain("Exception");
  }

  @Test
  void whenItsRouterIsRenumberedANodeAdvertisesItsNewMappingAndPeersPunchToIt() throws Exception {
    lab = NatLab.up(NatLab.Mode.CONE, NatLab.Mode.CONE);
    tracker();
    NatLab.Running h1 = lab.start("h1", "h1", NatLab.java(LabNode.class, NatLab.H1, NatLab.SRV + ":7000", NatLab.SRV + ":3478",
        "200", "-", "1000"));
    h1.await(l -> l.startsWith("STARTED ") && l.contains("reflexive:" + NatLab.NAT1 + ":7000"), WAIT, "the first mapping");

    lab.renumber("nat1", "203.0.113.5"); // the ISP hands nat1 a new address

    h1.await(l -> l.startsWith("NAT ") && l.contains("mapping=203.0.113.5:7000"), WAIT, "the new mapping, found by the refresh");
    NatLab.Running h2 = node("h2", NatLab.H2);
    assertThat(h2.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour")).endsWith("/203.0.113.5:7000");
    h2.tell("publish 200");
    h1.await(l -> l.equals("RECEIVED 200"), WAIT, "all 200 received at the new address");
    assertThat(counters(h1).get("nat_mapping_changes")).isEqualTo(1);
  }
}
