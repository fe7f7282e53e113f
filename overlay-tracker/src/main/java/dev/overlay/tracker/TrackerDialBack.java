package dev.overlay.tracker;

import dev.overlay.core.PeerId;
import dev.overlay.identity.PeerVerifier;
import dev.overlay.identity.TlsContexts;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * The tracker's answer to "can you reach me?" (libp2p's AutoNAT idea): it connects to the node's
 * candidates at the address the node talks to it from, runs TLS until the node has proved its key,
 * and closes, sending nothing else. A node that is reached there is publicly reachable; one that
 * is not needs hole punching or a relay. On the tracker's loop; at most {@link #MAX_IN_FLIGHT}
 * checks at once and one per node, up to 6 s per address (3 s to connect, 3 s of TLS); a slot is
 * free again once the connection has closed.
 */
final class TrackerDialBack implements TrackerState.DialBack {

  static final int MAX_IN_FLIGHT = 32;
  private static final int TIMEOUT_MILLIS = 3_000;

  private final EventLoop loop;
  private final Class<? extends SocketChannel> socket;
  private final TlsContexts tls;
  private int inFlight;
  private final java.util.Set<PeerId> checking = new java.util.HashSet<>();
  long checks;
  long reached;
  long refusedBusy;

  /** Every check's connection while open, for {@link #close}; one added after it is closed at once. */
  private final io.netty.channel.group.ChannelGroup connections;
  private boolean closed;

  TrackerDialBack(EventLoop loop, Class<? extends SocketChannel> socket, TlsContexts tls) {
    this.loop = loop;
    this.socket = socket;
    this.tls = tls;
    this.connections = new io.netty.channel.group.DefaultChannelGroup("dial-backs", loop, true);
  }

  /**
   * On the loop, at the tracker's close: closes every check's connection, and no check goes on
   * to its next address or starts. Done when all are closed.
   */
  io.netty.util.concurrent.Future<Void> close() {
    closed = true;
    return connections.close();
  }

  @Override
  public void check(PeerId node, List<InetSocketAddress> addresses, BiConsumer<String, String> done) {
    if (closed) {
      done.accept(null, "the tracker is closing");
      return;
    }
    if (inFlight >= MAX_IN_FLIGHT || checking.contains(node)) {
      refusedBusy++;
      done.accept(null, inFlight >= MAX_IN_FLIGHT ? "the tracker is checking " + MAX_IN_FLIGHT + " nodes already: ask again later"
          : "a check of this node is under way");
      return;
    }
    inFlight++;
    checking.add(node);
    checks++;
    attempt(node, addresses, 0, "no address", done);
  }

  private void attempt(PeerId node, List<InetSocketAddress> addresses, int i, String lastError, BiConsumer<String, String> done) {
    if (closed) { // the tracker's close ended this check's connection: no next address
      inFlight--;
      checking.remove(node);
      done.accept(null, "the tracker is closing");
      return;
    }
    if (i >= addresses.size()) {
      inFlight--;
      checking.remove(node);
      done.accept("", "not reached: " + lastError);
      return;
    }
    InetSocketAddress a = addresses.get(i);
    String where = a.getAddress().getHostAddress() + ":" + a.getPort();
    SslHandler[] ssl = new SslHandler[1];
    new Bootstrap().group(loop).channel(socket)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, TIMEOUT_MILLIS)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.add(ch);
            ssl[0] = tls.client().newHandler(ch.alloc(), a.getAddress().getHostAddress(), a.getPort());
            ssl[0].setHandshakeTimeoutMillis(TIMEOUT_MILLIS);
            ssl[0].setCloseNotifyFlushTimeoutMillis(dev.overlay.transport.LinkManager.CLOSE_FLUSH_MILLIS);
            ch.pipeline().addLast(ssl[0]).addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                io.netty.util.ReferenceCountUtil.release(msg); // the node's HELLO: not wanted
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close(); // the handshake future reports it
              }
            });
          }
        })
        .connect(a).addListener((ChannelFutureListener) f -> {
          if (!f.isSuccess()) {
            attempt(node, addresses, i + 1, where + ": " + f.cause().getMessage(), done);
            return;
          }
          Channel ch = f.channel();
          ssl[0].handshakeFuture().addListener(h -> {
            String error;
            if (!h.isSuccess()) {
              error = where + ": TLS failed: " + h.cause().getMessage();
            } else {
              try {
                error = PeerVerifier.peerIdOf(ssl[0].engine().getSession()).equals(node) ? null : where + ": another key answered there";
              } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException e) {
                error = where + ": no key proved: " + e.getMessage();
              }
            }
            String result = error;
            // The slot is free once the socket is: a close-notify may take a moment to flush.
            ch.close().addListener(closed -> {
              if (result != null) {
                attempt(node, addresses, i + 1, result, done);
                return;
              }
              inFlight--;
              checking.remove(node);
              reached++;
              done.accept(where, "reached at " + where + ", where the node proved its key");
            });
          });
        });
  }
}
