package dev.overlay.bench.jmh;

import dev.overlay.config.NodeConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.node.NodeState;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The protocol core handling one new data message on a node with 5 neighbours, all eager: the
 * message arrives from one, is checked against the seen set, delivered, cached, and forwarded
 * to the other 4 (the Outbox here only counts). {@code handleData} includes making the message
 * and its event, as the decoder and runtime do ({@code allocateOnly} measures that part alone);
 * {@code handleDuplicate} is a copy already seen (dedup only). Publishers do not sign here
 * (AuthConfig.off): authentication is measured on its own, in {@code AuthBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CoreDataBenchmark {

  static final StreamId STREAM = StreamId.of("telemetry");

  /** Counts what the core asks for; allocates nothing. */
  static final class CountingOutbox implements Outbox {
    long sends;
    long deliveries;

    @Override
    public void send(PeerId to, Message message) {
      sends++;
    }

    @Override
    public void connect(PeerInfo peer) {}

    @Override
    public void disconnect(PeerId peer) {}

    @Override
    public void schedule(Timer timer, long delayNanos) {}

    @Override
    public void deliver(Message.Data message) {
      deliveries++;
    }

    @Override
    public void emit(OverlayEvent event) {}

    @Override
    public void requestIntroductions(StreamId stream) {}

    @Override
    public void published(PublishResult result) {}
  }

  private final CountingOutbox out = new CountingOutbox();
  private NodeState node;
  private PeerId from;
  private PeerId publisher;
  private byte[] payload;
  private long seq;
  private long now = 1_000_000_000L;
  private Event.Received duplicate;

  private static PeerInfo info(int i) {
    byte[] id = new byte[32];
    id[0] = (byte) i;
    return new PeerInfo(PeerId.fromBytes(id), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "10.0.0." + i, 30301)));
  }

  @Setup(Level.Trial)
  public void setUp() {
    node = new NodeState(NodeConfig.builder().auth(dev.overlay.config.AuthConfig.off()).build(), info(1), new SplittableRandom(1), out);
    node.start(now);
    node.handle(now, new Event.JoinStream(STREAM));
    for (int p = 2; p <= 6; p++) {
      node.handle(now, new Event.PeerConnected(info(p).id()));
      node.handle(now, new Event.Received(info(p).id(), new Message.Neighbor(STREAM, info(p), true)));
    }
    from = info(2).id();
    publisher = info(99).id();
    payload = new byte[100];
    now += 1_000_000_000L; // past the prune grace period of the new links
    duplicate = new Event.Received(from, new Message.Data(STREAM, publisher, 7, 1, 2, payload));
    node.handle(now, duplicate);
    seq = 1;
  }

  @Benchmark
  public long handleData() {
    now += 10_000; // 100,000 msg/s
    node.handle(now, new Event.Received(from, new Message.Data(STREAM, publisher, 7, ++seq, 2, payload)));
    return out.sends;
  }

  @Benchmark
  public long handleDuplicate() {
    now += 10_000;
    node.handle(now, duplicate);
    return out.sends;
  }

  @Benchmark
  public void allocateOnly(Blackhole bh) {
    bh.consume(new Event.Received(from, new Message.Data(STREAM, publisher, 7, ++seq, 2, payload)));
  }
}
