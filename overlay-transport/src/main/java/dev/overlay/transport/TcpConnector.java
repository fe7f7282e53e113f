package dev.overlay.transport;

import dev.overlay.config.TransportConfig;
import dev.overlay.identity.TlsContexts;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Opens TCP connections on the node's loop with the node's socket options, TLS as the client,
 * and the node's pipeline.
 *
 * <p>Names in a peer's candidates are resolved by Netty's asynchronous DNS resolver on the loop,
 * never by a blocking lookup: a peer advertising a slow name cannot stall the node.
 */
final class TcpConnector implements Connector {

  /** Installs the node's pipeline on a new channel: TLS, framing, keep-alive, the link's handler. */
  interface Pipeline {
    void init(Channel ch, SslHandler ssl, LinkHandler handler);
  }

  private final EventLoop loop;
  private final TransportConfig config;
  private final TlsContexts tls;
  private final Class<? extends SocketChannel> socketChannel;
  private final Pipeline pipeline;
  private final Consumer<LinkHandler> failed;
  private final DnsAddressResolverGroup resolver;

  /** @param failed reports a connection that never became active (channelInactive will not) */
  TcpConnector(EventLoop loop, TransportConfig config, TlsContexts tls, Class<? extends SocketChannel> socketChannel,
      Pipeline pipeline, Consumer<LinkHandler> failed) {
    this.loop = loop;
    this.config = config;
    this.tls = tls;
    this.socketChannel = socketChannel;
    this.pipeline = pipeline;
    this.failed = failed;
    Class<? extends DatagramChannel> udp = socketChannel == EpollSocketChannel.class ? EpollDatagramChannel.class : NioDatagramChannel.class;
    this.resolver = new DnsAddressResolverGroup(udp, DnsServerAddressStreamProviders.platformDefault());
  }

  @Override
  public void connect(InetSocketAddress address, LinkHandler handler) {
    bootstrap(address, handler, config.connectTimeoutNanos(), false, null).connect(address).addListener(failedIfNot(address, handler));
  }

  @Override
  public void connectRelay(InetSocketAddress relay, byte[] token, LinkHandler handler) {
    bootstrap(relay, handler, config.connectTimeoutNanos(), false, token).connect(relay).addListener(failedIfNot(relay, handler));
  }

  @Override
  public void connectFrom(InetSocketAddress local, InetSocketAddress remote, LinkHandler handler) {
    // The peer's SYN must find our own SYN_SENT socket on the same 4-tuple, so the connection
    // leaves from the listening port; both sockets carry SO_REUSEPORT (the listening one since
    // its bind). Short: the peer connects at the same moment or not at all.
    bootstrap(remote, handler, Math.min(config.connectTimeoutNanos(), PUNCH_CONNECT_TIMEOUT_NANOS), true, null)
        .connect(remote, local).addListener(failedIfNot(remote, handler));
  }

  /** How long one punched connection may take: a SYN lost before the peer's NAT opened is resent after 1 s. */
  static final long PUNCH_CONNECT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(3);

  /** @param relayToken when not null, the connection is to a relay, which is shown this token first */
  private Bootstrap bootstrap(InetSocketAddress address, LinkHandler handler, long timeoutNanos, boolean reusePort, byte[] relayToken) {
    Bootstrap b = new Bootstrap().group(loop);
    if (reusePort) dev.overlay.nat.ReusePort.channel(b, socketChannel);
    else b.channel(socketChannel);
    return b
        .resolver(resolver)
        .option(ChannelOption.ALLOCATOR, LinkManager.ALLOCATOR)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_RCVBUF, config.socketReceiveBufferBytes() > 0 ? config.socketReceiveBufferBytes() : null)
        .option(io.netty.channel.epoll.EpollChannelOption.TCP_NOTSENT_LOWAT, unsentLowWater(config, socketChannel))
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) TimeUnit.NANOSECONDS.toMillis(timeoutNanos))
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(config.writeBufferLowWaterMark(), config.writeBufferHighWaterMark()))
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // A dial is TLS's client; of a punched pair, the side the handler names the dialer.
            SslHandler ssl = handler.dialer() ? tls.client().newHandler(ch.alloc(), address.getHostString(), address.getPort())
                : tls.server().newHandler(ch.alloc());
            pipeline.init(ch, ssl, handler);
            if (relayToken != null) ch.pipeline().addFirst(new dev.overlay.nat.RelayPreface(relayToken));
          }
        });
  }

  private ChannelFutureListener failedIfNot(InetSocketAddress address, LinkHandler handler) {
    return f -> {
      if (!f.isSuccess()) {
        // The channel never became active, so channelInactive will not report it: do it here.
        handler.close(CloseReason.CONNECT_FAILED, "connect to " + address.getHostString() + ":" + address.getPort() + " failed: " + f.cause().getMessage());
        failed.accept(handler);
      }
    };
  }

  /** SO_REUSEPORT for a listening socket of the channel class: epoll's own option, or the JDK's through NIO. */
  static ChannelOption<Boolean> reusePort(Class<?> serverChannelClass) {
    return serverChannelClass.getName().startsWith("io.netty.channel.epoll.") ? io.netty.channel.epoll.EpollChannelOption.SO_REUSEPORT
        : io.netty.channel.socket.nio.NioChannelOption.of(java.net.StandardSocketOptions.SO_REUSEPORT);
  }

  @Override
  public void close() {
    resolver.close();
  }

  /** TCP_NOTSENT_LOWAT for epoll channels, or null (no such option for NIO). */
  static Long unsentLowWater(TransportConfig config, Class<?> channelClass) {
    boolean epoll = channelClass.getName().startsWith("io.netty.channel.epoll.");
    return epoll && config.unsentLowWaterBytes() > 0 ? (long) config.unsentLowWaterBytes() : null;
  }
}
