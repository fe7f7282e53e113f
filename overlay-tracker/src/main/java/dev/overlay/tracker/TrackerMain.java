package dev.overlay.tracker;

import dev.overlay.NodeIdentity;
import dev.overlay.config.TransportConfig;
import dev.overlay.nat.StunServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar overlay-tracker.jar --port 30300}: a tracker. Every flag has an environment
 * variable (shown in {@code --help}); a flag given on the command line wins. Stops cleanly on
 * SIGTERM or Ctrl-C: links are closed, so nodes turn to their next tracker at once.
 */
@Command(
    name = "overlay-tracker",
    mixinStandardHelpOptions = true,
    version = "overlay-tracker 0.1.0",
    sortOptions = false,
    subcommands = dev.overlay.storagenode.StorageMain.class,
    description = {
      "Introduces the nodes of each stream to each other. Never on the data path: if every tracker is down,",
      "existing overlays keep delivering. Run several; nodes pick one per stream by rendezvous hashing.",
      "Every option can also be set through the environment variable shown in brackets."
    })
public final class TrackerMain implements Callable<Integer> {

  @Option(names = "--port", defaultValue = "${env:OVERLAY_TRACKER_PORT:-30300}",
      description = "Port for nodes (TLS) [OVERLAY_TRACKER_PORT] (default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "${env:OVERLAY_TRACKER_HOST:-0.0.0.0}",
      description = "Address to listen on [OVERLAY_TRACKER_HOST] (default ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--advertise", defaultValue = "${env:OVERLAY_TRACKER_ADVERTISE}",
      description = "Address given to nodes in the handshake [OVERLAY_TRACKER_ADVERTISE] (default: the listen address).")
  String advertise;

  @Option(names = "--http-port", defaultValue = "${env:OVERLAY_TRACKER_HTTP_PORT:-30380}",
      description = "Port for /metrics and /health; -1 turns HTTP off [OVERLAY_TRACKER_HTTP_PORT] (default ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--http-host", defaultValue = "${env:OVERLAY_TRACKER_HTTP_HOST:-127.0.0.1}",
      description = "Address /metrics and /health listen on; loopback unless a scraper elsewhere needs it [OVERLAY_TRACKER_HTTP_HOST] (default ${DEFAULT-VALUE}).")
  String httpHost;

  @Option(names = "--identity", defaultValue = "${env:OVERLAY_TRACKER_IDENTITY:-overlay-tracker.key}",
      description = "Key file: loaded, or created (readable by its owner only) if missing, so the tracker keeps its id across restarts and nodes can pin it [OVERLAY_TRACKER_IDENTITY] (default ${DEFAULT-VALUE}, in the working directory).")
  Path identityFile;

  @Option(names = "--ephemeral-identity", defaultValue = "false",
      description = "Use a new identity on every start instead of a key file (nodes cannot pin it).")
  boolean ephemeralIdentity;

  @Option(names = "--peers-per-answer", defaultValue = "${env:OVERLAY_TRACKER_PEERS_PER_ANSWER:-8}",
      description = "Members introduced to each joiner, 1-64 [OVERLAY_TRACKER_PEERS_PER_ANSWER] (default ${DEFAULT-VALUE}).")
  int peersPerAnswer;

  @Option(names = "--registration-ttl", defaultValue = "${env:OVERLAY_TRACKER_REGISTRATION_TTL:-90s}",
      description = "How long a registration lives without a heartbeat, e.g. 90s, 2m [OVERLAY_TRACKER_REGISTRATION_TTL] (default ${DEFAULT-VALUE}).")
  String registrationTtl;

  @Option(names = "--max-registrations", defaultValue = "${env:OVERLAY_TRACKER_MAX_REGISTRATIONS:-2000000}",
      description = "Cap on (node, stream) registrations [OVERLAY_TRACKER_MAX_REGISTRATIONS] (default ${DEFAULT-VALUE}).")
  int maxRegistrations;

  @Option(names = "--max-streams", defaultValue = "${env:OVERLAY_TRACKER_MAX_STREAMS:-100000}",
      description = "Cap on streams [OVERLAY_TRACKER_MAX_STREAMS] (default ${DEFAULT-VALUE}).")
  int maxStreams;

  @Option(names = "--max-links", defaultValue = "${env:OVERLAY_TRACKER_MAX_LINKS:-100000}",
      description = "Cap on open links from nodes (each node keeps one) [OVERLAY_TRACKER_MAX_LINKS] (default ${DEFAULT-VALUE}).")
  int maxLinks;

