package dev.overlay.transport;

import java.net.InetSocketAddress;

/**
 * Opens an outbound connection for a dial. A connection that never becomes active is closed
 * with {@link CloseReason#CONNECT_FAILED} and reported like any other close; one that does is
 * the handler's from then on. A seam: {@link TcpConnector} in production, a recorder in tests.
 */
interface Connector {

  void connect(InetSocketAddress address, LinkHandler handler);

  /**
   * Opens a connection to {@code remote} from {@code local} (the node's listening address, bound
   * with SO_REUSEADDR and SO_REUSEPORT) while the peer does the same towards us: TCP
   * simultaneous open through two NATs. TLS takes the client role when {@code handler} is the
   * dialer, the server role otherwise.
   */
  default void connectFrom(InetSocketAddress local, InetSocketAddress remote, LinkHandler handler) {
    throw new UnsupportedOperationException("this connector does not punch holes");
  }

  /**
   * Opens a connection to a relay and presents {@code token} before anything else; the relay
   * joins it to the peer's connection with the same token, and TLS runs end to end through it
   * (client role when {@code handler} is the dialer).
   */
  default void connectRelay(InetSocketAddress relay, byte[] token, LinkHandler handler) {
    throw new UnsupportedOperationException("this connector does not use relays");
  }

  /** The node is closing: release what the connector holds (its resolver). */
  default void close() {}
}
