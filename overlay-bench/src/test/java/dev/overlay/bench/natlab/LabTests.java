package dev.overlay.bench.natlab;

import dev.overlay.tracker.TrackerMain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** What the NAT lab's tests share: whether the lab may run here, and a tracker in it. */
final class LabTests {

  static final Duration WAIT = Duration.ofSeconds(60);

  private LabTests() {}

  /** Skips the test with the reason when the lab cannot run here, except under CI, where that fails it. */
  static void labNeeded(String alsoMissing) {
    String why = NatLab.unavailable();
    if (why == null) why = alsoMissing;
    if (why != null && "true".equals(System.getenv("CI"))) Assertions.fail("under CI the NAT lab must run: " + why);
    Assumptions.assumeTrue(why == null, why);
  }

  /** A tracker on the lab's public side (port 7000, STUN on 3478), started and listening. */
  static NatLab.Running tracker(NatLab lab, String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("--host", NatLab.SRV, "--port", "7000", "--ephemeral-identity",
        "--stun-port", "3478"));
    if (!List.of(more).contains("--stun-alt-port")) args.addAll(List.of("--stun-alt-port", "-1"));
    args.addAll(List.of(more));
    NatLab.Running t = lab.start("srv", "tracker", NatLab.java(TrackerMain.class, args.toArray(String[]::new)));
    t.await(l -> l.startsWith("overlay-tracker "), WAIT, "the tracker's start line");
    return t;
  }
}