  @Option(names = "--max-streams-per-node", defaultValue = "${env:OVERLAY_TRACKER_MAX_STREAMS_PER_NODE:-1024}",
      description = "Streams one node identity may be registered in [OVERLAY_TRACKER_MAX_STREAMS_PER_NODE] (default ${DEFAULT-VALUE}).")
  int maxStreamsPerNode;

  @Option(names = "--max-registrations-per-address", defaultValue = "${env:OVERLAY_TRACKER_MAX_REGISTRATIONS_PER_ADDRESS:-16384}",
      description = "Registrations from one source /24 (IPv4) or /48 (IPv6) [OVERLAY_TRACKER_MAX_REGISTRATIONS_PER_ADDRESS] (default ${DEFAULT-VALUE}).")
  int maxRegistrationsPerAddress;

  @Option(names = "--max-nodes-per-address-per-stream", defaultValue = "${env:OVERLAY_TRACKER_MAX_NODES_PER_ADDRESS_PER_STREAM:-256}",
      description = "Node identities one stream takes from one source /24 or /48 [OVERLAY_TRACKER_MAX_NODES_PER_ADDRESS_PER_STREAM] (default ${DEFAULT-VALUE}).")
  int maxNodesPerAddressPerStream;

  @Option(names = "--established-age", defaultValue = "${env:OVERLAY_TRACKER_ESTABLISHED_AGE:-10m}",
      description = "Members registered this long are introduced first, e.g. 10m [OVERLAY_TRACKER_ESTABLISHED_AGE] (default ${DEFAULT-VALUE}).")
  String establishedAge;

  @Option(names = "--rate-limit", defaultValue = "${env:OVERLAY_TRACKER_RATE_LIMIT:-20}",
      description = "Requests per second allowed per node, after a burst of 200 [OVERLAY_TRACKER_RATE_LIMIT] (default ${DEFAULT-VALUE}).")
  double rateLimit;

  @Option(names = "--stun-port", defaultValue = "${env:OVERLAY_TRACKER_STUN_PORT:-3478}",
      description = "Port for STUN Binding (RFC 8489) over UDP and TCP, where nodes learn their public address; -1 turns STUN off [OVERLAY_TRACKER_STUN_PORT] (default ${DEFAULT-VALUE}).")
  int stunPort;

  @Option(names = "--stun-alt-port", defaultValue = "${env:OVERLAY_TRACKER_STUN_ALT_PORT:-3479}",
      description = "A second UDP port STUN answers on and names in OTHER-ADDRESS, so that a node can tell whether its NAT maps endpoint-independently; -1: none [OVERLAY_TRACKER_STUN_ALT_PORT] (default ${DEFAULT-VALUE}).")
  int stunAltPort;

  @Option(names = "--relay-port", defaultValue = "${env:OVERLAY_TRACKER_RELAY_PORT:--1}",
      description = "Port on which the tracker relays links between nodes whose NATs defeat hole punching (TLS stays end to end); -1: no relay [OVERLAY_TRACKER_RELAY_PORT] (default ${DEFAULT-VALUE}).")
  int relayPort;

  @Option(names = "--relay-max-links", defaultValue = "${env:OVERLAY_TRACKER_RELAY_MAX_LINKS:-256}",
      description = "Most relayed links at once, tickets not yet used included [OVERLAY_TRACKER_RELAY_MAX_LINKS] (default ${DEFAULT-VALUE}).")
  int relayMaxLinks;

  @Option(names = "--relay-max-links-per-node", defaultValue = "${env:OVERLAY_TRACKER_RELAY_MAX_LINKS_PER_NODE:-8}",
      description = "Most relayed links one identity may have [OVERLAY_TRACKER_RELAY_MAX_LINKS_PER_NODE] (default ${DEFAULT-VALUE}).")
  int relayMaxLinksPerNode;

  @Option(names = "--relay-bytes-per-second", defaultValue = "${env:OVERLAY_TRACKER_RELAY_BYTES_PER_SECOND:-1048576}",
      description = "Bytes a second one relayed link may carry, both directions together; beyond it, reading pauses [OVERLAY_TRACKER_RELAY_BYTES_PER_SECOND] (default ${DEFAULT-VALUE}).")
  long relayBytesPerSecond;

  @Option(names = "--relay-max-bytes", defaultValue = "${env:OVERLAY_TRACKER_RELAY_MAX_BYTES:-1073741824}",
      description = "Bytes one relayed link may carry in all; then it is closed (the nodes ask again) [OVERLAY_TRACKER_RELAY_MAX_BYTES] (default ${DEFAULT-VALUE}).")
  long relayMaxBytes;

