package dev.overlay.bench.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A punched link through two cone NATs whose routers forget an idle TCP connection after 3 s
 * (and then drop its packets, as many home routers do): the node's keep-alives, sent when a
 * link has been quiet for a keep-alive interval, hold the mappings open; with keep-alives
 * rarer than the routers' timeout, the same quiet spell breaks the path. The lab needs root
 * ({@link NatLab}); under CI it must run.
 */
class NatKeepAliveTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int ROUTER_TIMEOUT_SECONDS = 3;
  private NatLab lab;

  @BeforeEach
  void labNeeded() {
    LabTests.labNeeded(null);
  }

  @AfterEach
  void down() {
    if (lab != null) lab.close();
  }

  /** Two nodes punched to each other, with keep-alives every {@code keepAliveMillis}; the routers then shorten their timeouts. */
  private NatLab.Running[] punchedPair(long keepAliveMillis) throws Exception {
    lab = NatLab.up(NatLab.Mode.CONE, NatLab.Mode.CONE);
    LabTests.tracker(lab);
    NatLab.Running[] nodes = new NatLab.Running[2];
    String[][] hosts = {{"h1", NatLab.H1}, {"h2", NatLab.H2}};
    for (int i = 0; i < 2; i++) {
      nodes[i] = lab.start(hosts[i][0], hosts[i][0], NatLab.java(LabNode.class, hosts[i][1], NatLab.SRV + ":7000",
          NatLab.SRV + ":3478", "100", String.valueOf(keepAliveMillis)));
    }
    for (NatLab.Running n : nodes) n.await(l -> l.startsWith("NEIGHBOUR "), WAIT, "a neighbour");
    for (String router : new String[] {"nat1", "nat2"}) {
      lab.timeouts(router, ROUTER_TIMEOUT_SECONDS, ROUTER_TIMEOUT_SECONDS);
      lab.strictTcp(router);
    }
    return nodes;
  }

  @Test
  void keepAlivesMoreFrequentThanTheRoutersTimeoutHoldThePath() throws Exception {
    NatLab.Running[] n = punchedPair(1_000);

    n[0].tell("idle " + 4 * ROUTER_TIMEOUT_SECONDS * 1000);
    n[0].await(l -> l.equals("IDLE DONE"), WAIT, "a quiet spell of four router timeouts");
    assertThat(lab.tracked("nat1", 7000)).as("nat1 still maps the punched connection").contains("ESTABLISHED");

    n[0].tell("publish 100");
    n[1].await(l -> l.equals("RECEIVED 100"), WAIT, "all 100 received after the quiet spell");
  }

  @Test
  void withoutKeepAlivesInTimeTheSameQuietSpellBreaksThePath() throws Exception {
    NatLab.Running[] n = punchedPair(60_000);

    n[0].tell("idle " + 4 * ROUTER_TIMEOUT_SECONDS * 1000);
    n[0].await(l -> l.equals("IDLE DONE"), WAIT, "a quiet spell of four router timeouts");
    assertThat(lab.tracked("nat1", 7000)).as("nat1 forgot the punched connection").doesNotContain("ESTABLISHED");

    n[0].tell("publish 100");
    n[0].await(l -> l.equals("PUBLISHED 100"), WAIT, "all 100 published");
    n[0].tell("counters"); // a round trip through the publisher, so the receiver had time to print
    n[0].await(l -> l.startsWith("COUNTERS "), WAIT, "counters");
    assertThat(n[1].output().lines()).as("nothing crosses a forgotten mapping").noneMatch(l -> l.equals("RECEIVED 100"));
  }
}
