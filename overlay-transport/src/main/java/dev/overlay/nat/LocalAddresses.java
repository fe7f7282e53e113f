package dev.overlay.nat;

import dev.overlay.core.PeerInfo;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Which of the host's addresses a node listening on a wildcard (0.0.0.0 or ::) advertises as
 * its local candidates, when the application names none ({@code advertise}). A wildcard itself
 * names nothing a peer could dial; every address a peer elsewhere might reach is offered
 * instead, and the peer's dialler races them (Happy Eyeballs), so an address that does not
 * work from there costs it a quarter of a second. With IPv6, a host with a global address is
 * reachable without any hole punching.
 */
public final class LocalAddresses {

  /** Local candidates at most: room is left for a reflexive and a relay candidate. */
  public static final int MAX = PeerInfo.MAX_CANDIDATES - 2;

  private LocalAddresses() {}

  /**
   * The host's addresses a peer could dial, IPv4 first and then alternating with IPv6, at most
   * {@link #MAX}; a loopback address when the host has no other.
   *
   * @param ipv6 whether the socket listens on IPv6 too (bound to ::); a socket bound to 0.0.0.0 takes IPv4 only
   * @throws SocketException if the interfaces cannot be listed
   */
  public static List<String> gather(boolean ipv6) throws SocketException {
    List<InetAddress> all = new ArrayList<>();
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (ni.isUp()) all.addAll(Collections.list(ni.getInetAddresses()));
    }
    return choose(all, ipv6);
  }

  /**
   * Of {@code addresses}, those a peer on another host could dial, in the order given, IPv4
   * first and then alternating with IPv6, at most {@link #MAX} and within
   * {@link PeerInfo#MAX_HOST_CHARS}. Left out: wildcards, multicast, loopback (unless nothing
   * else is left), link-local addresses (they need an interface named by the dialler, which a
   * peer elsewhere does not know), and IPv6 site-local ones (deprecated, RFC 3879).
   */
  static List<String> choose(List<InetAddress> addresses, boolean ipv6) {
    LinkedHashSet<String> v4 = new LinkedHashSet<>();
    LinkedHashSet<String> v6 = new LinkedHashSet<>();
    String loopback = null;
    for (InetAddress a : addresses) {
      boolean six = a instanceof Inet6Address;
      if (six && !ipv6) continue;
      if (a.isAnyLocalAddress() || a.isMulticastAddress() || a.isLinkLocalAddress() || (six && a.isSiteLocalAddress())) continue;
      String host = a.getHostAddress();
      if (six) {
        int scope = host.indexOf('%'); // a scope names one of our interfaces, meaningless to a peer
        if (scope >= 0) host = host.substring(0, scope);
      }
      if (a.isLoopbackAddress()) {
        if (loopback == null || (loopback.indexOf(':') >= 0 && a instanceof Inet4Address)) loopback = host;
        continue;
      }
      (six ? v6 : v4).add(host);
    }
    List<String> out = new ArrayList<>();
    List<String> four = new ArrayList<>(v4);
    List<String> six = new ArrayList<>(v6);
    int chars = 0;
    for (int i = 0; i < Math.max(four.size(), six.size()) && out.size() < MAX; i++) {
      for (List<String> family : List.of(four, six)) {
        if (i >= family.size() || out.size() >= MAX) continue;
        String host = family.get(i);
        if (chars + host.length() > PeerInfo.MAX_HOST_CHARS / 2) continue; // half: the reflexive and relay candidates need room too
        out.add(host);
        chars += host.length();
      }
    }
    if (out.isEmpty() && loopback != null) out.add(loopback);
    return out;
  }
}
