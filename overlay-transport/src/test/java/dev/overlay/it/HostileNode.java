package dev.overlay.it;

import dev.overlay.NodeIdentity;
import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.identity.EcdsaSignatures;
import dev.overlay.identity.TlsContexts;
import dev.overlay.protocol.Message;
import dev.overlay.transport.LinkManager;
import dev.overlay.transport.WireFrames;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An attacker built from the library's own link layer: a real identity, real TLS, real frames,
 * and no protocol core, so it sends whatever it is told to. It listens too, and keeps the last
 * real DATA it was sent by each peer (to replay them altered) and counts what it receives.
 */
public final class HostileNode implements LinkManager.Listener, AutoCloseable {

  public final NodeIdentity identity = NodeIdentity.generate();
  public final EcdsaSignatures signatures = new EcdsaSignatures(identity);
  public final PeerInfo self;
  private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoop loop = group.next();
  private final LinkManager links;
  private final InetSocketAddress address;
  public final Set<PeerId> up = ConcurrentHashMap.newKeySet();
  public final AtomicLong dataReceived = new AtomicLong();
  public final AtomicLong linksLost = new AtomicLong();
  /** The newest real DATA seen (with its seal, as it came). */
  public volatile Message.Data lastData;

  public HostileNode() throws Exception {
    links = new LinkManager(loop, TransportConfig.builder().maxDialsPerSecond(10_000).maxDialsInProgress(10_000).build(),
        new TlsContexts(identity, true), NioSocketChannel.class, NioServerSocketChannel.class, new SplittableRandom(1), this);
    address = links.bind(new InetSocketAddress("127.0.0.1", 0));
    self = new PeerInfo(identity.peerId(), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", address.getPort())));
    on(() -> {
      links.self(self);
      return null;
    });
  }

  private <T> T on(Callable<T> task) throws Exception {
    return loop.submit(task).get(30, TimeUnit.SECONDS);
  }

  /** Links to the peer (again, if it cut us off) and waits until the link is up. */
  public void link(PeerInfo peer) throws Exception {
    if (up.contains(peer.id())) return;
    on(() -> {
      links.connect(peer);
      return null;
    });
    dev.overlay.testing.Await.until(java.time.Duration.ofSeconds(30), () -> up.contains(peer.id()), () -> "linked to " + peer.id());
  }

  /** Sends {@code m} to {@code peer} as it is. */
  public void send(PeerId peer, Message m) throws Exception {
    ByteBuf frame = WireFrames.encode(LinkManager.ALLOCATOR, m);
    sendRaw(peer, frame);
  }

  /** Sends a frame's bytes (its length prefix included) as they are; takes the buffer. */
  public void sendRaw(PeerId peer, ByteBuf frame) throws Exception {
    on(() -> {
      try {
        links.send(peer, frame, true);
      } finally {
        frame.release();
      }
      return null;
    });
  }

  /** Becomes a neighbour of {@code peer} in {@code stream}: a high-priority request is always taken (within budget). */
  public void befriend(PeerInfo peer, StreamId stream) throws Exception {
    link(peer);
    send(peer.id(), new Message.Neighbor(stream, self, true));
  }

  @Override
  public void linkUp(PeerId peer, PeerInfo info) {
    up.add(peer);
  }

  @Override
  public void linkDown(PeerId peer, String reason) {
    up.remove(peer);
    linksLost.incrementAndGet();
  }

  @Override
  public void dialFailed(PeerId peer, String reason) {}

  @Override
  public void received(PeerId peer, Message message, int frameBytes) {
    if (message instanceof Message.Data d) {
      dataReceived.incrementAndGet();
      if (d.sealOnWire()) lastData = d;
    }
  }

  @Override
  public void event(TransportEvent event) {}

  @Override
  public void close() throws Exception {
    var closed = on(links::shutdown);
    closed.awaitUninterruptibly(5, TimeUnit.SECONDS); // the loop stops only then: see LinkManager.allClosed
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  static Set<PeerId> ids(List<PeerInfo> infos) {
    Set<PeerId> s = new HashSet<>();
    for (PeerInfo p : infos) s.add(p.id());
    return Collections.unmodifiableSet(s);
  }
}
