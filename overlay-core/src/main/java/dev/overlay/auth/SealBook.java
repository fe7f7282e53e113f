package dev.overlay.auth;

import dev.overlay.config.AuthConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Authenticates the messages a stream receives, before anything else looks at them: a message
 * is delivered, forwarded, cached or recorded as seen only once its digest matches a seal whose
 * signature, by its publisher's key, verifies. Otherwise a forged message could take the number
 * of a real one, and the real one would later be dropped everywhere as a duplicate.
 *
 * <p>Keeps the verified seals of each publisher session whose messages may still arrive (a
 * message travels behind its seal on the same link), bounded per session and in sessions.
 * Each signature is verified once per node; a seal seen again is matched by its bytes. The
 * verification work a publisher or a neighbour can cause is budgeted per second.
 */
public final class SealBook {

  /** What {@link #authenticate} found. */
  public enum Verdict {
    AUTHENTIC,
    /** No seal covers it: it came without one, or its seal was not kept. Dropped, not held against the sender. */
    UNSEALED,
    /** A digest or a signature that does not check out: the sender forwards forgeries. */
    FORGED,
    /** The stream takes messages from some publishers only, and this is not one. */
    NOT_PERMITTED,
    /** Verifying it would pass the publisher's or the neighbour's budget. */
    OVER_BUDGET
  }

  /** Verified seals of one publisher session, newest last. */
  private static final class Session {
    final PeerId publisher;
    final long session;
    final int capacity;
    Seal[] seals = new Seal[8]; // grows to capacity: a quiet publisher's session stays small
    // Each seal's range, beside it: looking a seal up scans these, not a thousand Seal objects
    // scattered over the heap (a new seal, matching none, was a scan of every one: 14 % of a
    // 10,000-node simulation).
    long[] firstSeqs = new long[8];
    long[] lastSeqs = new long[8];
    int count;
    int last = -1; // the seal that matched last: messages come in runs
    /**
     * The highest first number of any seal held (or ever held: an upper bound is enough). A
     * publisher's seals mostly arrive in order, so a new one usually starts above it and can
     * match none held: no scan. The scan was 17 % of a 10,000-node simulation's time.
     */
    long maxFirstSeq = Long.MIN_VALUE;

    Session(PeerId publisher, long session, int capacity) {
      this.publisher = publisher;
      this.session = session;
      this.capacity = capacity;
    }

    /** Adds the newest seal; returns whether the oldest went to make room. */
    boolean add(Seal s) {
      boolean evicted = false;
      if (count == capacity) {
        System.arraycopy(seals, 1, seals, 0, count - 1); // the oldest goes
        System.arraycopy(firstSeqs, 1, firstSeqs, 0, count - 1);
        System.arraycopy(lastSeqs, 1, lastSeqs, 0, count - 1);
        count--;
        evicted = true;
      } else if (count == seals.length) {
        int n = Math.min(capacity, seals.length * 2);
        seals = Arrays.copyOf(seals, n);
        firstSeqs = Arrays.copyOf(firstSeqs, n);
        lastSeqs = Arrays.copyOf(lastSeqs, n);
      }
      firstSeqs[count] = s.firstSeq();
      lastSeqs[count] = s.lastSeq();
      maxFirstSeq = Math.max(maxFirstSeq, s.firstSeq());
      seals[count++] = s;
      last = count - 1;
      return evicted;
    }
  }

  private record Key(PeerId publisher, long session) {}

  /** One second's worth of tokens for one budget. */
  private static final class Budget {
    double tokens;
    long at = Long.MIN_VALUE;

    boolean take(long now, int perSecond) {
      if (at == Long.MIN_VALUE) {
        tokens = perSecond;
        at = now;
      }
      tokens = Math.min(perSecond, tokens + (now - at) * (perSecond / 1e9));
      at = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    }
  }

  public static final int MAX_SESSIONS = 512;
  /**
   * Seals held for all sessions of a stream together: with {@code sealsPerPublisher} 1,024 and
   * 512 sessions a stream could otherwise hold half a million; this keeps the worst case near
   * 8,192 x 4 KiB of digests (34 MB) and a busy publisher's 2 s of seals (about 1 MB) whole.
   */
  public static final int MAX_SEALS = 8_192;
  private static final int MAX_BUDGETS = 1024;

