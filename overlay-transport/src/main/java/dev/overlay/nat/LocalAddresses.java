package dev.overlay.nat;

import dev.overlay.core.PeerInfo;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which of the host's addresses a node listening on a wildcard (0.0.0.0 or ::) advertises as
 * its local candidates, when the application names none ({@code advertise}). A wildcard itself
 * names nothing a peer could dial; the host's addresses are offered instead, the ones its
 * default routes leave from first, and the peer's dialler races them (Happy Eyeballs), so an
 * address that does not work from there costs it a quarter of a second. With IPv6, a host with
 * a global address is reachable without any hole punching.
 */
public final class LocalAddresses {

  /** Local candidates at most: room is left for a reflexive and a relay candidate. */
  public static final int MAX = PeerInfo.MAX_CANDIDATES - 2;

  /**
   * Name prefixes of the bridges and virtual links container runtimes and hypervisors make
   * (Docker, Podman, libvirt, LXC, Kubernetes' network plugins). Their addresses are the same
   * on many hosts (172.17.0.1 is every Docker host's), so a peer dialling one reaches something
   * of its own; they are offered only when the host has nothing else.
   */
  static final List<String> CONTAINER_INTERFACES = List.of("docker", "br-", "veth", "virbr", "vnet", "cni", "flannel",
      "cali", "cilium", "vxlan", "kube", "weave", "lxcbr", "lxdbr", "podman");

  /** Where a default route leads, for asking which source address it uses (documentation prefixes; nothing is sent). */
  private static final InetSocketAddress PROBE4 = probe(new byte[] {(byte) 198, 51, 100, 1});
  private static final InetSocketAddress PROBE6 = probe(new byte[] {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

  private static InetSocketAddress probe(byte[] ip) {
    try {
      return new InetSocketAddress(InetAddress.getByAddress(ip), 9); // bytes: no lookup
    } catch (java.net.UnknownHostException impossible) {
      throw new AssertionError(impossible);
    }
  }

  private LocalAddresses() {}

  /**
   * The host's addresses a peer could dial, at most {@link #MAX}: IPv4 first and then
   * alternating with IPv6, the source addresses of the default routes first in each family; a
   * loopback address when the host has no other; empty when not even that.
   *
   * @param ipv6 whether the socket listens on IPv6 too (bound to ::); a socket bound to 0.0.0.0 takes IPv4 only
   * @throws SocketException if the interfaces cannot be listed at all
   */
  public static List<String> gather(boolean ipv6) throws SocketException {
    List<InetAddress> own = new ArrayList<>();
    List<InetAddress> containers = new ArrayList<>();
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      try {
        if (!ni.isUp()) continue;
      } catch (SocketException gone) {
        continue; // removed while being listed (a container's veth): nothing to offer there
      }
      (container(ni.getName()) ? containers : own).addAll(Collections.list(ni.getInetAddresses()));
    }
    Set<InetAddress> first = new LinkedHashSet<>();
    routeSource(PROBE4, first);
    if (ipv6) routeSource(PROBE6, first);
    List<String> chosen = choose(own, ipv6, first);
    if (chosen.isEmpty() || allLoopback(chosen)) {
      List<String> fallback = choose(containers, ipv6, first);
      if (!fallback.isEmpty()) chosen = fallback;
    }
    return chosen;
  }

  /** Whether an interface of this name is a container's or a hypervisor's bridge or virtual link. */
  static boolean container(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    for (String prefix : CONTAINER_INTERFACES) if (n.startsWith(prefix)) return true;
    return false;
  }

  /** Whether every address given is a loopback one: a node with nothing else to offer. */
  public static boolean allLoopback(List<String> hosts) {
    for (String h : hosts) if (!h.startsWith("127.") && !h.equals("0:0:0:0:0:0:0:1")) return false;
    return !hosts.isEmpty();
  }

  /** The source address the host's route to {@code to} uses, if it has one: a UDP connect sends nothing. */
  private static void routeSource(InetSocketAddress to, Set<InetAddress> out) {
    try (DatagramSocket s = new DatagramSocket()) {
      s.connect(to);
      InetAddress a = s.getLocalAddress();
      if (a != null && !a.isAnyLocalAddress()) out.add(a);
    } catch (SocketException | RuntimeException noRoute) {
      // no route of that family: the interface order stands
    }
  }

  /**
   * Of {@code addresses}, those a peer on another host could dial, IPv4 first and then
   * alternating with IPv6, those in {@code first} ahead of the others of their family, at most
   * {@link #MAX} and within half of {@link PeerInfo#MAX_HOST_CHARS} (the rest is the reflexive's
   * and the relay's). Left out: wildcards, multicast, loopback (unless nothing else is left),
   * link-local addresses (they need an interface named by the dialler, which a peer elsewhere
   * does not know), and IPv6 site-local ones (deprecated, RFC 3879).
   */
  static List<String> choose(List<InetAddress> addresses, boolean ipv6, Set<InetAddress> first) {
    List<InetAddress> ordered = new ArrayList<>();
    for (InetAddress a : first) if (addresses.contains(a)) ordered.add(a);
    ordered.addAll(addresses);
    LinkedHashSet<String> v4 = new LinkedHashSet<>();
    LinkedHashSet<String> v6 = new LinkedHashSet<>();
    String loopback = null;
    for (InetAddress a : ordered) {
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
    List<String> sixes = new ArrayList<>(v6);
    int chars = 0;
    for (int i = 0; i < Math.max(four.size(), sixes.size()) && out.size() < MAX; i++) {
      for (List<String> family : List.of(four, sixes)) {
        if (i >= family.size() || out.size() >= MAX) continue;
        String host = family.get(i);
        if (chars + host.length() > PeerInfo.MAX_HOST_CHARS / 2) continue;
        out.add(host);
        chars += host.length();
      }
    }
    if (out.isEmpty() && loopback != null) out.add(loopback);
    return out;
  }
}
