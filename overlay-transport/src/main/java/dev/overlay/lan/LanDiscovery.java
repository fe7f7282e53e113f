package dev.overlay.lan;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.lan.Mdns.Question;
import dev.overlay.lan.Mdns.Record;
import dev.overlay.lan.Mdns.Srv;
import dev.overlay.wire.WireCodec;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the other nodes on the LAN, and lets them find this one, with multicast DNS service
 * discovery (RFC 6762, 6763) on the node's own loop: no thread, no timer of its own beyond the
 * loop's. The node is a service instance of {@code _overlay._tcp.local} (the type is configurable)
 * whose TXT record carries its peer id, incarnation, wire version and the streams it is in.
 *
 * <p>What it does of the RFCs: it announces itself twice at start and whenever its streams change
 * (8.3), answers questions for its records at most once a second (6), says goodbye with TTL 0 on
 * close (10.1), queries for the service type at start and then at doubling intervals (5.2) and at
 * 80 % of the earliest record's life, and forgets an instance when its records expire or say
 * goodbye. What it leaves out: probing for name conflicts (8.1; the instance name comes from the
 * node's key), known-answer suppression, IPv6, and unicast replies (all answers are multicast).
 *
 * <p>Input is hostile: packets from outside the interface's subnets are refused (RFC 6762 11), at
 * most {@link #PACKETS_PER_SECOND} are read a second, decoding is bounded ({@link Mdns}), an
 * instance's address must be on the subnet too (so a forged record cannot aim the node's dials
 * off the LAN), and at most {@link #MAX_PEERS} instances are kept. Every refusal is counted.
 */
public final class LanDiscovery {

  public static final String DEFAULT_SERVICE = "_overlay._tcp";
  static final InetSocketAddress GROUP = new InetSocketAddress("224.0.0.251", 5353);
  static final int MAX_PEERS = 256;
  static final int PACKETS_PER_SECOND = 200;
  /** TTLs of RFC 6762 section 10: 120 s for records naming a host, 75 minutes for the rest. */
  static final long HOST_TTL = 120;
  static final long OTHER_TTL = 4500;
  /**
   * Stream ids per TXT string, comma-separated hex (a key appears once, RFC 6763 6.4, and a string
   * is at most 255 bytes); further ones go under s2, s3...
   */
  static final int MAX_TXT_STREAMS = 14;
  /** Streams a TXT record names in all (s to s5); a node in more says "s=*". */
  static final int MAX_STREAMS = 5 * MAX_TXT_STREAMS;
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  private static final long MAX_QUERY_INTERVAL = TimeUnit.MINUTES.toNanos(60);
  private static final Logger log = LoggerFactory.getLogger(LanDiscovery.class);

  /** A node found on the LAN: how to reach it, and the streams it said it is in (null: any). */
  public record Found(PeerInfo peer, Set<Long> streams, long expiresAt) {
    public boolean inStream(long stream) {
      return streams == null || streams.contains(stream);
    }
  }

  private final EventLoop loop;
  private final boolean epoll;
  private final String serviceType; // e.g. _overlay._tcp.local
  private final NetworkInterface ni;
  private final String listenHost;
  private final LongSupplier clock;
  private final Consumer<Found> onFound;
  private final SplittableRandom random = new SplittableRandom();
  private final Map<PeerId, Found> peers = new LinkedHashMap<>();
  /** Which instance name each peer was learnt under: a goodbye forgets by name, not by what its TXT says. */
  private final Map<String, PeerId> instances = new LinkedHashMap<>();
  private final Set<Long> streams = new LinkedHashSet<>();
  private DatagramChannel channel;
  private PeerInfo self;
  private String instance;
  private String host;
  private byte[] address;
  private List<InterfaceAddress> subnets = List.of();
  private ScheduledFuture<?> tick;
  private long nextQueryAt;
  private long queryInterval = SECOND;
  private long lastQueryAt = Long.MIN_VALUE / 2;
  private long lastResponseAt = Long.MIN_VALUE / 2;
  private boolean responsePending;
  private long windowStart;
  private int windowPackets;
  private boolean closed;
  // Counters.
  private long startFailed;
  private long packets;
  private long malformed;
  private long refusedOffLink;
  private long refusedBudget;
  private long refusedTable;
  private long found;
  private long goodbyes;
  private long queriesSent;
  private long responsesSent;

  /**
   * @param serviceType the DNS-SD service type without the domain ({@code _overlay._tcp})
   * @param ni the interface ({@link #pickInterface}, resolved off the loop: it may look a name up)
   * @param listenHost the node's listening host: advertised when it is an IPv4 address of {@code ni}
   * @param onFound told, on the loop, of every instance found or changed
   */
  public LanDiscovery(EventLoop loop, boolean epoll, String serviceType, NetworkInterface ni, String listenHost, LongSupplier clock,
      Consumer<Found> onFound) {
    this.loop = loop;
    this.epoll = epoll;
    this.serviceType = serviceType.toLowerCase(Locale.ROOT) + ".local";
    this.ni = ni;
    this.listenHost = listenHost;
    this.clock = clock;
    this.onFound = onFound;
  }

  /**
   * On the loop: binds port 5353 on the interface, joins the group, announces and starts
   * browsing. The socket's setup finishes later, on the loop; a failure (no such interface, port
   * 5353 held without SO_REUSEADDR, no multicast route) is logged at WARN and counted
   * ({@code lan_start_failed}), and the node goes on without LAN discovery.
   */
  public void start(PeerInfo self) {
    if (!prepare(self)) return;
    openSocket();
  }

  /** Names and addresses; false (logged, counted) when the interface has no IPv4 address. Tests call it alone. */
  boolean prepare(PeerInfo self) {
    this.self = self;
    String hex = self.id().toHex();
    instance = "overlay-" + hex.substring(0, 20) + "." + serviceType;
    host = "overlay-" + hex.substring(0, 20) + ".local";
    byte[] listening = ipv4Literal(listenHost);
    for (InterfaceAddress a : ni.getInterfaceAddresses()) {
      if (a.getAddress() instanceof Inet4Address) {
        byte[] ip = a.getAddress().getAddress();
        // The listening address when it is one of this interface's; else its first IPv4 address.
        if (address == null || listening != null && java.util.Arrays.equals(ip, listening)) address = ip;
        subnets = append(subnets, a);
        if (a.getNetworkPrefixLength() >= 32) log.warn("LAN discovery: {} on {} is a /32: no other address is on its link", a, ni.getName());
      }
    }
    if (address == null) {
      failed("interface " + ni.getName() + " has no IPv4 address", null);
      return false;
    }
    return true;
  }

  private void openSocket() {
    Bootstrap b = new Bootstrap().group(loop)
        .option(ChannelOption.SO_REUSEADDR, true)
        .option(ChannelOption.IP_MULTICAST_IF, ni)
        .option(ChannelOption.IP_MULTICAST_TTL, 255) // RFC 6762 11: a packet leaves with 255
        // Netty reads 2,048 bytes of a datagram by default; mDNS allows 9,000 (RFC 6762 17).
        .option(ChannelOption.RCVBUF_ALLOCATOR, new io.netty.channel.FixedRecvByteBufAllocator(Mdns.MAX_PACKET))
        .option(ChannelOption.IP_MULTICAST_LOOP_DISABLED, false) // other nodes on this host hear us
        .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
          @Override
          protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            received(p);
          }

          @Override
          public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("mDNS socket: {}", cause.toString());
          }
        });
    if (epoll) {
      // IPv4 explicitly: a dual-stack socket would take IP_MULTICAST_IF as an IPv6 option.
      b.channelFactory((ChannelFactory<DatagramChannel>) () -> new io.netty.channel.epoll.EpollDatagramChannel(InternetProtocolFamily.IPv4))
          .option(io.netty.channel.epoll.EpollChannelOption.SO_REUSEPORT, true);
    } else {
      b.channelFactory((ChannelFactory<DatagramChannel>) () -> new NioDatagramChannel(InternetProtocolFamily.IPv4));
    }
    NetworkInterface chosen = ni;
    // Bound to the group's address on Linux, so that unicast to port 5353 (from anywhere) never
    // reaches the handler; elsewhere to the wildcard, and the on-link check refuses what is not local.
    InetSocketAddress bindTo = System.getProperty("os.name", "").startsWith("Linux") ? GROUP : new InetSocketAddress(5353);
    b.bind(bindTo).addListener((io.netty.channel.ChannelFuture bound) -> {
      if (!bound.isSuccess()) {
        if (!closed) failed("cannot bind UDP port 5353", bound.cause());
        return;
      }
      DatagramChannel ch = (DatagramChannel) bound.channel();
      ch.joinGroup(GROUP, chosen).addListener(joinedGroup -> {
        if (!joinedGroup.isSuccess()) {
          ch.close();
          failed("cannot join 224.0.0.251 on " + chosen.getName(), joinedGroup.cause());
          return;
        }
        if (closed) {
          ch.close();
          return;
        }
        channel = ch;
        begin(chosen);
      });
    });
  }

  private void begin(NetworkInterface ni) throws java.net.UnknownHostException {
    log.info("LAN discovery on {} ({}) as {}", ni.getName(), InetAddress.getByAddress(address).getHostAddress(), instance);
    long now = clock.getAsLong();
    announce();
    loop.schedule(this::announce, 1, TimeUnit.SECONDS); // announced twice, a second apart (8.3)
    nextQueryAt = now + TimeUnit.MILLISECONDS.toNanos(20 + random.nextInt(100)); // 20-120 ms (5.2)
    tick = loop.scheduleAtFixedRate(this::onTick, 20, 100, TimeUnit.MILLISECONDS);
  }

  private void failed(String what, Throwable cause) {
    startFailed++;
    log.warn("LAN discovery is off: {}: {}", what, cause == null ? "" : cause.getMessage());
  }

  /** On the loop: the streams this node is in changed; the TXT record says so at once. */
  public void streams(Set<Long> now) {
    if (streams.equals(now)) return;
    streams.clear();
    streams.addAll(now);
    if (channel != null) announceChange();
  }

  /** On the loop: the instances found and not expired. */
  public List<Found> found() {
    expire(clock.getAsLong());
    return List.copyOf(peers.values());
  }

  /** On the loop: says goodbye (TTL 0) unless the node crashed, and closes the socket. */
  public void close(boolean goodbye) {
    if (closed) return;
    closed = true;
    if (tick != null) tick.cancel(false);
    if (channel != null) {
      if (goodbye) {
        channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(Mdns.response(records(0))), GROUP))
            .addListener(f -> channel.close());
      } else {
        channel.close();
      }
    }
  }

  public Map<String, Long> counters() {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("lan_start_failed", startFailed);
    m.put("lan_peers_now", (long) peers.size());
    m.put("lan_peers_found", found);
    m.put("lan_goodbyes", goodbyes);
    m.put("lan_packets", packets);
    m.put("lan_packets_malformed", malformed);
    m.put("lan_packets_refused_off_link", refusedOffLink);
    m.put("lan_packets_refused_budget", refusedBudget);
    m.put("lan_peers_refused_table_full", refusedTable);
    m.put("lan_queries_sent", queriesSent);
    m.put("lan_responses_sent", responsesSent);
    return m;
  }

  // ---- Internals ----------------------------------------------------------------------------

  private void onTick() {
    long now = clock.getAsLong();
    expire(now);
    if (now - nextQueryAt >= 0) {
      query();
      nextQueryAt = now + queryInterval;
      queryInterval = Math.min(queryInterval * 2, MAX_QUERY_INTERVAL); // doubling (5.2)
    }
    // Cache maintenance (5.2): ask again once an instance is at 80 % of its records' life (at
    // most every 10 s: the answer renews it, or it expires).
    if (now - lastQueryAt >= 10 * SECOND) {
      for (Found f : peers.values()) {
        if (now - (f.expiresAt() - HOST_TTL * SECOND / 5) >= 0) {
          query();
          break;
        }
      }
    }
  }

  private void announce() {
    if (closed || channel == null) return;
    respond(clock.getAsLong());
  }

  /** The streams changed: announced at once if the last response was a second ago, else at its end. */
  private void announceChange() {
    long now = clock.getAsLong();
    if (now - lastResponseAt >= SECOND) {
      respond(now);
    } else {
      respondSoon();
    }
  }

  /**
   * Answers at most once a second (RFC 6762 6), 20-120 ms after the question (our PTR record is
   * shared: every node on the LAN answers the same question, and the delay spreads them out); a
   * question within the second is answered at its end.
   */
  private void respondSoon() {
    if (responsePending) return;
    responsePending = true;
    long now = clock.getAsLong();
    long due = Math.max(now + TimeUnit.MILLISECONDS.toNanos(20 + random.nextInt(101)), lastResponseAt + SECOND);
    loop.schedule(() -> {
      if (!closed && responsePending) respond(clock.getAsLong());
    }, Math.max(0, due - now), TimeUnit.NANOSECONDS);
  }

  private void respond(long now) {
    responsePending = false;
    lastResponseAt = now;
    responsesSent++;
    send(Mdns.response(records(-1)));
  }

  private void query() {
    queriesSent++;
    lastQueryAt = clock.getAsLong();
    send(Mdns.query(List.of(new Question(serviceType, Mdns.TYPE_PTR, false))));
  }

  /** This node's records; {@code ttl} 0 for a goodbye, -1 for the usual ones. */
  private List<Record> records(long ttl) {
    long hostTtl = ttl >= 0 ? ttl : HOST_TTL;
    long otherTtl = ttl >= 0 ? ttl : OTHER_TTL;
    List<String> txt = new ArrayList<>();
    txt.add("id=" + self.id().toHex());
    txt.add("inc=" + self.incarnation());
    txt.add("v=" + WireCodec.PROTOCOL_VERSION);
    if (streams.size() > MAX_STREAMS) {
      txt.add("s=*");
    } else {
      // 14 ids a string (a string is at most 255 bytes), under the keys s, s2, s3...
      List<Long> all = new ArrayList<>(streams);
      for (int i = 0; i == 0 || i < all.size(); i += MAX_TXT_STREAMS) {
        StringBuilder b = new StringBuilder(i == 0 ? "s=" : "s" + (i / MAX_TXT_STREAMS + 1) + "=");
        int start = b.length();
        for (int k = i; k < Math.min(all.size(), i + MAX_TXT_STREAMS); k++) {
          b.append(b.length() > start ? "," : "").append(Long.toHexString(all.get(k)));
        }
        txt.add(b.toString());
      }
    }
    return List.of(
        new Record(serviceType, Mdns.TYPE_PTR, false, otherTtl, instance),
        new Record(instance, Mdns.TYPE_SRV, true, hostTtl, new Srv(0, 0, port(), host)),
        new Record(instance, Mdns.TYPE_TXT, true, otherTtl, txt),
        new Record(host, Mdns.TYPE_A, true, hostTtl, address));
  }

  private int port() {
    return self.candidates().get(0).port();
  }

  private void send(byte[] packet) {
    if (channel == null || !channel.isActive()) return;
    channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(packet), GROUP));
  }

  void received(DatagramPacket p) {
    long now = clock.getAsLong();
    packets++;
    if (!onLink(p.sender().getAddress())) { // first: only the LAN spends the budget
      refusedOffLink++;
      return;
    }
    if (now - windowStart >= SECOND) {
      windowStart = now;
      windowPackets = 0;
    }
    if (++windowPackets > PACKETS_PER_SECOND) {
      refusedBudget++;
      return;
    }
    ByteBuf buf = p.content();
    int n = Math.min(buf.readableBytes(), Mdns.MAX_PACKET + 1);
    byte[] bytes = new byte[n];
    buf.getBytes(buf.readerIndex(), bytes);
    Mdns.Message m;
    try {
      m = Mdns.decode(bytes, n);
    } catch (Mdns.Malformed e) {
      malformed++;
      log.debug("malformed mDNS packet from {}: {}", p.sender(), e.getMessage());
      return;
    }
    if (!m.response()) {
      for (Question q : m.questions()) {
        if (asksForUs(q)) {
          respondSoon();
          break;
        }
      }
      return;
    }
    // Responses come from port 5353 (RFC 6762 6); others are legacy unicast or spoofed.
    if (p.sender().getPort() != 5353) return;
    learn(m.records(), now);
  }

  private boolean asksForUs(Question q) {
    boolean any = q.type() == Mdns.TYPE_ANY;
    return (q.name().equals(serviceType) && (any || q.type() == Mdns.TYPE_PTR))
        || (q.name().equals(instance) && (any || q.type() == Mdns.TYPE_SRV || q.type() == Mdns.TYPE_TXT))
        || (q.name().equals(host) && (any || q.type() == Mdns.TYPE_A));
  }

  /** Instances of our service type in a response, assembled from its PTR, SRV, TXT and A records. */
  private void learn(List<Record> records, long now) {
    Map<String, Record> srv = new LinkedHashMap<>();
    Map<String, Record> txt = new LinkedHashMap<>();
    Map<String, Record> a = new LinkedHashMap<>();
    List<Record> ptrs = new ArrayList<>();
    for (Record r : records) {
      switch (r.type()) {
        case Mdns.TYPE_PTR -> {
          if (r.name().equals(serviceType) && r.data() instanceof String) ptrs.add(r);
        }
        case Mdns.TYPE_SRV -> srv.put(r.name(), r);
        case Mdns.TYPE_TXT -> txt.put(r.name(), r);
        case Mdns.TYPE_A -> a.putIfAbsent(r.name(), r);
        default -> { }
      }
    }
    for (Record ptr : ptrs) {
      String name = (String) ptr.data();
      Record s = srv.get(name);
      Record t = txt.get(name);
      if (ptr.ttl() == 0 || (s != null && s.ttl() == 0)) {
        goodbye(name, now);
        continue;
      }
      if (s == null || t == null) continue; // a response to someone else's narrower question: wait for ours
      Srv target = (Srv) s.data();
      Record ip = a.get(target.target());
      if (ip == null) continue;
      @SuppressWarnings("unchecked")
      // A record's life as its TTL says, but no longer than twice ours: a forged TTL of 136 years
      // must not keep an instance (and its slot in the table) for good.
      long ttl = Math.min(Math.min(s.ttl(), ip.ttl()), 2 * HOST_TTL);
      Found f = parse((List<String>) t.data(), (byte[]) ip.data(), target.port(), now + ttl * SECOND);
      if (f == null || f.peer().id().equals(self.id())) continue;
      if (!onLink((byte[]) ip.data())) {
        refusedOffLink++;
        continue;
      }
      Found before = peers.get(f.peer().id());
      if (before == null && peers.size() >= MAX_PEERS) {
        // Full: the instance nearest its expiry makes room (a flood of forgeries ages out, and the
        // real nodes, which answer every query, come back), and the refusal is counted.
        refusedTable++;
        PeerId oldest = null;
        for (Found e : peers.values()) {
          if (oldest == null || e.expiresAt() - peers.get(oldest).expiresAt() < 0) oldest = e.peer().id();
        }
        peers.remove(oldest);
        instances.values().remove(oldest);
      }
      peers.put(f.peer().id(), f);
      instances.put(name, f.peer().id());
      if (instances.size() > 2 * MAX_PEERS) instances.keySet().retainAll(instancesOf(peers.keySet()));
      if (before == null || !before.peer().equals(f.peer()) || !java.util.Objects.equals(before.streams(), f.streams())) {
        if (before == null) found++;
        onFound.accept(f);
      }
    }
  }

  /**
   * A goodbye for an instance, by its name: it is forgotten a second later (RFC 6762 10.1), and
   * asked about at once, so that a forged goodbye costs a real node no more than that second.
   */
  private void goodbye(String name, long now) {
    PeerId id = instances.get(name);
    Found f = id == null ? null : peers.get(id);
    if (f == null) return;
    goodbyes++;
    peers.put(id, new Found(f.peer(), f.streams(), Math.min(f.expiresAt(), now + SECOND)));
    if (now - lastQueryAt >= SECOND) query();
  }

  private java.util.Collection<String> instancesOf(Set<PeerId> ids) {
    List<String> out = new ArrayList<>();
    instances.forEach((k, v) -> {
      if (ids.contains(v)) out.add(k);
    });
    return out;
  }

  /** An instance from its TXT strings, or null when they do not describe an Overlay node this one can speak to. */
  private static Found parse(List<String> txt, byte[] ip, int port, long expiresAt) {
    PeerId id = null;
    long incarnation = 0;
    int version = -1;
    Set<String> seen = new java.util.HashSet<>();
    Set<Long> streams = new LinkedHashSet<>();
    boolean anyStream = false;
    for (String s : txt) {
      int eq = s.indexOf('=');
      if (eq < 0) continue;
      String k = s.substring(0, eq).toLowerCase(Locale.ROOT);
      String v = s.substring(eq + 1);
      if (!seen.add(k)) continue; // a key given twice: the first counts (RFC 6763 6.4)
      if (k.matches("s[2-9]")) k = "s";
      try {
        switch (k) {
          case "id" -> id = id(v);
          case "inc" -> incarnation = Long.parseLong(v);
          case "v" -> version = Integer.parseInt(v);
          case "s" -> {
            if (v.equals("*")) {
              anyStream = true;
            } else {
              for (String hex : v.split(",")) {
                if (!hex.isEmpty() && streams.size() < MAX_STREAMS) streams.add(Long.parseUnsignedLong(hex, 16));
              }
            }
          }
          default -> { }
        }
      } catch (NumberFormatException e) {
        return null;
      }
    }
    if (id == null || version < WireCodec.MIN_PROTOCOL_VERSION || port <= 0) return null;
    String host = (ip[0] & 0xFF) + "." + (ip[1] & 0xFF) + "." + (ip[2] & 0xFF) + "." + (ip[3] & 0xFF);
    PeerInfo peer = new PeerInfo(id, incarnation, List.of(new Candidate(Candidate.Kind.LOCAL, host, port)));
    return new Found(peer, anyStream ? null : Collections.unmodifiableSet(streams), expiresAt);
  }

  private static PeerId id(String hex) {
    try {
      return PeerId.fromBytes(HexFormat.of().parseHex(hex));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private void expire(long now) {
    if (peers.values().removeIf(f -> now - f.expiresAt() >= 0)) instances.values().retainAll(peers.keySet());
  }

  /** The four bytes of an IPv4 literal, or null (a name or IPv6 is not looked up here: this runs on the loop). */
  private static byte[] ipv4Literal(String host) {
    if (host == null || !host.matches("\\d{1,3}(\\.\\d{1,3}){3}")) return null;
    String[] parts = host.split("\\.");
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      int v = Integer.parseInt(parts[i]);
      if (v > 255) return null;
      b[i] = (byte) v;
    }
    return b;
  }

  private boolean onLink(InetAddress a) {
    return a instanceof Inet4Address && onLink(a.getAddress());
  }

  private boolean onLink(byte[] ip) {
    for (InterfaceAddress s : subnets) {
      byte[] net = s.getAddress().getAddress();
      int bits = s.getNetworkPrefixLength();
      if (bits <= 0 || bits > 32) continue;
      int mask = bits == 32 ? -1 : ~((1 << (32 - bits)) - 1);
      if ((toInt(net) & mask) == (toInt(ip) & mask)) return true;
    }
    return false;
  }

  private static int toInt(byte[] b) {
    return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
  }

  private static List<InterfaceAddress> append(List<InterfaceAddress> list, InterfaceAddress a) {
    List<InterfaceAddress> out = new ArrayList<>(list);
    out.add(a);
    return List.copyOf(out);
  }

  /**
   * The interface named, or the listen address's, or the first up, multicast, non-loopback one
   * with IPv4. Off the loop: a listen host given by name is looked up.
   */
  public static NetworkInterface pickInterface(String name, String listenHost) throws SocketException {
    if (name != null) {
      NetworkInterface ni = NetworkInterface.getByName(name);
      if (ni == null) throw new SocketException("no network interface named " + name);
      byte[] listening = ipv4Literal(listenHost);
      if (listening != null && listening[0] != 0) {
        boolean on = false;
        for (InterfaceAddress ia : ni.getInterfaceAddresses()) on |= java.util.Arrays.equals(ia.getAddress().getAddress(), listening);
        if (!on) throw new SocketException("the node listens on " + listenHost + ", which is not an address of " + name + ": peers found there could not reach it");
      }
      return ni;
    }
    if (listenHost != null && !listenHost.isEmpty() && !listenHost.equals("0.0.0.0")) {
      try {
        NetworkInterface ni = NetworkInterface.getByInetAddress(InetAddress.getByName(listenHost));
        if (ni != null) return ni;
      } catch (java.net.UnknownHostException e) {
        // fall through to the first usable interface
      }
    }
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!ni.isUp() || ni.isLoopback() || !ni.supportsMulticast()) continue;
      for (InterfaceAddress a : ni.getInterfaceAddresses()) {
        if (a.getAddress() instanceof Inet4Address) return ni;
      }
    }
    throw new SocketException("no interface is up with multicast and an IPv4 address: name one (lanDiscoveryInterface)");
  }
}