  @Option(names = "--relay-node-bytes-per-second", defaultValue = "${env:OVERLAY_TRACKER_RELAY_NODE_BYTES_PER_SECOND:-2097152}",
      description = "Bytes a second all relayed links of one identity may carry together; beyond it, reading pauses [OVERLAY_TRACKER_RELAY_NODE_BYTES_PER_SECOND] (default ${DEFAULT-VALUE}).")
  long relayNodeBytesPerSecond;

  @Option(names = "--relay-total-bytes-per-second", defaultValue = "${env:OVERLAY_TRACKER_RELAY_TOTAL_BYTES_PER_SECOND:-33554432}",
      description = "Bytes a second the relay carries in all; beyond it, reading pauses [OVERLAY_TRACKER_RELAY_TOTAL_BYTES_PER_SECOND] (default ${DEFAULT-VALUE}).")
  long relayTotalBytesPerSecond;

  @Option(names = "--relay-node-max-bytes-per-hour", defaultValue = "${env:OVERLAY_TRACKER_RELAY_NODE_MAX_BYTES_PER_HOUR:-4294967296}",
      description = "Bytes all relayed links of one identity may carry in an hour; then its links close and it gets no ticket until the hour is over [OVERLAY_TRACKER_RELAY_NODE_MAX_BYTES_PER_HOUR] (default ${DEFAULT-VALUE}).")
  long relayNodeMaxBytesPerHour;

  @Option(names = "--relay-max-bytes-per-hour", defaultValue = "${env:OVERLAY_TRACKER_RELAY_MAX_BYTES_PER_HOUR:-137438953472}",
      description = "Bytes the relay carries in an hour in all; then links close and no ticket is given until the hour is over [OVERLAY_TRACKER_RELAY_MAX_BYTES_PER_HOUR] (default ${DEFAULT-VALUE}).")
  long relayMaxBytesPerHour;

