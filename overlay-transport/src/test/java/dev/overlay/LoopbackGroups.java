package dev.overlay;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which group each of this process's loopback nodes, and each connection between them, belongs
 * to: for test-only channel handlers (through {@code OverlayNode.Builder.channelHook}) that treat
 * links between groups differently, as a cut or a distant region would.
 */
final class LoopbackGroups {

  private final Map<Integer, Integer> byListeningPort = new ConcurrentHashMap<>();
  /**
   * Which group dialled each connection, by (dialler's port, listening port): Linux may give two
   * connections to different destinations the same source port, so the port alone is not enough.
   */
  private final Map<Long, Integer> byDial = new ConcurrentHashMap<>();

  void node(OverlayNode n, int group) {
    byListeningPort.put(n.address().getPort(), group);
  }

  /**
   * Called from a handler's channelActive, before TLS (after it in the pipeline) writes its first
   * byte: a connection this node dialled is registered, so the acceptor's first read can tell which
   * group dialled.
   */
  void active(Channel ch, int group) {
    int local = ((InetSocketAddress) ch.localAddress()).getPort();
    int remote = ((InetSocketAddress) ch.remoteAddress()).getPort();
    if (byListeningPort.containsKey(remote)) byDial.put(pair(local, remote), group);
  }

  /** The group of the node at the other end, or null if unknown. */
  Integer otherSide(Channel ch) {
    int local = ((InetSocketAddress) ch.localAddress()).getPort();
    int remote = ((InetSocketAddress) ch.remoteAddress()).getPort();
    Integer other = byListeningPort.get(remote);
    return other != null ? other : byDial.get(pair(remote, local));
  }

  private static long pair(int dialPort, int listenPort) {
    return ((long) dialPort << 32) | listenPort;
  }

  /** Two loop threads of the kind the nodes' channels need. */
  static EventLoopGroup loops() {
    return new MultiThreadIoEventLoopGroup(2, Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  /** Closes every node, the others too when one fails. */
  static void closeAll(List<OverlayNode> nodes) {
    for (OverlayNode n : nodes) {
      try {
        n.close();
      } catch (RuntimeException e) {
        e.printStackTrace();
      }
    }
  }
}
