package dev.overlay.tracker;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * A tracker's whole logic, with no IO: which nodes are in which stream, and whom to introduce
 * to a joiner. Input is (now, sender, source address, message); output goes to an
 * {@link Replies}. The server feeds it from its links, the simulator from virtual ones, tests
 * directly.
 *
 * <p>Everything is soft state. A registration lives {@code registrationTtl} after the node's
 * last status for the stream; nodes re-send theirs every heartbeat, so a restarted tracker
 * knows its streams again within one heartbeat interval. A status carries the node's
 * incarnation and a counter that grows with every status that incarnation sends for the
 * stream. A higher incarnation is a restart and replaces the registration at once, whatever
 * its counter; a counter not above the one held, from the same incarnation, arrived late and
 * is answered {@code STALE} (or, if it asked for peers, with peers anyway).
 *
 * <p>Every table has a cap, and so does every identity and every source address: streams per
 * node, registrations per address, identities per address in one stream. Requests are
 * rate-limited per node. Introductions spread over source addresses and prefer members
 * registered for {@code establishedAge} ({@link #sample}), so that a burst of fresh identities
 * from a few addresses cannot take over what newcomers are told.
 *
 * <p>Not thread-safe: one thread (the server's loop) owns it.
 */
public final class TrackerState {

  /** Where the tracker's answers go. */
  public interface Replies {
    void send(PeerId to, Message.TrackerMessage message);

    /** The newest protocol version the link to {@code node} speaks (0: no link). */
    default int version(PeerId node) {
      return dev.overlay.wire.WireCodec.PROTOCOL_VERSION;
    }
  }

  /** Where relayed links are arranged: the tracker's {@link RelayServer}, or a fake in tests. */
  public interface Relay {
    /** A single-use ticket for {@code a} and {@code b} to meet at the relay, or a refusal. */
    Offer open(long now, PeerId a, PeerId b);

    /**
     * Where to connect, and the token each presents ({@code tokenA} is {@code a}'s: a token
     * opens only its holder's end); or, with {@code refused} set, why not.
     */
    record Offer(String host, int port, byte[] tokenA, byte[] tokenB, String refused) {}
  }

  /** The tracker's counters at one moment, for metrics. */
  public record Stats(long registers, long joinsAnswered, long leaves, long stale, long expired, long restarts,
      long refusedRateLimited, long refusedFull, long refusedQuota, long refusedInvalid, long punchesArranged,
      long punchesRefused, long relaysArranged, long relaysRefused, long reachabilityRefused) {}

  /** The live counts behind {@link Stats}. */
  private static final class Tally {
    long registers;
    long joinsAnswered;
    long leaves;
    long stale;
    long expired;
    long restarts;
    long refusedRateLimited;
    long refusedFull;
    long refusedQuota;
    long refusedInvalid;
    long punchesArranged;
    long punchesRefused;
    long relaysArranged;
    long relaysRefused;
    long reachabilityRefused;
  }

  private static final class Registration {
    PeerInfo info;
    long counter;
    long lastSeen;
    long since; // registered at, for preferring established members
    Group group; // the stream's members from the same source /24 or /48
    String source; // the address the node's tracker link comes from, as a literal
    int index; // in Members.ids
    int groupIndex; // in group.ids
    boolean storage; // listed in Members.storage: it keeps the stream's history
  }

  /** A stream's members from one source group (IPv4 /24, IPv6 /48). */
  private static final class Group {
    final String key;
    final ArrayList<PeerId> ids = new ArrayList<>();
    int index; // in Members.groups

    Group(String key) {
      this.key = key;
    }
  }

  /**
   * One stream's members: a list for sampling, a map for lookups, and the same again by source
   * group, so that introductions can sample groups rather than identities. Indexes kept in step.
   */
  private static final class Members {
    final ArrayList<PeerId> ids = new ArrayList<>();
    final HashMap<PeerId, Registration> byId = new HashMap<>();
    final ArrayList<Group> groups = new ArrayList<>();
    final HashMap<String, Group> groupsByKey = new HashMap<>();
    /** Members registered as storage nodes, at most {@link #MAX_STORAGE_PER_STREAM}, first registered first. */
    final ArrayList<Registration> storage = new ArrayList<>();

    /** Lists or unlists the member as a storage node; past the cap a new one is not listed. */
    void storage(Registration r, boolean keeps) {
      if (keeps == r.storage) return;
      if (keeps && storage.size() >= MAX_STORAGE_PER_STREAM) return;
      r.storage = keeps;
      if (keeps) storage.add(r);
      else storage.remove(r);
    }

    int inGroup(String key) {
      Group g = groupsByKey.get(key);
      return g == null ? 0 : g.ids.size();
    }

    void add(PeerId id, Registration r, String groupKey) {
      r.index = ids.size();
      ids.add(id);
      byId.put(id, r);
      Group g = groupsByKey.get(groupKey);
      if (g == null) {
        g = new Group(groupKey);
        g.index = groups.size();
        groups.add(g);
        groupsByKey.put(groupKey, g);
      }
      r.group = g;
      r.groupIndex = g.ids.size();
      g.ids.add(id);
    }

    Registration remove(PeerId id) {
      Registration r = byId.remove(id);
      storage(r, false);
      swapRemove(ids, r.index, moved -> byId.get(moved).index = r.index);
      Group g = r.group;
      swapRemove(g.ids, r.groupIndex, moved -> byId.get(moved).groupIndex = r.groupIndex);
      if (g.ids.isEmpty()) {
        int at = g.index;
        swapRemove(groups, at, moved -> moved.index = at);
        groupsByKey.remove(g.key);
      }
      return r;
    }

    /** Removes position i by moving the last element into it (O(1)); tells the caller who moved. */
    private static <T> void swapRemove(ArrayList<T> list, int i, java.util.function.Consumer<T> moved) {
      int last = list.size() - 1;
      if (i != last) {
        T m = list.get(last);
        list.set(i, m);
        moved.accept(m);
      }
      list.remove(last);
    }
  }

  /** A token bucket per node. */
  private static final class Bucket {
    double tokens;
    long updated;
  }

  /**
   * Storage nodes listed per stream. A claim costs nothing, so the list is first come, first
   * served: established storage nodes keep their places (they re-register every heartbeat) and a
   * flood of new claimants finds it full. Answers name the longest-registered first.
   */
  static final int MAX_STORAGE_PER_STREAM = 64;
  /** Storage nodes from one source group named in one answer at most. */
  static final int STORAGE_PER_GROUP = 2;

  /** The most source groups looked at to answer one joiner, however many the stream has. */
  private static final int POOL_GROUPS = 64;

  private final TrackerConfig config;
  private final RandomGenerator random;
  private final Map<StreamId, Members> streams = new HashMap<>();
  private final LinkedHashMap<PeerId, Bucket> buckets;
  private int registrations;
  /** Streams each node is registered in, and registrations per source group: the quotas. */
  private final HashMap<PeerId, HashSet<StreamId>> streamsOf = new HashMap<>();
  private final HashMap<String, Integer> registrationsPerGroup = new HashMap<>();
  private final Tally stats = new Tally();

  public TrackerState(TrackerConfig config, RandomGenerator random) {
    this.config = config;
    this.random = random;
    int cap = config.maxRateLimitedNodes();
    this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<PeerId, Bucket> eldest) {
        return size() > cap; // the least recently heard node's bucket goes first
      }
    };
    this.lastChecked = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<PeerId, Long> eldest) {
        return size() > cap;
      }
    };
  }

  /** A message from node {@code from} (the link's authenticated id), from an unknown address. */
  public void handle(long now, PeerId from, Message.TrackerMessage message, Replies out) {
    handle(now, from, "", message, out);
  }

  /**
   * A message from node {@code from} (the link's authenticated id), whose connection comes from
   * {@code sourceHost} (a literal address; the per-address quotas count its /24 or /48).
   */
  public void handle(long now, PeerId from, String sourceHost, Message.TrackerMessage message, Replies out) {
    if (message instanceof Message.TrackerRegister m) {
      register(now, from, sourceHost, m, out);
    } else if (message instanceof Message.PunchRequest m) {
      punch(now, from, m, out);
    } else if (message instanceof Message.RelayRequest m) {
      relay(now, from, m, out);
    } else if (message instanceof Message.ReachabilityRequest m) {
      reachability(now, from, sourceHost, m, out);
    } else if (message instanceof Message.TrackerLeave m) {
      leave(from, m);
    } else {
      stats.refusedInvalid++;
      out.send(from, new Message.TrackerRefused(message.stream(), Message.RefusalReason.INVALID, 0,
          "a tracker takes registrations, leaves, punch, relay and reachability requests only"));
    }
  }

  private void register(long now, PeerId from, String sourceHost, Message.TrackerRegister m, Replies out) {
    String group = group(sourceHost);
    StreamId stream = m.stream();
    if (!m.node().id().equals(from)) {
      stats.refusedInvalid++;
      out.send(from, new Message.TrackerRefused(stream, Message.RefusalReason.INVALID, 0, "a node registers only itself"));
      return;
    }
    long wait = takeToken(now, from);
    if (wait > 0) {
      stats.refusedRateLimited++;
      out.send(from, new Message.TrackerRefused(stream, Message.RefusalReason.RATE_LIMITED, Math.max(1, wait / 1_000_000),
          "more than " + config.requestsPerSecond() + " requests a second"));
      return;
    }
    Members members = streams.get(stream);
    Registration r = members == null ? null : members.byId.get(from);
    long incarnation = m.node().incarnation();
    if (r != null && incarnation < r.info.incarnation()) {
      stats.stale++; // from a run of the node that has since restarted
      out.send(from, new Message.TrackerRefused(stream, Message.RefusalReason.STALE, 0,
          "incarnation " + incarnation + " is older than the " + r.info.incarnation() + " registered"));
      return;
    }
    if (r != null && incarnation == r.info.incarnation() && m.counter() <= r.counter) {
      stats.stale++; // a status overtaken by a newer one from the same run of the node
      if (m.wantPeers()) {
        stats.joinsAnswered++;
        out.send(from, new Message.TrackerPeers(stream, m.counter(), sample(now, members, from), storageNodes(now, members, from)));
      } else {
        out.send(from, new Message.TrackerRefused(stream, Message.RefusalReason.STALE, 0,
            "counter " + m.counter() + " is not above the " + r.counter + " held"));
      }
      return;
    }
    if (r != null && incarnation > r.info.incarnation()) stats.restarts++;
    if (r == null) {
      String full = refusal(members, from, group);
      if (full != null) {
        out.send(from, new Message.TrackerRefused(stream, Message.RefusalReason.FULL, config.registrationTtlNanos() / 1_000_000, full));
        return;
      }
      if (members == null) {
        members = new Members();
        streams.put(stream, members);
      }
      r = new Registration();
      r.since = now;
      members.add(from, r, group);
      streamsOf.computeIfAbsent(from, k -> new HashSet<>()).add(stream);
      registrationsPerGroup.merge(group, 1, Integer::sum);
      registrations++;
    }
    r.info = m.node();
    r.source = sourceHost;
    r.counter = m.counter();
    r.lastSeen = now;
    members.storage(r, m.storage());
    stats.registers++;
    if (m.wantPeers()) {
      stats.joinsAnswered++;
      out.send(from, new Message.TrackerPeers(stream, m.counter(), sample(now, members, from), storageNodes(now, members, from)));
    }
  }

  /**
   * How long after the signal the requester of a punch connects: shortly after both have heard.
   * The other node connects {@link #PUNCH_STAGGER_MILLIS} later. When two SYNs cross exactly,
   * each reaches the other's NAT before that NAT has seen its own host's SYN, both are dropped,
   * and TCP resends them only a second later (seen in the NAT lab: 972 ms instead of 8). One SYN
   * a little ahead opens its NAT for the other.
   */
  static final int PUNCH_DELAY_MILLIS = 100;
  static final int PUNCH_STAGGER_MILLIS = 50;

  /**
   * A node could not dial {@code m.peer()}: both are told to connect to each other at once, if
   * they share a stream here. Each is told only the other's reflexive candidates at the address
   * its tracker link comes from: a node cannot make another dial an address it does not itself
   * send from. Rate-limited with the requester's other requests.
   */
  private void punch(long now, PeerId from, Message.PunchRequest m, Replies out) {
    long wait = takeToken(now, from);
    String refused = wait > 0 ? "more than " + config.requestsPerSecond() + " requests a second"
        : m.peer().equals(from) ? "a node cannot punch to itself" : null;
    StreamId shared = refused != null ? null : shared(from, m.stream(), m.peer());
    if (refused == null && shared == null) refused = "no stream in common with that node at this tracker";
    if (refused == null) refused = tooOld(m.peer(), out);
    Registration a = shared == null ? null : streams.get(shared).byId.get(from);
    Registration b = shared == null ? null : streams.get(shared).byId.get(m.peer());
    PeerInfo toA = b == null ? null : reflexiveAt(b);
    PeerInfo toB = a == null ? null : reflexiveAt(a);
    if (refused == null && toA == null) refused = "that node has no reflexive candidate at the address it talks to the tracker from";
    if (refused == null && toB == null) refused = "this node has no reflexive candidate at the address it talks to the tracker from";
    if (refused != null) {
      if (wait > 0) stats.refusedRateLimited++;
      stats.punchesRefused++;
      out.send(from, new Message.PunchRefused(m.stream(), m.peer(), m.nonce(), refused));
      return;
    }
    stats.punchesArranged++;
    out.send(from, new Message.PunchGo(shared, toA, PUNCH_DELAY_MILLIS, m.nonce()));
    out.send(m.peer(), new Message.PunchGo(shared, toB, PUNCH_DELAY_MILLIS + PUNCH_STAGGER_MILLIS, m.nonce()));
  }

  /** Connects back to nodes that ask whether they are reachable (the tracker's {@link DialBack}, or a fake in tests). */
  public interface DialBack {
    /**
     * Connects to {@code addresses} in turn and proves {@code node}'s key there; {@code done}
     * gets the address reached ("host:port"; "" for none; null when it did not check, being
     * busy) and a detail, later, on the tracker's loop.
     */
    void check(PeerId node, List<java.net.InetSocketAddress> addresses, java.util.function.BiConsumer<String, String> done);
  }

  private volatile DialBack dialBack;

  public void dialBack(DialBack dialBack) {
    this.dialBack = dialBack;
  }

  /** How often one node may have the tracker connect back to it. */
  static final long REACHABILITY_MIN_INTERVAL_NANOS = 60_000_000_000L;
  /** When each node was last checked: an LRU as large as the rate table. */
  private final LinkedHashMap<PeerId, Long> lastChecked;

  /**
   * A node asks whether it can be reached: the tracker connects back to its candidates at the
   * address its link comes from, and only there (at most 2), so no node can aim the tracker at
   * another host; once a minute per node at most, and within its request rate. A refusal says
   * so (REFUSED), and is not a verdict.
   */
  private void reachability(long now, PeerId from, String sourceHost, Message.ReachabilityRequest m, Replies out) {
    long wait = takeToken(now, from);
    DialBack d = dialBack;
    Members members = streams.get(m.stream());
    Registration r = members == null ? null : members.byId.get(from);
    Long last = lastChecked.get(from);
    String refused = wait > 0 ? "more than " + config.requestsPerSecond() + " requests a second"
        : d == null ? "this tracker does not check reachability"
        : r == null ? "not registered in that stream here"
        : last != null && now - last < REACHABILITY_MIN_INTERVAL_NANOS ? "checked less than a minute ago"
        : null;
    List<java.net.InetSocketAddress> at = new ArrayList<>();
    if (refused == null) {
      for (dev.overlay.core.Candidate c : r.info.candidates()) {
        if (sameHost(c.host(), sourceHost) && at.size() < 2) {
          at.add(new java.net.InetSocketAddress(sourceHost, c.port())); // the literal the link comes from: no lookup
        }
      }
      if (at.isEmpty()) refused = "no candidate at the address this tracker sees the node at (" + sourceHost + ")";
    }
    if (refused != null) {
      if (wait > 0) stats.refusedRateLimited++;
      stats.reachabilityRefused++;
      out.send(from, new Message.Reachability(m.stream(), m.nonce(), Message.Reachability.Outcome.REFUSED, "", refused));
      return;
    }
    lastChecked.put(from, now);
    d.check(from, at, (reached, detail) -> out.send(from, new Message.Reachability(m.stream(), m.nonce(),
        reached == null ? Message.Reachability.Outcome.REFUSED : reached.isEmpty() ? Message.Reachability.Outcome.NOT_REACHED
            : Message.Reachability.Outcome.REACHED, reached == null ? "" : reached, detail.length() > 400 ? detail.substring(0, 400) : detail)));
  }

  /** Relays links when set (the tracker's --relay-port); set before the tracker takes requests. */
  private volatile Relay relay;

  public void relay(Relay relay) {
    this.relay = relay;
  }

  /**
   * A node's punch to {@code m.peer()} failed: if this tracker relays and both share a stream
   * here, both are told to meet at the relay with one single-use token. Rate-limited with the
   * requester's other requests; the relay's own limits may refuse it too.
   */
  private void relay(long now, PeerId from, Message.RelayRequest m, Replies out) {
    long wait = takeToken(now, from);
    Relay r = relay;
    String refused = wait > 0 ? "more than " + config.requestsPerSecond() + " requests a second"
        : r == null ? "this tracker does not relay"
        : m.peer().equals(from) ? "a node cannot be relayed to itself" : null;
    StreamId shared = refused != null ? null : shared(from, m.stream(), m.peer());
    if (refused == null && shared == null) refused = "no stream in common with that node at this tracker";
    if (refused == null) refused = tooOld(m.peer(), out);
    Relay.Offer offer = refused != null ? null : r.open(now, from, m.peer());
    if (offer != null && offer.refused() != null) refused = offer.refused();
    if (refused != null) {
      if (wait > 0) stats.refusedRateLimited++;
      stats.relaysRefused++;
      out.send(from, new Message.PunchRefused(m.stream(), m.peer(), m.nonce(), refused));
      return;
    }
    Members members = streams.get(shared);
    stats.relaysArranged++;
    out.send(from, new Message.RelayGo(shared, members.byId.get(m.peer()).info, offer.host(), offer.port(), offer.tokenA(), m.nonce()));
    out.send(m.peer(), new Message.RelayGo(shared, members.byId.get(from).info, offer.host(), offer.port(), offer.tokenB(), m.nonce()));
  }

  /** Why the peer cannot be sent a punch or relay signal (its link speaks an older version, or is gone), or null. */
  private static String tooOld(PeerId peer, Replies out) {
    int v = out.version(peer);
    return v == 0 ? "that node has no link to this tracker now"
        : v < dev.overlay.wire.WireCodec.PUNCH_PROTOCOL_VERSION ? "that node speaks protocol version " + v + ", without hole punching"
        : null;
  }

  /** A live stream both nodes are registered in here ({@code hint} first), or null. */
  private StreamId shared(PeerId a, StreamId hint, PeerId b) {
    Members m = streams.get(hint);
    if (m != null && m.byId.containsKey(a) && m.byId.containsKey(b)) return hint;
    HashSet<StreamId> as = streamsOf.get(a);
    HashSet<StreamId> bs = streamsOf.get(b);
    if (as == null || bs == null) return null;
    for (StreamId s : as.size() <= bs.size() ? as : bs) {
      if ((as.size() <= bs.size() ? bs : as).contains(s)) return s; // at most maxStreamsPerNode looked at
    }
    return null;
  }

  /** The registration's node with only its reflexive candidates at its link's source address; null if none. */
  private static PeerInfo reflexiveAt(Registration r) {
    List<dev.overlay.core.Candidate> kept = new ArrayList<>();
    for (dev.overlay.core.Candidate c : r.info.candidates()) {
      if (c.kind() == dev.overlay.core.Candidate.Kind.REFLEXIVE && sameHost(c.host(), r.source)) kept.add(c);
    }
    return kept.isEmpty() ? null : new PeerInfo(r.info.id(), r.info.incarnation(), kept);
  }

  /** Whether a candidate's host is the literal address {@code source} (no lookups: names never match). */
  private static boolean sameHost(String host, String source) {
    if (source == null || source.isEmpty()) return false;
    if (host.equalsIgnoreCase(source)) return true;
    if (!ipv6Literal(host) || !ipv6Literal(source)) return false;
    try { // two spellings of one IPv6 literal: parsed only as literals, never looked up
      return java.net.InetAddress.getByName(host).equals(java.net.InetAddress.getByName(source));
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** Whether the JDK parses {@code s} as an IPv6 literal (or refuses it) rather than looking it up. */
  private static boolean ipv6Literal(String s) {
    return s.indexOf(':') >= 0 && (Character.digit(s.charAt(0), 16) >= 0 || s.charAt(0) == ':');
  }

  /** Why a new registration would pass a cap or a quota, or null when it fits. Counts the refusal. */
  private String refusal(Members members, PeerId from, String group) {
    String full = members == null && streams.size() >= config.maxStreams() ? "the tracker holds its maximum of streams (" + config.maxStreams() + ")"
        : members != null && members.ids.size() >= config.maxMembersPerStream() ? "the tracker holds its maximum of members of this stream (" + config.maxMembersPerStream() + ")"
        : registrations >= config.maxRegistrations() ? "the tracker holds its maximum of registrations (" + config.maxRegistrations() + ")"
        : null;
    if (full != null) {
      stats.refusedFull++;
      return full;
    }
    HashSet<StreamId> held = streamsOf.get(from);
    String quota = held != null && held.size() >= config.maxStreamsPerNode()
        ? "this node is registered in its maximum of streams (" + config.maxStreamsPerNode() + ")"
        : registrationsPerGroup.getOrDefault(group, 0) >= config.maxRegistrationsPerAddress()
        ? "this source address holds its maximum of registrations (" + config.maxRegistrationsPerAddress() + ")"
        : members != null && members.inGroup(group) >= config.maxIdentitiesPerAddressPerStream()
        ? "this stream holds its maximum of nodes from this source address (" + config.maxIdentitiesPerAddressPerStream() + ")"
        : null;
    if (quota != null) stats.refusedQuota++;
    return quota;
  }

  private void leave(PeerId from, Message.TrackerLeave m) {
    Members members = streams.get(m.stream());
    Registration r = members == null ? null : members.byId.get(from);
    if (r == null) return;
    if (m.counter() <= r.counter) {
      stats.stale++;
      return;
    }
    removeMember(m.stream(), members, from);
    stats.leaves++;
  }

  /**
   * Up to {@code peersPerAnswer} live members other than {@code self}. Groups of members by
   * source address (/24, /48) are sampled, not members: each group gives at most an even share
   * of the answer, and members registered for {@code establishedAge} come first. A crowd of
   * fresh identities from a few addresses then gets a few slots, not the whole answer, and
   * established members in groups of their own are always among the candidates; a stream whose
   * members all share an address (one LAN, loopback) is answered as before. Random within each
   * tier, so no member becomes every newcomer's contact.
   */
  private List<PeerInfo> sample(long now, Members members, PeerId self) {
    int n = members.ids.size();
    int want = Math.min(config.peersPerAnswer(), n - 1);
    List<PeerInfo> out = new ArrayList<>(Math.max(0, want));
    if (want <= 0) return out;
    int groupCount = members.groups.size();
    int visit = Math.min(groupCount, POOL_GROUPS);
    int perGroup = Math.max(1, (want + visit - 1) / visit);
    List<Registration> pool = new ArrayList<>();
    HashSet<Integer> visited = new HashSet<>();
    for (int tries = 0; visited.size() < visit && tries < 4 * visit; tries++) {
      int gi = groupCount <= POOL_GROUPS ? visited.size() : random.nextInt(groupCount);
      if (visited.add(gi)) collect(members, members.groups.get(gi), 2 * perGroup + 1, pool); // + 1: self may be among them
    }
    pool.removeIf(r -> r.info.id().equals(self) || !live(now, r));
    for (int i = pool.size() - 1; i > 0; i--) Collections.swap(pool, i, random.nextInt(i + 1));
    IdentityHashMap<Group, Integer> taken = new IdentityHashMap<>();
    for (int tier = 0; tier < 2 && out.size() < want; tier++) {
      for (Registration r : pool) {
        if (out.size() >= want) break;
        boolean established = now - r.since >= config.establishedAgeNanos();
        if (established != (tier == 0)) continue;
        if (taken.getOrDefault(r.group, 0) >= perGroup) continue;
        taken.merge(r.group, 1, Integer::sum);
        out.add(r.info);
      }
    }
    return out;
  }

  /**
   * The stream's storage nodes to name to {@code self}: live ones, longest registered first (a
   * newcomer cannot push out one that has served for long), at most {@link #STORAGE_PER_GROUP}
   * from one source group, at most {@code TrackerPeers.MAX_STORAGE_NODES}.
   */
  private List<PeerInfo> storageNodes(long now, Members members, PeerId self) {
    if (members.storage.isEmpty()) return List.of();
    List<Registration> byAge = new ArrayList<>(members.storage);
    byAge.sort((a, b) -> Long.compare(a.since, b.since));
    List<PeerInfo> out = new ArrayList<>();
    IdentityHashMap<Group, Integer> taken = new IdentityHashMap<>();
    for (Registration r : byAge) {
      if (out.size() >= Message.TrackerPeers.MAX_STORAGE_NODES) break;
      if (r.info.id().equals(self) || !live(now, r)) continue;
      if (taken.getOrDefault(r.group, 0) >= STORAGE_PER_GROUP) continue;
      taken.merge(r.group, 1, Integer::sum);
      out.add(r.info);
    }
    return out;
  }

  /** Up to {@code take} distinct random members of the group, into {@code pool}. */
  private void collect(Members members, Group g, int take, List<Registration> pool) {
    int size = g.ids.size();
    if (size <= take) {
      for (PeerId id : g.ids) pool.add(members.byId.get(id));
      return;
    }
    HashSet<Integer> picked = new HashSet<>();
    for (int tries = 0; picked.size() < take && tries < 4 * take; tries++) {
      int i = random.nextInt(size);
      if (picked.add(i)) pool.add(members.byId.get(g.ids.get(i)));
    }
  }

  /** The quota group of a source address: its /24 (IPv4) or /48 (IPv6); the host itself otherwise. */
  static String group(String host) {
    if (host == null || host.isEmpty()) return "";
    if (host.indexOf(':') >= 0) {
      String[] parts = host.split(":", -1);
      return parts.length >= 3 ? parts[0] + ":" + parts[1] + ":" + parts[2] + "::/48" : host;
    }
    int dot = host.lastIndexOf('.');
    long dots = host.chars().filter(c -> c == '.').count();
    return dot > 0 && dots == 3 ? host.substring(0, dot) + ".0/24" : host;
  }

  private boolean live(long now, Registration r) {
    return now - r.lastSeen <= config.registrationTtlNanos();
  }

  /** Forgets registrations not refreshed within {@code registrationTtl}. Call every few seconds. */
  public int expire(long now) {
    int removed = 0;
    for (Iterator<Map.Entry<StreamId, Members>> it = streams.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<StreamId, Members> e = it.next();
      Members members = e.getValue();
      for (int i = members.ids.size() - 1; i >= 0; i--) {
        PeerId id = members.ids.get(i);
        if (!live(now, members.byId.get(id))) {
          forgetQuota(e.getKey(), id, members.remove(id));
          registrations--;
          removed++;
        }
      }
      if (members.ids.isEmpty()) it.remove();
    }
    stats.expired += removed;
    return removed;
  }

  private void removeMember(StreamId stream, Members members, PeerId id) {
    forgetQuota(stream, id, members.remove(id));
    registrations--;
    if (members.ids.isEmpty()) streams.remove(stream);
  }

  private void forgetQuota(StreamId stream, PeerId id, Registration r) {
    HashSet<StreamId> held = streamsOf.get(id);
    if (held != null && held.remove(stream) && held.isEmpty()) streamsOf.remove(id);
    registrationsPerGroup.computeIfPresent(r.group.key, (k, n) -> n == 1 ? null : n - 1);
  }

  /** 0 if the node may make a request now, else how many nanoseconds until it may. */
  private long takeToken(long now, PeerId node) {
    Bucket b = buckets.get(node);
    if (b == null) {
      b = new Bucket();
      b.tokens = config.requestBurst();
      b.updated = now;
      buckets.put(node, b);
    }
    double perNano = config.requestsPerSecond() / 1e9;
    b.tokens = Math.min(config.requestBurst(), b.tokens + (now - b.updated) * perNano);
    b.updated = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - b.tokens) / perNano);
  }

  // ---- Introspection ----------------------------------------------------------------------

  public int registrations() {
    return registrations;
  }

  public int streams() {
    return streams.size();
  }

  /** The stream's registered members, in no particular order. */
  public List<PeerId> members(StreamId stream) {
    Members m = streams.get(stream);
    return m == null ? List.of() : List.copyOf(m.ids);
  }

  /** The counters now, as an immutable value. */
  public Stats stats() {
    Tally t = stats;
    return new Stats(t.registers, t.joinsAnswered, t.leaves, t.stale, t.expired, t.restarts, t.refusedRateLimited,
        t.refusedFull, t.refusedQuota, t.refusedInvalid, t.punchesArranged, t.punchesRefused, t.relaysArranged, t.relaysRefused,
        t.reachabilityRefused);
  }

  public TrackerConfig config() {
    return config;
  }

  /**
   * Checks the tables against each other and their caps; returns the violations (none when
   * healthy). Tests and the simulator call it after every step.
   */
  public List<String> invariantViolations() {
    List<String> v = new ArrayList<>();
    int total = 0;
    if (streams.size() > config.maxStreams()) v.add("streams " + streams.size() + " over cap " + config.maxStreams());
    for (Map.Entry<StreamId, Members> e : streams.entrySet()) {
      Members m = e.getValue();
      if (m.ids.isEmpty()) v.add("stream " + e.getKey() + " kept with no members");
      if (m.ids.size() != m.byId.size()) v.add("stream " + e.getKey() + ": list and map disagree in size");
      if (m.ids.size() > config.maxMembersPerStream()) v.add("stream " + e.getKey() + " over member cap");
      int inGroups = 0;
      for (int gi = 0; gi < m.groups.size(); gi++) {
        Group g = m.groups.get(gi);
        inGroups += g.ids.size();
        if (g.index != gi || g.ids.isEmpty() || m.groupsByKey.get(g.key) != g) v.add("stream " + e.getKey() + ": group table out of step");
        if (g.ids.size() > config.maxIdentitiesPerAddressPerStream()) v.add("stream " + e.getKey() + ": a group over its quota");
      }
      if (inGroups != m.ids.size() || m.groupsByKey.size() != m.groups.size()) v.add("stream " + e.getKey() + ": groups hold " + inGroups + " of " + m.ids.size());
      for (int i = 0; i < m.ids.size(); i++) {
        Registration r = m.byId.get(m.ids.get(i));
        if (r == null) v.add("stream " + e.getKey() + ": listed member without registration");
        else if (r.index != i) v.add("stream " + e.getKey() + ": index " + r.index + " recorded at position " + i);
        else if (!r.info.id().equals(m.ids.get(i))) v.add("stream " + e.getKey() + ": registration under another node's id");
        else if (r.group.ids.get(r.groupIndex) != m.ids.get(i)) v.add("stream " + e.getKey() + ": group index out of step");
      }
      if (m.storage.size() > MAX_STORAGE_PER_STREAM) v.add("stream " + e.getKey() + ": storage list over its cap");
      int flagged = 0;
      for (Registration r : m.byId.values()) if (r.storage) flagged++;
      for (Registration r : m.storage) {
        if (!r.storage || m.byId.get(r.info.id()) != r) v.add("stream " + e.getKey() + ": storage list names a registration not flagged or gone");
      }
      if (flagged != m.storage.size()) v.add("stream " + e.getKey() + ": " + flagged + " flagged storage, " + m.storage.size() + " listed");
      total += m.ids.size();
    }
    if (total != registrations) v.add("registration count " + registrations + " but " + total + " held");
    if (registrations > config.maxRegistrations()) v.add("registrations over cap");
    int perNode = 0;
    for (HashSet<StreamId> held : streamsOf.values()) {
      int n = held.size();
      perNode += n;
      if (n > config.maxStreamsPerNode()) v.add("a node over its stream quota");
    }
    if (perNode != registrations) v.add("per-node counts sum to " + perNode + ", not " + registrations);
    int perGroup = 0;
    for (int n : registrationsPerGroup.values()) {
      perGroup += n;
      if (n > config.maxRegistrationsPerAddress()) v.add("an address over its registration quota");
    }
    if (perGroup != registrations) v.add("per-address counts sum to " + perGroup + ", not " + registrations);
    if (buckets.size() > config.maxRateLimitedNodes()) v.add("rate table over cap");
    return v;
  }
}
