package dev.overlay.nat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import java.io.IOException;
import java.net.StandardSocketOptions;

/**
 * Outbound TCP sockets that may share the node's listening port (SO_REUSEADDR and SO_REUSEPORT
 * before the bind): a STUN question asked from that port learns its NAT mapping, and a hole
 * punch must leave from it. Epoll's client channels do not take SO_REUSEPORT as a channel
 * option (only its server and datagram channels do), so their socket is set directly.
 */
public final class ReusePort {

  private ReusePort() {}

  /**
   * Gives {@code b} its channels, of {@code channelClass}, bound with SO_REUSEADDR and
   * SO_REUSEPORT: in place of {@code b.channel(channelClass)}.
   */
  public static Bootstrap channel(Bootstrap b, Class<? extends SocketChannel> channelClass) {
    b.option(ChannelOption.SO_REUSEADDR, true);
    if (channelClass == EpollSocketChannel.class) {
      return b.channelFactory(() -> {
        EpollSocketChannel ch = new EpollSocketChannel();
        try {
          ((io.netty.channel.unix.Socket) ch.fd()).setReusePort(true);
        } catch (IOException e) {
          ch.unsafe().closeForcibly();
          throw new ChannelException("SO_REUSEPORT refused", e);
        }
        return ch;
      });
    }
    return b.channel(channelClass).option(NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT), true);
  }
}
