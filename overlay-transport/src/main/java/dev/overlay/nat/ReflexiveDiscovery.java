package dev.overlay.nat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a node's traffic appears to come from, asked of STUN servers when it starts: their
 * first usable answer's reflexive IP (not loopback, link-local, multicast, broadcast or a
 * wildcard). Bounded: each server gets {@link #TIMING} (4 requests over 2.75 s) and servers are
 * asked one after the other, so a node given unreachable servers starts at most 2.75 s later
 * per server (plus the system resolver's time for a server given by name), with its local
 * address only. The answer is not authenticated: it is advertised as a candidate, which peers
 * dial within their dial budgets, never trusted for anything else.
 */
public final class ReflexiveDiscovery {

  private static final Logger log = LoggerFactory.getLogger(ReflexiveDiscovery.class);
  /** Shorter than the RFC's 39.5 s: this runs while a node starts. */
  public static final StunClient.Timing TIMING = new StunClient.Timing(Duration.ofMillis(250), 4, 4);

  private ReflexiveDiscovery() {}

  /**
   * The reflexive IP the first answering server saw, or null if none answered (each failure is
   * logged with its reason). Blocks: not on an event loop.
   */
  public static InetAddress discover(EventLoopGroup group, Class<? extends DatagramChannel> channelClass,
      List<InetSocketAddress> servers, StunClient.Timing timing) throws InterruptedException {
    if (servers.isEmpty()) return null;
    try (StunClient client = StunClient.udp(group, channelClass, new InetSocketAddress(0), timing)) {
      for (InetSocketAddress named : servers) {
        // Resolved here, off the loop (start() blocks anyway); an answer must come from this address.
        InetSocketAddress server = named.isUnresolved() ? new InetSocketAddress(named.getHostString(), named.getPort()) : named;
        if (server.isUnresolved()) {
          log.warn("STUN server {}:{} gave no reflexive address: its name does not resolve", named.getHostString(), named.getPort());
          continue;
        }
        try {
          var answer = client.binding(server);
          StunClient.Result r;
          try {
            r = answer.get(2 * maxWaitMillis(timing), TimeUnit.MILLISECONDS);
          } finally {
            answer.cancel(true); // ended either way; a late answer changes nothing
          }
          InetAddress seen = r.reflexive().getAddress();
          String unusable = unusable(seen);
          if (unusable != null) {
            log.warn("STUN server {} says this node is at {}, {}: not advertised", server, seen.getHostAddress(), unusable);
            continue;
          }
          log.info("STUN server {} sees this node at {}", server, seen.getHostAddress());
          return seen;
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
          Throwable why = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
          log.warn("STUN server {} gave no reflexive address: {}", server, why.getMessage());
        }
      }
    }
    return null;
  }

  /**
   * The TCP mapping of the node's listening port: the reflexive address the first of
   * {@code servers} to answer saw, asked over TCP from {@code listening} (bound with SO_REUSEPORT
   * beside the listening socket), or null if none answered usably. This is the address a peer's
   * hole punch connects to. Blocks: not on an event loop.
   */
  public static InetSocketAddress tcpMapping(EventLoopGroup group, Class<? extends io.netty.channel.socket.SocketChannel> channelClass,
      InetSocketAddress listening, List<InetSocketAddress> servers, Duration timeout) throws InterruptedException {
    for (InetSocketAddress named : servers) {
      InetSocketAddress server = named.isUnresolved() ? new InetSocketAddress(named.getHostString(), named.getPort()) : named;
      if (server.isUnresolved()) continue; // logged by discover() already
      var answer = StunClient.bindingTcp(group, channelClass, listening, server, timeout);
      try {
        InetSocketAddress seen = answer.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS).reflexive();
        String unusable = unusable(seen.getAddress());
        if (unusable != null) {
          log.warn("STUN server {} says this node's listening port maps to {}, {}: not advertised", server, seen, unusable);
          continue;
        }
        log.info("STUN server {} sees this node's listening port {} as {}", server, listening.getPort(),
            seen.getAddress().getHostAddress() + ":" + seen.getPort());
        return seen;
      } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
        Throwable why = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        log.warn("STUN server {} gave no TCP mapping of the listening port: {}", server, why.getMessage());
      } finally {
        answer.cancel(true);
      }
    }
    return null;
  }

  /**
   * Why an answered address cannot be a node's public one, or null when it can: the answer is
   * unauthenticated UDP, and an address others would dial must not point at this host's own
   * loopback, a link-local service (169.254.169.254), a multicast group or nowhere.
   */
  public static String unusableAddress(InetAddress a) {
    return unusable(a);
  }

  static String unusable(InetAddress a) {
    if (a.isAnyLocalAddress()) return "a wildcard address";
    if (a.isLoopbackAddress()) return "a loopback address";
    if (a.isLinkLocalAddress()) return "a link-local address";
    if (a.isMulticastAddress()) return "a multicast address";
    byte[] b = a.getAddress();
    if (b.length == 4 && (b[0] & 0xFF) == 255 && (b[1] & 0xFF) == 255 && (b[2] & 0xFF) == 255 && (b[3] & 0xFF) == 255) {
      return "the broadcast address";
    }
    return null;
  }

  private static long maxWaitMillis(StunClient.Timing t) {
    long rto = t.rto().toMillis();
    return rto * ((1L << Math.min(t.rc() - 1, 20)) - 1) + rto * t.rm() + 1_000;
  }
}