  private final StreamId stream;
  private final AuthConfig config;
  private final Signatures signatures;
  private final SealFormat format;
  /** Null: any publisher. */
  private final Set<PeerId> allowedPublishers;
  private final LinkedHashMap<Key, Session> sessions = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Key, Session> eldest) {
      if (size() <= MAX_SESSIONS) return false;
      forgetSession(eldest.getValue());
      return true;
    }
  };
  /** Seals held over all sessions (at most {@link #MAX_SEALS}). */
  private int held;
  /** Keys checked against their publisher's id, by publisher; bounded with the sessions. */
  private final LinkedHashMap<PeerId, byte[]> keys = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, byte[]> eldest) {
      return size() > MAX_SESSIONS;
    }
  };
  private final LinkedHashMap<PeerId, Budget> budgets = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Budget> eldest) {
      return size() > MAX_BUDGETS;
    }
  };
  private Session lastSession;
  private Verdict lastVerdict = Verdict.AUTHENTIC;
  private String detail = "";
  private long verified;

  public SealBook(StreamId stream, AuthConfig config, Signatures signatures, SealFormat format, Set<PeerId> allowedPublishers) {
    this.stream = stream;
    this.config = config;
    this.signatures = signatures;
    this.format = format;
    this.allowedPublishers = allowedPublishers == null ? null : Set.copyOf(allowedPublishers);
  }

  /** Whether the stream takes messages from this publisher. */
  public boolean permits(PeerId publisher) {
    return allowedPublishers == null || allowedPublishers.contains(publisher);
  }

  /**
   * Checks {@code m} from {@code from}. Returns the verified seal that covers it when it is
   * authentic; otherwise null, and {@link #verdict()} says why. Allocates nothing for a message
   * whose seal was verified before.
   */
  public Seal authenticate(long now, PeerId from, Message.Data m) {
    return authenticate(now, from, m, false);
  }

  /**
   * Signature checks a second for history from one storage node: history arrives only as fast
   * as this node gives credit for it, so it is not held to the per-publisher budget (a publisher
   * at 1,000 msg/s seals about two messages at a time: a minute of its history is 30,000 seals,
   * 15 s at that budget), only to this one: about two thirds of a core at 34 µs a check.
   */
  public static final int HISTORY_VERIFICATIONS_PER_SECOND = 20_000;

  /**
   * As {@link #authenticate(long, PeerId, Message.Data)}; with {@code history}, {@code m} is
   * history this node asked {@code from}, a storage node, for: its seal checks count against
   * {@link #HISTORY_VERIFICATIONS_PER_SECOND} for that peer instead of the live budgets.
   */
  public Seal authenticate(long now, PeerId from, Message.Data m, boolean history) {
    lastVerdict = Verdict.AUTHENTIC;
    if (!permits(m.publisher())) return refuse(Verdict.NOT_PERMITTED, "publisher may not publish here");
    Session s = session(m.publisher(), m.session());
    if (!m.sealOnWire()) {
      Seal seal = covering(s, m);
      if (seal != null) return seal;
      return s != null && coveredAtAll(s, m.seq())
          ? refuse(Verdict.FORGED, "digest matches no seal of its publisher")
          : refuse(Verdict.UNSEALED, "no seal covers the message");
    }
    Seal seal = admit(now, from, m, s, history);
    if (seal == null) return null;
    if (!format.matches(seal, m)) return refuse(Verdict.FORGED, "digest is not the one its seal holds");
    return seal;
  }

  /** Why the last {@link #authenticate} returned null. */
  public Verdict verdict() {
    return lastVerdict;
  }

  /** A few words on the last refusal, for the drop event. */
  public String detail() {
    return detail;
  }

  /** Signatures verified so far. */
  public long verified() {
    return verified;
  }

  /** Sessions held, for capacity checks. */
  public int sessions() {
    return sessions.size();
  }

  private Seal refuse(Verdict v, String why) {
    lastVerdict = v;
    detail = why;
    return null;
  }

  /** The seal a message brought: the copy we hold if we have seen it, else verified now. */
  private Seal admit(long now, PeerId from, Message.Data m, Session s, boolean history) {
    Seal incoming = m.seal();
    if (s != null && incoming.firstSeq() <= s.maxFirstSeq) {
      long first = incoming.firstSeq();
      for (int i = s.count - 1; i >= 0; i--) {
        if (s.firstSeqs[i] != first) continue;
        Seal known = s.seals[i];
        if (known.count() == incoming.count()
            && Arrays.equals(known.signature(), incoming.signature()) && Arrays.equals(known.digests(), incoming.digests())) {
          s.last = i;
          return known; // verified before: the same bytes are the same verdict
        }
      }
    }
    boolean withinBudget = history ? budget(from).take(now, HISTORY_VERIFICATIONS_PER_SECOND)
        : budget(m.publisher()).take(now, config.verificationsPerSecondPerPublisher())
            && budget(from).take(now, config.verificationsPerSecondPerPeer());
    if (!withinBudget) {
      refuse(Verdict.OVER_BUDGET, "signature checks over budget for publisher " + m.publisher() + " or neighbour " + from);
      return null;
    }
    if (!keyMatches(m.publisher(), incoming.publicKey())) {
      refuse(Verdict.FORGED, "the seal's key is not publisher " + m.publisher() + "'s");
      return null;
    }
    verified++;
    byte[] signed = format.sealDigest(stream, m.publisher(), m.session(), incoming.firstSeq(), incoming.count(), incoming.digests());
    if (!signatures.verify(incoming.publicKey(), signed, incoming.signature())) {
      refuse(Verdict.FORGED, "the seal of seq " + incoming.firstSeq() + ".." + incoming.lastSeq() + " does not verify");
      return null;
    }
    if (s == null) {
      s = new Session(m.publisher(), m.session(), config.sealsPerPublisher());
      sessions.put(new Key(m.publisher(), m.session()), s);
      lastSession = s;
    }
    if (!s.add(incoming)) held++;
    // Over the stream's cap: the least recently used sessions go whole (their publishers are
    // the quietest), never the one just added to.
    var it = sessions.entrySet().iterator();
    while (held > MAX_SEALS && it.hasNext()) {
      Session eldest = it.next().getValue();
      if (eldest == s) continue;
      forgetSession(eldest);
      it.remove();
    }
    return incoming;
  }

  private void forgetSession(Session s) {
    held -= s.count;
    if (lastSession == s) lastSession = null;
  }

  /** Seals held now, over every session of the stream. */
  public int heldSeals() {
    return held;
  }

  private boolean keyMatches(PeerId publisher, byte[] key) {
    byte[] known = keys.get(publisher);
    if (known != null && Arrays.equals(known, key)) return true;
    if (!signatures.keyBelongsTo(publisher, key)) return false;
    keys.put(publisher, key);
    return true;
  }

  private Budget budget(PeerId who) {
    Budget b = budgets.get(who);
    if (b == null) {
      b = new Budget();
      budgets.put(who, b);
    }
    return b;
  }

  private Session session(PeerId publisher, long session) {
    Session s = lastSession;
    if (s != null && s.session == session && (s.publisher == publisher || s.publisher.equals(publisher))) return s;
    s = sessions.get(new Key(publisher, session));
    if (s != null) lastSession = s;
    return s;
  }

  /** The held seal of the session that covers the message and whose digest for it matches, or null. */
  private Seal covering(Session s, Message.Data m) {
    if (s == null) return null;
    if (s.last >= 0 && s.seals[s.last].covers(m.seq()) && format.matches(s.seals[s.last], m)) return s.seals[s.last];
    long seq = m.seq();
    for (int i = s.count - 1; i >= 0; i--) {
      if (i == s.last || seq < s.firstSeqs[i] || seq > s.lastSeqs[i]) continue;
      Seal seal = s.seals[i];
      if (format.matches(seal, m)) {
        s.last = i;
        return seal;
      }
    }
    return null;
  }

  private static boolean coveredAtAll(Session s, long seq) {
    for (int i = 0; i < s.count; i++) {
      if (seq >= s.firstSeqs[i] && seq <= s.lastSeqs[i]) return true;
    }
    return false;
  }
}
