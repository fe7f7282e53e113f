package dev.overlay.bench;

import dev.overlay.nat.StunClient;
import dev.overlay.report.Json;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * An operator's probe: where does this host's traffic appear to come from, and does its NAT keep
 * one mapping whatever it sends to? Asks a STUN server (a tracker, coturn, any RFC 5389/8489
 * server) over UDP, and over TCP too.
 */
@Command(
    name = "stun",
    mixinStandardHelpOptions = true,
    description = {
      "Asks a STUN server for this host's reflexive (public) address over UDP and TCP, and tells the NAT's",
      "mapping behaviour by asking a second address from the same socket: the server's OTHER-ADDRESS (a tracker",
      "names its --stun-alt-port) or --server2. Example: java -jar overlay-bench.jar stun --server tracker.example:3478"
    })
final class StunCommand implements Callable<Integer> {

  @Option(names = "--server", required = true, description = "The STUN server, host:port.")
  String server;

  @Option(names = "--server2", description = "A second server (another IP or port) for the mapping test, when the first names no other address.")
  String server2;

  @Option(names = "--local-port", defaultValue = "0", description = "Local UDP port to ask from (default: any).")
  int localPort;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    InetSocketAddress first = address(server, "--server");
    InetSocketAddress second = server2 == null ? null : address(server2, "--server2");
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    Json out = Json.object().put("server", server);
    int status = 0;
    try (StunClient client = StunClient.udp(group, new InetSocketAddress(localPort), StunClient.Timing.RFC)) {
      try {
        StunClient.Result r = client.binding(first).get(60, TimeUnit.SECONDS);
        System.out.printf(Locale.ROOT, "UDP  reflexive %s (local %s), RTT %.2f ms, %d request(s), server %s%n",
            text(r.reflexive()), text(r.local()), r.rttNanos() / 1e6, r.requests(), r.software() == null ? "-" : printable(r.software()));
        out.put("udp_reflexive", text(r.reflexive())).put("udp_local", text(r.local()))
            .put("udp_rtt_ms", r.rttNanos() / 1e6).put("udp_requests", r.requests())
            .put("server_software", r.software() == null ? "" : printable(r.software()));
        InetSocketAddress other = second != null ? second : r.other();
        if (other == null) {
          System.out.println("mapping   unknown: the server names no other address; give --server2");
          out.put("mapping", "unknown");
        } else {
          StunClient.Mapping m = client.mapping(first, other).get(90, TimeUnit.SECONDS);
          // With one server IP only the port changes: an address-dependent NAT then looks independent.
          boolean oneIp = first.getAddress().equals(other.getAddress());
          System.out.println("mapping   " + m.name().toLowerCase(Locale.ROOT).replace('_', '-') + " (asked " + text(first) + " and "
              + text(other) + " from one socket" + (oneIp && m == StunClient.Mapping.ENDPOINT_INDEPENDENT
                  ? "; one server IP, so only port-dependence is ruled out: --server2 on another IP tells more" : "") + ")");
          out.put("mapping", m.name().toLowerCase(Locale.ROOT)).put("mapping_tested", oneIp ? "port" : "address_and_port");
        }
      } catch (ExecutionException e) {
        System.out.println("UDP  failed: " + e.getCause().getMessage());
        out.put("udp_error", String.valueOf(e.getCause().getMessage()));
        status = 1;
      }
      try {
        StunClient.Result t = StunClient.bindingTcp(group, first, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS);
        System.out.printf(Locale.ROOT, "TCP  reflexive %s (local %s), RTT %.2f ms%n", text(t.reflexive()), text(t.local()),
            t.rttNanos() / 1e6);
        out.put("tcp_reflexive", text(t.reflexive())).put("tcp_rtt_ms", t.rttNanos() / 1e6);
      } catch (ExecutionException e) {
        System.out.println("TCP  failed: " + e.getCause().getMessage());
        out.put("tcp_error", String.valueOf(e.getCause().getMessage()));
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (json != null) Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
    return status;
  }

  /** A server's text, without control characters (it is printed to a terminal). */
  private static String printable(String s) {
    return s.replaceAll("\\p{Cntrl}", "?");
  }

  private static String text(InetSocketAddress a) {
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  private static InetSocketAddress address(String hostPort, String flag) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) throw new IllegalArgumentException(flag + ": '" + hostPort + "' is not host:port");
    try {
      return new InetSocketAddress(hostPort.substring(0, colon).replace("[", "").replace("]", ""),
          Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + ": '" + hostPort + "' has no port number");
    }
  }
}
