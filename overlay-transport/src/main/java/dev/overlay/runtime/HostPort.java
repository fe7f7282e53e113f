package dev.overlay.runtime;

import dev.overlay.core.PeerId;
import java.net.InetSocketAddress;
import java.util.HexFormat;

/**
 * A seed or tracker as the application writes it: {@code host:port}, or
 * {@code <peer-id>@host:port} to pin the key the peer must prove (64 hex digits, as
 * {@code PeerId.toHex()} prints it). IPv6 literals go in brackets: {@code [2001:db8::1]:30300}.
 */
public record HostPort(String host, int port, PeerId pinned) {

  /** Parses and checks it; {@code what} names it in the error ("seed", "tracker"). */
  public static HostPort parse(String text, String what) {
    if (text == null) throw new IllegalArgumentException("a " + what + " is host:port, got null");
    PeerId pinned = null;
    String hp = text;
    int at = text.indexOf('@');
    if (at >= 0) {
      String hex = text.substring(0, at);
      if (hex.length() != 2 * PeerId.BYTES) {
        throw new IllegalArgumentException("a pinned " + what + " is <64 hex digits>@host:port, got '" + text + "'");
      }
      try {
        pinned = PeerId.fromBytes(HexFormat.of().parseHex(hex));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("a pinned " + what + "'s id must be 64 hex digits, got '" + hex + "'");
      }
      hp = text.substring(at + 1);
    }
    int colon = hp.lastIndexOf(':');
    int port;
    try {
      port = colon <= 0 ? -1 : Integer.parseInt(hp.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) throw new IllegalArgumentException("a " + what + " is host:port, got '" + text + "'");
    String host = hp.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    if (host.isEmpty()) throw new IllegalArgumentException("a " + what + " is host:port, got '" + text + "'");
    return new HostPort(host, port, pinned);
  }

  /** {@code host:port} without the pin: what rendezvous hashing orders trackers by. */
  public String hostPort() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  /** Unresolved: the link layer resolves names without blocking its loop. */
  public InetSocketAddress address() {
    return InetSocketAddress.createUnresolved(host, port);
  }
}
