package dev.overlay.transport;

import java.net.InetSocketAddress;

/**
 * Opens an outbound connection for a dial. A connection that never becomes active is closed
 * with {@link CloseReason#CONNECT_FAILED} and reported like any other close; one that does is
 * the handler's from then on. A seam: {@link TcpConnector} in production, a recorder in tests.
 */
interface Connector {

  void connect(InetSocketAddress address, LinkHandler handler);

  /** The node is closing: release what the connector holds (its resolver). */
  default void close() {}
}
