package dev.overlay.sim.trackers;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.tracker.TrackerConfig;
import dev.overlay.tracker.TrackerState;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * How much of what newcomers are told an attacker can own: a real {@link TrackerState} holds a
 * stream with a few honest members, each on its own address and registered long ago; an
 * attacker then registers sybil identities from a few addresses of its own, and keeps them
 * alive; newcomers, each on its own address, ask to join. Measures the share of introductions
 * that are sybils, and how many newcomers got no honest member at all (an eclipse). Pure and
 * seeded: the same arguments give the same figures.
 */
public final class EclipseExperiment {

  /** The figures of one run. */
  public record Result(int honest, int sybils, int attackerAddresses, int sybilsAccepted, int newcomers,
      long introductions, long sybilIntroductions, int newcomersWithoutHonestPeer) {

    public double sybilShare() {
      return introductions == 0 ? 0 : (double) sybilIntroductions / introductions;
    }
  }

  private EclipseExperiment() {}

  /**
   * @param sybilDelayNanos how long after the honest members the sybils register (they must
   *     outlive {@code establishedAge} to compete with established members)
   */
  public static Result run(TrackerConfig config, int honest, int sybils, int attackerAddresses, int newcomers,
      long sybilDelayNanos, long seed) {
    TrackerState t = new TrackerState(config, new SplittableRandom(seed));
    StreamId stream = StreamId.of("eclipse");
    List<Message.TrackerMessage> replies = new ArrayList<>();
    TrackerState.Replies out = (to, m) -> replies.add(m);
    SplittableRandom rng = new SplittableRandom(seed * 7 + 1);
    Set<PeerId> honestIds = new HashSet<>();
    List<PeerInfo> honestPeers = new ArrayList<>();
    for (int i = 0; i < honest; i++) {
      PeerInfo p = peer(rng, "10." + (i / 250) + "." + (i % 250) + ".1");
      honestIds.add(p.id());
      honestPeers.add(p);
      t.handle(0, p.id(), p.candidates().get(0).host(), new Message.TrackerRegister(stream, p, 1, false, 5), out);
    }
    // Honest members heartbeat all along; their latest status comes just before the attack.
    for (PeerInfo p : honestPeers) {
      t.handle(sybilDelayNanos, p.id(), p.candidates().get(0).host(), new Message.TrackerRegister(stream, p, 2, false, 5), out);
    }
    Set<PeerId> sybilIds = new HashSet<>();
    int accepted = 0;
    for (int i = 0; i < sybils; i++) {
      String address = "198.51." + (i % attackerAddresses) + ".66";
      PeerInfo p = peer(rng, address);
      replies.clear();
      t.handle(sybilDelayNanos, p.id(), address, new Message.TrackerRegister(stream, p, 1, false, 5), out);
      if (replies.isEmpty()) {
        accepted++;
        sybilIds.add(p.id());
      }
    }
    long intros = 0;
    long bad = 0;
    int eclipsed = 0;
    for (int j = 0; j < newcomers; j++) {
      String address = "172." + (16 + j / 250) + "." + (j % 250) + ".9";
      PeerInfo p = peer(rng, address);
      replies.clear();
      t.handle(sybilDelayNanos + 1_000_000_000L, p.id(), address, new Message.TrackerRegister(stream, p, 1, true, 0), out);
      boolean sawHonest = false;
      for (Message.TrackerMessage m : replies) {
        if (!(m instanceof Message.TrackerPeers peers)) continue;
        for (PeerInfo x : peers.peers()) {
          intros++;
          if (sybilIds.contains(x.id())) bad++;
          if (honestIds.contains(x.id())) sawHonest = true;
        }
      }
      if (!sawHonest) eclipsed++;
    }
    return new Result(honest, sybils, attackerAddresses, accepted, newcomers, intros, bad, eclipsed);
  }

  private static PeerInfo peer(SplittableRandom rng, String host) {
    return new PeerInfo(PeerId.random(rng), 1, List.of(new Candidate(Candidate.Kind.LOCAL, host, 30301)));
  }
}
