package dev.overlay.lan;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.runtime.IntroductionHost;
import dev.overlay.runtime.IntroductionSource;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The node's introductions with LAN discovery on: what its other source says (trackers, seeds or
 * the application's introducer), and the nodes {@link LanDiscovery} found on the LAN that said
 * they are in the stream. A question asked before any such node is known waits for one, up to
 * {@link #WAIT}, so that two nodes started together meet at once instead of at the core's next
 * retry. Everything else goes to the other source.
 */
public final class LanIntroducer implements IntroductionSource {

  /** How long a question waits for the LAN when the other source knows nobody. */
  static final Duration WAIT = Duration.ofSeconds(2);

  private final IntroductionHost host;
  private final IntroductionSource inner;
  private final LanDiscovery lan;
  private final Map<Long, StreamId> joined = new LinkedHashMap<>();
  /** Questions waiting for the LAN, at most one per stream (a newer question replaces the older). */
  private final Map<Long, Question> waiting = new LinkedHashMap<>();

  /** One question: what the other source said, and whether it was answered. */
  private static final class Question {
    final StreamId stream;
    final Consumer<List<PeerInfo>> answer;
    List<PeerInfo> inner;
    boolean timedOut;
    boolean done;

    Question(StreamId stream, Consumer<List<PeerInfo>> answer) {
      this.stream = stream;
      this.answer = answer;
    }
  }

  /** On the loop, in start(): starts discovery at once. */
  public LanIntroducer(IntroductionHost host, IntroductionSource inner, io.netty.channel.EventLoop loop, boolean epoll,
      String serviceType, java.net.NetworkInterface ni, String listenHost) {
    this.host = host;
    this.inner = inner;
    this.lan = new LanDiscovery(loop, epoll, serviceType, ni, listenHost, host::nanoTime, f -> {
      for (Question w : List.copyOf(waiting.values())) {
        if (f.inStream(w.stream.value())) settle(w);
      }
    });
    lan.start(host.self());
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    if (joined.put(stream.value(), stream) == null) lan.streams(joined.keySet());
    Question q = new Question(stream, answer);
    // The core asked again: the older question is dropped unanswered, as trackers drop theirs.
    Question older = waiting.put(stream.value(), q);
    if (older != null) older.done = true;
    inner.introduce(stream, peers -> {
      q.inner = peers;
      settle(q);
    });
    host.after(WAIT, () -> {
      q.timedOut = true;
      waiting.remove(stream.value(), q); // from here on only the other source's answer can settle it
      settle(q);
    });
    settle(q);
  }

  /** Answers once the other source has answered and someone is known, or the wait is over. */
  private void settle(Question q) {
    if (q.done) return;
    List<PeerInfo> local = onLan(q.stream);
    boolean innerDone = q.inner != null;
    boolean ready = innerDone && (!q.inner.isEmpty() || !local.isEmpty() || q.timedOut) || (q.timedOut && !local.isEmpty());
    if (!ready) return;
    q.done = true;
    waiting.remove(q.stream.value(), q);
    Map<PeerId, PeerInfo> all = new LinkedHashMap<>();
    if (innerDone) {
      for (PeerInfo p : q.inner) {
        if (p != null) all.putIfAbsent(p.id(), p);
      }
    }
    for (PeerInfo p : local) all.putIfAbsent(p.id(), p);
    q.answer.accept(List.copyOf(all.values()));
  }

  private List<PeerInfo> onLan(StreamId stream) {
    List<PeerInfo> out = new ArrayList<>();
    for (LanDiscovery.Found f : lan.found()) {
      if (f.inStream(stream.value())) out.add(f.peer());
    }
    return out;
  }

  @Override
  public void left(StreamId stream) {
    if (joined.remove(stream.value()) != null) lan.streams(joined.keySet());
    inner.left(stream);
  }

  @Override
  public void closing() {
    lan.close(true);
    inner.closing();
  }

  @Override
  public void crashed() {
    lan.close(false); // no goodbye, as a crash sends none; but no socket and tick left on a shared loop
    inner.crashed();
  }

  @Override
  public Map<String, Long> counters() {
    Map<String, Long> m = new LinkedHashMap<>(inner.counters());
    m.putAll(lan.counters());
    return m;
  }

  // ---- The rest is the other source's --------------------------------------------------------

  @Override
  public void linkUp(PeerInfo peer) {
    inner.linkUp(peer);
  }

  @Override
  public void seedFound(InetSocketAddress address, PeerInfo peer) {
    inner.seedFound(address, peer);
  }

  @Override
  public void seedFailed(InetSocketAddress address, String reason) {
    inner.seedFailed(address, reason);
  }

  @Override
  public boolean isInfrastructure(PeerId peer) {
    return inner.isInfrastructure(peer);
  }

  @Override
  public boolean namesStorageNodes() {
    return inner.namesStorageNodes();
  }

  @Override
  public void linkDown(PeerId peer, String reason) {
    inner.linkDown(peer, reason);
  }

  @Override
  public void received(PeerId from, Message.TrackerMessage message) {
    inner.received(from, message);
  }

  @Override
  public boolean requestPunch(PeerId peer) {
    return inner.requestPunch(peer);
  }

  @Override
  public boolean requestRelay(PeerId peer) {
    return inner.requestRelay(peer);
  }
}
