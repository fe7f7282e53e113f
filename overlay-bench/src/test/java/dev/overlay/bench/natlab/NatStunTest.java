package dev.overlay.bench.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.bench.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * STUN through real NATs, both ways with coturn: a host behind a cone NAT (h1) and one behind a
 * symmetric NAT (h2) run the operator's probe ({@code overlay-bench stun}) against the tracker's
 * STUN server, which tells the two mappings apart (RFC 5780's idea, with the tracker's second
 * port, and again across two IPs, the tracker's and coturn's, writing its JSON), and against
 * coturn's server; coturn's own client asks the tracker from behind the NAT.
 * Everyone sees the NAT's public address. Needs root and coturn; under CI both must be there.
 */
class NatStunTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private NatLab lab;

  @BeforeEach
  void labNeeded() {
    LabTests.labNeeded(Files.isExecutable(Path.of("/usr/bin/turnserver")) ? null : "coturn is not installed (apt-get install -y coturn)");
  }

  @AfterEach
  void down() {
    if (lab != null) lab.close();
  }

  @Test
  void behindBothKindsOfNatTheProbeSeesThePublicAddressAndTheMappingAndCoturnAgrees() throws Exception {
    lab = NatLab.up(NatLab.Mode.CONE, NatLab.Mode.SYMMETRIC);
    LabTests.tracker(lab, "--stun-alt-port", "3479");
    Path dir = Files.createTempDirectory("natlab-coturn");
    lab.start("srv", "coturn", List.of("turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls",
        "--stun-only", "--listening-ip", "203.0.113.11", "--listening-port", "3478", "--userdb", dir.resolve("turndb").toString(),
        "--pidfile", dir.resolve("turn.pid").toString(), "--log-file", "stdout", "--simple-log"));
    // No wait for it: the probe's UDP retransmissions (the RFC's, over 39.5 s) cover coturn's start.

    NatLab.Running cone = lab.start("h1", "probe-h1", NatLab.java(Main.class, "stun", "--server", NatLab.SRV + ":3478"));
    assertThat(cone.await(l -> l.startsWith("UDP "), WAIT, "the UDP answer")).startsWith("UDP  reflexive " + NatLab.NAT1 + ":");
    assertThat(cone.await(l -> l.startsWith("mapping "), WAIT, "the mapping")).startsWith("mapping   endpoint-independent");
    assertThat(cone.await(l -> l.startsWith("TCP "), WAIT, "the TCP answer")).startsWith("TCP  reflexive " + NatLab.NAT1 + ":");

    NatLab.Running symmetric = lab.start("h2", "probe-h2", NatLab.java(Main.class, "stun", "--server", NatLab.SRV + ":3478"));
    assertThat(symmetric.await(l -> l.startsWith("UDP "), WAIT, "the UDP answer")).startsWith("UDP  reflexive " + NatLab.NAT2 + ":");
    assertThat(symmetric.await(l -> l.startsWith("mapping "), WAIT, "the mapping")).startsWith("mapping   endpoint-dependent");

    // Our client against coturn's server, from behind the cone NAT.
    NatLab.Running ours = lab.start("h1", "probe-coturn", NatLab.java(Main.class, "stun", "--server", "203.0.113.11:3478"));
    String answer = ours.await(l -> l.startsWith("UDP "), WAIT, "coturn's answer");
    assertThat(answer).startsWith("UDP  reflexive " + NatLab.NAT1 + ":").contains("Coturn");

    // The mapping test across two server IPs (the tracker's and coturn's), as RFC 5780 means it,
    // with the probe's JSON: the cone NAT keeps one mapping for both, the symmetric one does not.
    Path coneJson = dir.resolve("cone.json");
    NatLab.Running coneTwoIps = lab.start("h1", "probe-h1-two-ips", NatLab.java(Main.class, "stun", "--server", NatLab.SRV + ":3478",
        "--server2", "203.0.113.11:3478", "--json", coneJson.toString()));
    assertThat(coneTwoIps.await(l -> l.startsWith("mapping "), WAIT, "the mapping across two IPs"))
        .startsWith("mapping   endpoint-independent").doesNotContain("one server IP");
    coneTwoIps.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(Files.readString(coneJson)).contains("\"mapping\": \"endpoint_independent\"")
        .contains("\"mapping_tested\": \"address_and_port\"").contains(NatLab.NAT1);
    NatLab.Running symmetricTwoIps = lab.start("h2", "probe-h2-two-ips", NatLab.java(Main.class, "stun", "--server", NatLab.SRV + ":3478",
        "--server2", "203.0.113.11:3478"));
    assertThat(symmetricTwoIps.await(l -> l.startsWith("mapping "), WAIT, "the mapping across two IPs"))
        .startsWith("mapping   endpoint-dependent");

    // Coturn's client against the tracker's server, from behind the cone NAT.
    NatLab.Running theirs = lab.start("h1", "turnutils", List.of("turnutils_stunclient", "-p", "3478", NatLab.SRV));
    theirs.await(l -> l.contains("UDP reflexive addr: " + NatLab.NAT1 + ":"), WAIT, "turnutils_stunclient's answer naming nat1");
  }
}