  public static void main(String[] args) {
    System.exit(new CommandLine(new TrackerMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    TrackerConfig config;
    InetSocketAddress bind;
    InetSocketAddress httpBind;
    try {
      if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be 0-65535");
      if (httpPort < -1 || httpPort > 65535) throw new IllegalArgumentException("--http-port must be -1 (off) or 0-65535");
      if (stunPort < -1 || stunPort > 65535) throw new IllegalArgumentException("--stun-port must be -1 (off) or 0-65535");
      if (stunAltPort < -1 || stunAltPort > 65535) throw new IllegalArgumentException("--stun-alt-port must be -1 (none) or 0-65535");
      if (stunPort > 0 && stunAltPort == stunPort) throw new IllegalArgumentException("--stun-alt-port must differ from --stun-port");
      if (relayPort < -1 || relayPort > 65535) throw new IllegalArgumentException("--relay-port must be -1 (off) or 0-65535");
      String[] relayFlags = {"--relay-max-links", "--relay-max-links-per-node", "--relay-bytes-per-second", "--relay-max-bytes",
          "--relay-node-bytes-per-second", "--relay-total-bytes-per-second", "--relay-node-max-bytes-per-hour", "--relay-max-bytes-per-hour"};
      long[] relayValues = {relayMaxLinks, relayMaxLinksPerNode, relayBytesPerSecond, relayMaxBytes, relayNodeBytesPerSecond,
          relayTotalBytesPerSecond, relayNodeMaxBytesPerHour, relayMaxBytesPerHour};
      for (int i = 0; i < relayFlags.length; i++) {
        if (relayValues[i] < 1) throw new IllegalArgumentException(relayFlags[i] + " must be at least 1, got " + relayValues[i]);
      }
      config = TrackerConfig.builder().peersPerAnswer(peersPerAnswer).registrationTtl(duration(registrationTtl, "--registration-ttl"))
          .maxRegistrations(maxRegistrations).maxStreams(maxStreams).requestsPerSecond(rateLimit)
          .maxStreamsPerNode(maxStreamsPerNode).maxRegistrationsPerAddress(maxRegistrationsPerAddress)
          .maxIdentitiesPerAddressPerStream(maxNodesPerAddressPerStream)
          .establishedAge(duration(establishedAge, "--established-age")).build();
      bind = new InetSocketAddress(InetAddress.getByName(host), port);
      httpBind = new InetSocketAddress(InetAddress.getByName(httpHost), Math.max(0, httpPort));
    } catch (IllegalArgumentException | java.net.UnknownHostException e) {
      System.err.println("overlay-tracker: " + e.getMessage());
      return 2;
    }
    NodeIdentity identity;
    try {
      identity = ephemeralIdentity ? NodeIdentity.generate() : NodeIdentity.loadOrCreate(identityFile);
    } catch (java.io.IOException e) {
      System.err.println("overlay-tracker: --identity: " + e.getMessage());
      return 2;
    }
    TransportConfig transport;
    try {
      transport = TransportConfig.builder().maxLinks(maxLinks).build();
    } catch (IllegalArgumentException e) {
      System.err.println("overlay-tracker: --max-links: " + e.getMessage());
      return 2;
    }
    StunServer stun = null;
    if (stunPort >= 0) {
      try {
        // No SOFTWARE in answers: smaller (less to reflect) and no version disclosed. OTHER-ADDRESS
        // names --advertise, or the listen address unless it is a wildcard (then no OTHER-ADDRESS).
        stun = new StunServer(null).start(new InetSocketAddress(bind.getAddress(), stunPort),
            stunAltPort >= 0 ? new InetSocketAddress(bind.getAddress(), stunAltPort) : null,
            advertise != null ? InetAddress.getByName(advertise) : null);
      } catch (RuntimeException | java.net.UnknownHostException e) { // a port in use: say which, rather than a stack trace
        System.err.println("overlay-tracker: --stun-port " + stunPort + " / --stun-alt-port " + stunAltPort + ": " + e.getMessage()
            + " (-1 turns STUN off)");
        return 2;
      }
    }
    RelayServer relay = null;
    if (relayPort >= 0) {
      // Nodes are told where to connect: --advertise, or the listen address unless it is a wildcard.
      String relayHost = advertise != null ? advertise : bind.getAddress().isAnyLocalAddress() ? null : bind.getAddress().getHostAddress();
      try {
        if (relayHost == null) throw new IllegalArgumentException("give --advertise (or a --host nodes can reach): nodes must be told where the relay is");
        relay = new RelayServer(RelayServer.Limits.DEFAULTS.with(relayMaxLinks, relayMaxLinksPerNode, relayBytesPerSecond,
            relayMaxBytes).withBudgets(relayNodeBytesPerSecond, relayTotalBytesPerSecond, relayNodeMaxBytesPerHour, relayMaxBytesPerHour)).start(new InetSocketAddress(bind.getAddress(), relayPort), relayHost);
      } catch (RuntimeException e) {
        System.err.println("overlay-tracker: --relay-port " + relayPort + ": " + e.getMessage() + " (-1 turns the relay off)");
        if (stun != null) stun.close();
        return 2;
      }
    }
    TrackerServer server;
    try {
      server = new TrackerServer(config, identity, transport).start(bind, advertise, httpBind, httpPort >= 0);
    } catch (Exception e) {
      if (stun != null) stun.close();
      if (relay != null) relay.close();
      throw e;
    }
    server.stun(stun); // its counters on /metrics
    if (relay != null) server.relay(relay); // relay requests served from here on (refused before: "does not relay")
    System.out.println("overlay-tracker " + identity.peerId() + " on " + server.address()
        + (server.httpAddress() != null ? ", HTTP on " + server.httpAddress() : "")
        + (stun != null ? ", STUN on " + stun.udpAddress() + " (UDP, TCP)"
            + (stun.alternateAddress() != null ? " and " + stun.alternateAddress() + " (UDP"
                + (stun.otherAddress() == null ? "; not named in answers: give --advertise" : "") + ")" : "") : "")
        + (relay != null ? ", relay on " + relay.address() : ""));
    StunServer stunServer = stun;
    RelayServer relayServer = relay;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close();
        if (stunServer != null) stunServer.close();
        if (relayServer != null) relayServer.close();
      } catch (Exception e) {
        System.err.println("overlay-tracker: error while stopping: " + e);
      } finally {
        stopped.countDown();
      }
    }, "overlay-tracker-shutdown"));
    stopped.await(); // until SIGTERM / Ctrl-C runs the hook
    return 0;
  }

  /** "90s", "2m", "500ms", or an ISO-8601 duration. */
  static Duration duration(String text, String flag) {
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      if (t.endsWith("s")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      if (t.endsWith("m")) return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      return Duration.parse(text);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(flag + ": '" + text + "' is not a duration such as 90s, 2m or 500ms");
    }
  }
}
