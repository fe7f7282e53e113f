package dev.overlay.bench.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.overlay.core.PeerId;
import dev.overlay.protocol.Message;
import dev.overlay.tracker.TrackerConfig;
import dev.overlay.tracker.TrackerState;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fuzz target: a tracker fed what arbitrary nodes send, from arbitrary addresses, at arbitrary
 * times. Every request is answered at most once, nothing throws, and the tracker's tables stay
 * consistent and within their caps (small caps here, so that the fuzzer reaches them).
 */
public final class TrackerFuzz {

  private static final TrackerConfig CONFIG = TrackerConfig.builder().maxStreams(8).maxMembersPerStream(8).maxRegistrations(24)
      .maxStreamsPerNode(4).maxRegistrationsPerAddress(12).maxIdentitiesPerAddressPerStream(5).maxRateLimitedNodes(16)
      .requestBurst(20).registrationTtl(Duration.ofSeconds(10)).establishedAge(Duration.ofSeconds(2)).build();

  private TrackerFuzz() {}

  public static void fuzzerTestOneInput(FuzzedDataProvider data) {
    TrackerState t = new TrackerState(CONFIG, new SplittableRandom(data.consumeLong()));
    List<PeerId> nodes = Pool.peers(6);
    long now = 0;
    int[] answers = new int[1];
    TrackerState.Replies out = (to, m) -> answers[0]++;
    for (int step = 0; step < 64 && data.remainingBytes() > 0; step++) {
      now += data.consumeLong(0, 20_000_000_000L);
      Message.TrackerMessage m = message(data, nodes);
      if (m == null) continue;
      PeerId from = data.consumeBoolean() ? nodes.get(data.consumeInt(0, nodes.size() - 1)) : Pool.peerOf(m);
      answers[0] = 0;
      t.handle(now, from, Pool.address(data), m, out);
      if (answers[0] > 1) throw new IllegalStateException("one request, " + answers[0] + " answers");
      if (data.consumeBoolean()) t.expire(now);
      List<String> v = t.invariantViolations();
      if (!v.isEmpty()) throw new IllegalStateException("after " + m + ": " + v);
    }
  }

  private static Message.TrackerMessage message(FuzzedDataProvider data, List<PeerId> nodes) {
    if (data.consumeBoolean()) { // raw bytes through the tracker's decoder
      try {
        Message m = WireCodec.decode(data.consumeBytes(data.consumeInt(0, 300)));
        return m instanceof Message.TrackerMessage tm ? tm : null;
      } catch (WireException e) {
        return null;
      }
    }
    return Pool.trackerMessage(data, nodes);
  }
}
