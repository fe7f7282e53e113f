package dev.overlay.bench.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LAN discovery in the lab's LAN ({@link NatLab#lan()}: two namespaces on one veth segment, so
 * multicast stays in the lab): two nodes with neither tracker nor seeds meet and deliver, and an
 * independent mDNS implementation (python-zeroconf, Debian's python3-zeroconf) sees our node and
 * is seen by it. The time to the first delivery is a benchmark (the {@code lanlab} command),
 * not asserted here beyond a generous deadline.
 */
class LanDiscoveryLabTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String PYTHON = "/usr/bin/python3";

  @Test
  void twoNodesOnOneLanMeetWithoutTrackerOrSeeds() throws Exception {
    LabTests.labNeeded(null);
    try (NatLab lab = NatLab.lan()) {
      NatLab.Running sub = lab.start("h1", "sub", NatLab.java(LanNode.class, NatLab.H1, "7000", "sub", "on"));
      NatLab.Running pub = lab.start("h2", "pub", NatLab.java(LanNode.class, NatLab.LAN_H2, "7000", "pub", "on"));
      sub.await(l -> l.startsWith("STARTED "), WAIT, "the subscriber's start");
      pub.await(l -> l.startsWith("STARTED "), WAIT, "the publisher's start");
      sub.await(l -> l.startsWith("FIRST "), WAIT, "a message from the node it found on the LAN");
      sub.tell("counters");
      String counters = sub.await(l -> l.startsWith("COUNTERS"), WAIT, "the counters");
      assertThat(counters).contains("lan_peers_now=1").contains("lan_packets_malformed=0").contains("lan_start_failed=0");
    }
  }

  @Test
  void pythonZeroconfSeesOurNodeAndOurNodeFindsWhatItPublishes() throws Exception {
    LabTests.labNeeded(zeroconfMissing());
    try (NatLab lab = NatLab.lan()) {
      // Ours advertises in h1; zeroconf browses from h2 and resolves it: PTR, SRV, TXT and A as it reads them.
      NatLab.Running ours = lab.start("h1", "ours", NatLab.java(LanNode.class, NatLab.H1, "7000", "sub", "on"));
      String started = ours.await(l -> l.startsWith("STARTED "), WAIT, "our node's start");
      String ourId = started.split(" ")[2];
      NatLab.Running browse = lab.start("h2", "zc-browse", List.of(PYTHON, script("zc_browse.py"), "60"));
      String found = browse.await(l -> l.startsWith("FOUND ") && l.contains("id=" + ourId), WAIT, "our node, resolved by zeroconf");
      assertThat(found).contains(NatLab.H1 + ":7000").contains("v=" + dev.overlay.wire.WireCodec.PROTOCOL_VERSION).contains("s=" + Long.toHexString(StreamId.of("lan").value()));

      // A node without LAN discovery in h2, published by zeroconf: ours finds it through zeroconf's records and links.
      NatLab.Running silent = lab.start("h2", "silent", NatLab.java(LanNode.class, NatLab.LAN_H2, "7001", "pub", "off"));
      String[] s = silent.await(l -> l.startsWith("STARTED "), WAIT, "the silent node's start").split(" ");
      NatLab.Running publish = lab.start("h2", "zc-publish", List.of(PYTHON, script("zc_publish.py"), NatLab.LAN_H2, "7001", s[2], s[3],
          Long.toHexString(StreamId.of("lan").value()), "60"));
      publish.await(l -> l.equals("PUBLISHED"), WAIT, "zeroconf's registration");
      ours.await(l -> l.startsWith("FIRST "), WAIT, "a message from the node zeroconf published");
    }
  }

  private static String script(String name) {
    Path p = Paths.get("src/test/resources/lanlab", name).toAbsolutePath();
    return p.toString();
  }

  private static String zeroconfMissing() {
    try {
      Process p = new ProcessBuilder(PYTHON, "-c", "import zeroconf").redirectErrorStream(true).start();
      return p.waitFor() == 0 ? null : "python-zeroconf is missing (apt-get install -y python3-zeroconf)";
    } catch (Exception e) {
      return "no " + PYTHON + ": " + e.getMessage();
    }
  }
}
