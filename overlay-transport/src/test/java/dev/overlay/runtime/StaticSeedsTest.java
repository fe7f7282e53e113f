package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Introductions from a fixed list: seeds by address are dialled once to learn who they are. */
class StaticSeedsTest {

  private static final SplittableRandom IDS = new SplittableRandom(9);
  private static final StreamId S = StreamId.of("s");
  private final FakeIntroductionHost host = new FakeIntroductionHost();
  private final PeerInfo self = host.self;
  private final List<InetSocketAddress> dialled = host.dialled;
  private final List<List<PeerInfo>> answers = new ArrayList<>();

  private static PeerInfo peer(int port) {
    return new PeerInfo(PeerId.random(IDS), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", port)));
  }

  private StaticSeeds seeds(List<String> addresses, List<PeerInfo> known) {
    return new StaticSeeds(host, addresses.stream().map(a -> HostPort.parse(a, "seed")).toList(), known);
  }

  @Test
  void knownSeedsAreTheAnswerAtOnceWithoutThisNode() {
    PeerInfo other = peer(2);
    seeds(List.of(), List.of(other, self)).introduce(S, answers::add);
    assertThat(answers).containsExactly(List.of(other));
    assertThat(dialled).isEmpty();
  }

  @Test
  void aSeedByAddressIsDialledOnceAndTheAnswerWaitsUntilItIsFound() {
    StaticSeeds seeds = seeds(List.of("127.0.0.1:7000"), List.of());
    seeds.introduce(S, answers::add);
    seeds.introduce(S, answers::add);
    assertThat(dialled).hasSize(1);
    assertThat(answers).as("nobody to introduce yet").isEmpty();

    PeerInfo found = peer(7000);
    seeds.seedFound(dialled.get(0), found);

    assertThat(answers).containsExactly(List.of(found), List.of(found));
    seeds.introduce(S, answers::add);
    assertThat(dialled).as("known now: not dialled again").hasSize(1);
  }

  @Test
  void whenNoSeedCanBeReachedTheWaitIsAnsweredEmpty() {
    StaticSeeds seeds = seeds(List.of("127.0.0.1:7000", "127.0.0.1:7001"), List.of());
    seeds.introduce(S, answers::add);
    seeds.seedFailed(dialled.get(0), "refused");
    assertThat(answers).as("one seed still being dialled").isEmpty();
    seeds.seedFailed(dialled.get(1), "refused");
    assertThat(answers).containsExactly(List.of());
  }
}
