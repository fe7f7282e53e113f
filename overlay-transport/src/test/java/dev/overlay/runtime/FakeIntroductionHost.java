package dev.overlay.runtime;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A node as an introducer sees it ({@link IntroductionHost}), for tests: it records what the
 * introducer asks of it, and time moves only when the test says.
 */
final class FakeIntroductionHost implements IntroductionHost {

  record Sent(PeerId to, Message.TrackerMessage message) {}

  record After(Duration delay, Runnable task) {}

  final PeerInfo self = new PeerInfo(PeerId.random(new SplittableRandom(2)), 1,
      List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 8000)));
  final List<Sent> sent = new ArrayList<>();
  final List<InetSocketAddress> dialled = new ArrayList<>();
  final List<PeerId> closed = new ArrayList<>();
  final List<PeerId> linked = new ArrayList<>();
  final List<Runnable> every = new ArrayList<>();
  final List<After> after = new ArrayList<>();
  /** The punches the introducer passed on: "punch <id> <delay ms>" or "refused <id> <detail>". */
  final List<String> punches = new ArrayList<>();
  /** The protocol version every link speaks. */
  int version = dev.overlay.wire.WireCodec.PROTOCOL_VERSION;
  long now = 1_000_000_000L;

  void runEvery() {
    every.forEach(Runnable::run);
  }

  @Override
  public PeerInfo self() {
    return self;
  }

  @Override
  public long nanoTime() {
    return now;
  }

  @Override
  public int neighborCount(StreamId stream) {
    return 0;
  }

  @Override
  public String streamName(StreamId stream) {
    return stream.toString();
  }

  @Override
  public void sendTracker(PeerId to, Message.TrackerMessage message) {
    sent.add(new Sent(to, message));
  }

  @Override
  public boolean isLinked(PeerId peer) {
    return linked.contains(peer);
  }

  @Override
  public void dialSeed(InetSocketAddress address, PeerId pinned) {
    dialled.add(address);
  }

  @Override
  public void closeLink(PeerId peer) {
    closed.add(peer);
    linked.remove(peer);
  }

  @Override
  public void every(Duration period, Runnable task) {
    every.add(task);
  }

  @Override
  public void after(Duration delay, Runnable task) {
    after.add(new After(delay, task));
  }

  /** At once, not after the caller's turn as the node does: the introducers tested here do not rely on the difference. */
  @Override
  public void execute(Runnable task) {
    task.run();
  }

  @Override
  public int protocolVersion(PeerId peer) {
    return linked.contains(peer) ? version : 0;
  }

  @Override
  public void punch(PeerInfo peer, Duration delay) {
    punches.add("punch " + peer.id() + " " + delay.toMillis());
  }

  @Override
  public void punchRefused(PeerId peer, String detail) {
    punches.add("refused " + peer + " " + detail);
  }

  @Override
  public void relay(PeerInfo peer, InetSocketAddress relay, byte[] token) {
    punches.add("relay " + peer.id() + " " + relay.getHostString() + ":" + relay.getPort());
  }

  @Override
  public String remoteHost(PeerId peer) {
    return linked.contains(peer) ? "203.0.113.10" : "";
  }

  /** Whether the node traverses NATs (reachability is then asked of trackers). */
  boolean nat;
  final List<String> reachability = new ArrayList<>();

  @Override
  public boolean natTraversal() {
    return nat;
  }

  @Override
  public void reachability(Message.Reachability.Outcome outcome, String reached, String detail) {
    reachability.add(outcome + " " + reached + " " + detail);
  }
}
