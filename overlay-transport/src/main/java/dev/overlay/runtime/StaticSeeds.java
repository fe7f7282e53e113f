package dev.overlay.runtime;

import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Introductions from a fixed list of seed nodes: every stream's members are introduced to the
 * seeds, and HyParView spreads them from there. Seeds given by address are dialled once to learn
 * their ids. For small fixed networks and tests; trackers ({@link TrackerIntroducer}) are the general way.
 */
public final class StaticSeeds implements IntroductionSource {

  private final IntroductionHost runtime;
  private final List<HostPort> seeds;
  private final List<InetSocketAddress> addresses;
  private final Map<InetSocketAddress, PeerInfo> found = new LinkedHashMap<>();
  private final List<PeerInfo> known = new ArrayList<>();
  private final Set<InetSocketAddress> dialling = new LinkedHashSet<>();
  private final List<Runnable> waiting = new ArrayList<>();

  public StaticSeeds(IntroductionHost runtime, List<HostPort> seeds, List<PeerInfo> peers) {
    this.runtime = runtime;
    this.seeds = List.copyOf(seeds);
    this.addresses = seeds.stream().map(HostPort::address).toList();
    this.known.addAll(peers);
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    for (HostPort seed : seeds) {
      InetSocketAddress a = seed.address();
      if (!found.containsKey(a) && dialling.add(a)) runtime.dialSeed(a, seed.pinned());
    }
    if (!dialling.isEmpty() && seeds().isEmpty()) {
      waiting.add(() -> answer.accept(seeds())); // answer once a seed is reached (or none can be)
    } else {
      answer.accept(seeds());
    }
  }

  @Override
  public void seedFound(InetSocketAddress address, PeerInfo peer) {
    dialling.remove(address);
    found.put(address, peer);
    answerWaiting();
  }

  @Override
  public void seedFailed(InetSocketAddress address, String reason) {
    dialling.remove(address);
    if (dialling.isEmpty()) answerWaiting();
  }

  private void answerWaiting() {
    List<Runnable> w = new ArrayList<>(waiting);
    waiting.clear();
    w.forEach(Runnable::run);
  }

  private List<PeerInfo> seeds() {
    List<PeerInfo> out = new ArrayList<>(known);
    out.addAll(found.values());
    PeerInfo self = runtime.self();
    out.removeIf(p -> self != null && p.id().equals(self.id()));
    return out;
  }
}
