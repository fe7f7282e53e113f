package dev.overlay.tracker;

import dev.overlay.core.Message;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * A tracker's whole logic, with no IO: which nodes are in which stream, and whom to introduce
 * to a joiner. Input is (now, sender, message); output goes to an {@link Outbox}. The server
 * feeds it from its links, the simulator from virtual ones, tests directly.
 *
 * <p>Everything is soft state. A registration lives {@code registrationTtl} after the node's
 * last status for the stream; nodes re-send theirs every heartbeat, so a restarted tracker
 * knows its streams again within one heartbeat interval. A status carries a counter that grows
 * with every status the node sends for the stream: one older than what the tracker holds
 * arrived late and is dropped. Every table has a cap; requests are rate-limited per node.
 *
 * <p>Not thread-safe: one thread (the server's loop) owns it.
 */
public final class TrackerState {

  /** Where the tracker's answers go. */
  public interface Outbox {
    void send(PeerId to, Message.TrackerMessage message);
  }

  /** Counters, for metrics. */
  public static final class Stats {
    public long registers;
    public long joinsAnswered;
    public long leaves;
    public long stale;
    public long expired;
    public long refusedRateLimited;
    public long refusedFull;
    public long refusedInvalid;
  }

  private static final class Registration {
    PeerInfo info;
    long counter;
    long lastSeen;
    int index; // in Members.ids
  }

  /** One stream's members: a list for sampling, a map for lookups; index kept in step. */
  private static final class Members {
    final ArrayList<PeerId> ids = new ArrayList<>();
    final HashMap<PeerId, Registration> byId = new HashMap<>();

    void remove(PeerId id) {
      Registration r = byId.remove(id);
      int last = ids.size() - 1;
      if (r.index != last) { // swap the last member into the hole
        PeerId moved = ids.get(last);
        ids.set(r.index, moved);
        byId.get(moved).index = r.index;
      }
      ids.remove(last);
    }
  }

  /** A token bucket per node. */
  private static final class Bucket {
    double tokens;
    long updated;
  }

  private final TrackerConfig config;
  private final RandomGenerator random;
  private final Map<StreamId, Members> streams = new HashMap<>();
  private final LinkedHashMap<PeerId, Bucket> buckets;
  private int registrations;
  private final Stats stats = new Stats();

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
  }

  /** A message from node {@code from} (the link's authenticated id). */
  public void handle(long now, PeerId from, Message.TrackerMessage message, Outbox out) {
    if (message instanceof Message.TrackerRegister m) {
      register(now, from, m, out);
    } else if (message instanceof Message.TrackerLeave m) {
      leave(from, m);
    } else {
      stats.refusedInvalid++;
      out.send(from, new Message.TrackerRefused(message.stream(), Message.RefusalReason.INVALID, 0,
          "a tracker takes registrations and leaves only"));
    }
  }

  private void register(long now, PeerId from, Message.TrackerRegister m, Outbox out) {
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
    if (r != null && m.counter() <= r.counter) {
      stats.stale++; // a status overtaken by a newer one from the same node
      return;
    }
    if (r == null) {
      String full = members == null && streams.size() >= config.maxStreams() ? "streams (" + config.maxStreams() + ")"
          : members != null && members.ids.size() >= config.maxMembersPerStream() ? "members of this stream (" + config.maxMembersPerStream() + ")"
          : registrations >= config.maxRegistrations() ? "registrations (" + config.maxRegistrations() + ")"
          : null;
      if (full != null) {
        stats.refusedFull++;
        out.send(from, new Message.TrackerRefused(stream, Message.RefusalReason.FULL, config.registrationTtlNanos() / 1_000_000,
            "the tracker holds its maximum of " + full));
        return;
      }
      if (members == null) {
        members = new Members();
        streams.put(stream, members);
      }
      r = new Registration();
      r.index = members.ids.size();
      members.ids.add(from);
      members.byId.put(from, r);
      registrations++;
    }
    r.info = m.node();
    r.counter = m.counter();
    r.lastSeen = now;
    stats.registers++;
    if (m.wantPeers()) {
      stats.joinsAnswered++;
      out.send(from, new Message.TrackerPeers(stream, m.counter(), sample(now, members, from)));
    }
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

  /** Up to {@code peersPerAnswer} random live members other than {@code self}. */
  private List<PeerInfo> sample(long now, Members members, PeerId self) {
    int n = members.ids.size();
    int want = Math.min(config.peersPerAnswer(), n - 1);
    List<PeerInfo> out = new ArrayList<>(Math.max(0, want));
    if (want <= 0) return out;
    if (n <= 2 * config.peersPerAnswer() + 1) {
      // Small stream: a random start, then in order (a full shuffle would cost as much as the stream).
      int start = random.nextInt(n);
      for (int i = 0; i < n && out.size() < want; i++) {
        PeerId id = members.ids.get((start + i) % n);
        Registration r = members.byId.get(id);
        if (!id.equals(self) && live(now, r)) out.add(r.info);
      }
      return out;
    }
    // Large stream: rejection sampling, bounded in tries.
    java.util.HashSet<PeerId> picked = new java.util.HashSet<>();
    for (int tries = 0; tries < 4 * want && out.size() < want; tries++) {
      PeerId id = members.ids.get(random.nextInt(n));
      Registration r = members.byId.get(id);
      if (!id.equals(self) && live(now, r) && picked.add(id)) out.add(r.info);
    }
    return out;
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
          members.remove(id);
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
    members.remove(id);
    registrations--;
    if (members.ids.isEmpty()) streams.remove(stream);
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

  public Stats stats() {
    return stats;
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
      for (int i = 0; i < m.ids.size(); i++) {
        Registration r = m.byId.get(m.ids.get(i));
        if (r == null) v.add("stream " + e.getKey() + ": listed member without registration");
        else if (r.index != i) v.add("stream " + e.getKey() + ": index " + r.index + " recorded at position " + i);
        else if (!r.info.id().equals(m.ids.get(i))) v.add("stream " + e.getKey() + ": registration under another node's id");
      }
      total += m.ids.size();
    }
    if (total != registrations) v.add("registration count " + registrations + " but " + total + " held");
    if (registrations > config.maxRegistrations()) v.add("registrations over cap");
    if (buckets.size() > config.maxRateLimitedNodes()) v.add("rate table over cap");
    return v;
  }
}
