package dev.overlay.storage;

import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.CompressionType;
import org.rocksdb.FlushOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * A storage node's history: every message it delivered of the streams it keeps, with the seals
 * that authenticate them, in RocksDB (docs/architecture.md, "The store", says why RocksDB). Keys
 * are ordered by (stream, publisher, session, seq), so a resend is one sequential scan:
 * <ul>
 *   <li>{@code 'm' stream publisher session seq} → the payload;</li>
 *   <li>{@code 's' stream publisher session firstSeq} → a seal: count, digests, signature;</li>
 *   <li>{@code 'k' publisher} → the publisher's public key (once, not per seal);</li>
 *   <li>{@code 't' stream second publisher session} → the first seq stored in that second: the
 *       time index, one entry per session per second rather than a time per message.</li>
 * </ul>
 * An {@link #append} returns once RocksDB has written its write-ahead log to the operating
 * system: what it acknowledged survives the process being killed ({@code kill -9}); not a power
 * loss, which would need the log synced ({@code sync}, slower by the disk's flush time).
 *
 * <p>Not thread-safe: one thread (the storage writer) appends, reads and runs retention.
 */
public final class MessageStore implements AutoCloseable {

  /** How much history is kept: by age and by size, whichever is reached first. */
  public record Retention(long maxAgeMillis, long maxBytes) {
    public Retention {
      if (maxAgeMillis <= 0) throw new IllegalArgumentException("maxAge must be positive");
      if (maxBytes <= 0) throw new IllegalArgumentException("maxBytes must be positive");
    }
  }

  /** One message as stored: the message (its seal attached when it has one) and the second it was stored in. */
  public record Stored(Message.Data message, long second) {}

  private static final byte MESSAGE = 'm';
  private static final byte SEAL = 's';
  private static final byte KEY = 'k';
  private static final byte TIME = 't';
  /**
   * The time index again, by session: (stream, publisher, session, second) to the smallest number
   * stored in that second. Retention looks up where a session's kept part begins here, with one
   * seek, rather than reading the whole time index.
   */
  private static final byte SESSION_TIME = 'u';
  /**
   * Per session: the lowest number stored after a higher one of it (a repair: after a restart,
   * the live numbers come first and the caches' older ones later), and the last second such a
   * number was stored in. Retention keeps from that number while that second is kept, so a
   * repair is not deleted with the seconds before it, however old its number.
   */
  private static final byte REPAIR = 'r';
  /** The layout's version; a store without it was written before {@link #SESSION_TIME} and gets it at open. */
  private static final byte FORMAT = 'v';
  private static final long FORMAT_VERSION = 2;
  private static final int SESSION_KEY = 1 + 8 + PeerId.BYTES + 8;
  private static final int MESSAGE_KEY = SESSION_KEY + 8;
  /** Sessions whose last written seal and second are remembered, to write each once. */
  private static final int REMEMBERED_SESSIONS = 4_096;

  static {
    RocksDB.loadLibrary();
  }

  private record SessionRef(StreamId stream, PeerId publisher, long session) {}

  private static final class Written {
    long sealFirstSeq = -1;
    long second = -1;
    long secondFirstSeq = Long.MAX_VALUE;
    long highest = -1; // the highest number written by this process
    boolean repairRead; // the REPAIR entry was read into the two below
    long repairMin = Long.MAX_VALUE;
    long repairSecond = Long.MIN_VALUE;
  }

  private final Options options;
  private final WriteOptions writeOptions;
  private final RocksDB db;
  private final Retention retention;
  private long lastSizeDrop = Long.MIN_VALUE / 2;
  private final Map<SessionRef, Written> written = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<SessionRef, Written> eldest) {
      return size() > REMEMBERED_SESSIONS;
    }
  };
  private final Map<PeerId, Boolean> keysWritten = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Boolean> eldest) {
      return size() > REMEMBERED_SESSIONS;
    }
  };

  private MessageStore(Path dir, Retention retention) throws IOException {
    this.retention = retention;
    Files.createDirectories(dir);
    options = new Options().setCreateIfMissing(true)
        .setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setBottommostCompressionType(CompressionType.ZSTD_COMPRESSION)
        .setWriteBufferSize(64L << 20)
        .setMaxBackgroundJobs(2)
        // Larger blocks than the 4 KiB default: fewer index entries and restart points per
        // message (33 rather than 35 bytes per 100-byte message, docs/benchmarks.md).
        .setTableFormatConfig(new BlockBasedTableConfig().setBlockSize(16 << 10));
    writeOptions = new WriteOptions().setSync(false);
    try {
      db = RocksDB.open(options, dir.toString());
    } catch (RocksDBException e) {
      options.close();
      writeOptions.close();
      throw new IOException("cannot open the message store in " + dir + ": " + e.getMessage(), e);
    }
    try {
      upgrade();
    } catch (RocksDBException e) {
      close();
      throw new IOException("cannot upgrade the message store in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** A store written before the by-session time index gets it, once, from the time index. */
  private void upgrade() throws RocksDBException {
    if (db.get(new byte[] {FORMAT}) != null) return;
    // In batches (a week of many sessions is millions of entries), the version last: a crash
    // midway leaves a store that is upgraded again, harmlessly, at the next open.
    try (RocksIterator it = db.newIterator()) {
      WriteBatch batch = new WriteBatch();
      try {
        for (it.seek(new byte[] {TIME}); it.isValid() && it.key()[0] == TIME; it.next()) {
          ByteBuffer b = ByteBuffer.wrap(it.key(), 1, it.key().length - 1);
          StreamId stream = new StreamId(b.getLong());
          long second = b.getLong();
          byte[] id = new byte[PeerId.BYTES];
          b.get(id);
          batch.put(sessionTimeKey(stream, PeerId.fromBytes(id), b.getLong(), second), it.value());
          if (batch.count() >= 100_000) {
            db.write(writeOptions, batch);
            batch.close();
            batch = new WriteBatch();
          }
        }
        batch.put(new byte[] {FORMAT}, longBytes(FORMAT_VERSION));
        db.write(writeOptions, batch);
      } finally {
        batch.close();
      }
    }
  }

  /**
   * Opens (or creates) the store in {@code dir}.
   *
   * @throws IOException if RocksDB cannot open it (another process holds it, a corrupt file)
   */
  public static MessageStore open(Path dir, Retention retention) throws IOException {
    return new MessageStore(dir, retention);
  }

  /**
   * Stores messages delivered at {@code nowMillis}, with their seals, in one atomic write; returns
   * once the write would survive {@code kill -9}. A message stored again is overwritten, unchanged.
   */
  public void append(List<Message.Data> messages, long nowMillis) throws IOException {
    long second = Math.floorDiv(nowMillis, 1_000);
    try (WriteBatch batch = new WriteBatch()) {
      for (Message.Data m : messages) {
        SessionRef ref = new SessionRef(m.stream(), m.publisher(), m.session());
        Written w = written.computeIfAbsent(ref, k -> new Written());
        if (w.second != second) {
          w.second = second;
          w.secondFirstSeq = Long.MAX_VALUE;
          byte[] tk = timeKey(m.stream(), second, m.publisher(), m.session());
          byte[] had = db.get(tk); // written before in this second (a restart, a session the table forgot): keep the smaller
          if (had != null) w.secondFirstSeq = ByteBuffer.wrap(had).getLong();
        }
        if (m.seq() < w.secondFirstSeq) { // a second's entry is the smallest number stored in it (repairs come late and low)
          w.secondFirstSeq = m.seq();
          batch.put(timeKey(m.stream(), second, m.publisher(), m.session()), longBytes(m.seq()));
          batch.put(sessionTimeKey(m.stream(), m.publisher(), m.session(), second), longBytes(m.seq()));
        }
        if (m.seq() < w.highest) noteRepair(batch, m, w, second);
        w.highest = Math.max(w.highest, m.seq());
        Seal seal = m.seal();
        if (seal != null && seal.firstSeq() != w.sealFirstSeq) {
          w.sealFirstSeq = seal.firstSeq();
          batch.put(sealKey(m.stream(), m.publisher(), m.session(), seal.firstSeq()), sealValue(seal));
          if (keysWritten.put(m.publisher(), Boolean.TRUE) == null) batch.put(publisherKey(m.publisher()), seal.publicKey());
        }
        batch.put(messageKey(m.stream(), m.publisher(), m.session(), m.seq()), m.payload());
      }
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new IOException("cannot write to the message store: " + e.getMessage(), e);
    }
  }

  /** A number stored after a higher one of its session: the session's REPAIR entry covers it. */
  private void noteRepair(WriteBatch batch, Message.Data m, Written w, long second) throws RocksDBException {
    byte[] key = repairKey(m.stream(), m.publisher(), m.session());
    if (!w.repairRead) {
      w.repairRead = true;
      byte[] had = db.get(key);
      if (had != null) {
        ByteBuffer b = ByteBuffer.wrap(had);
        w.repairMin = b.getLong();
        w.repairSecond = b.getLong();
      }
    }
    if (m.seq() >= w.repairMin && second <= w.repairSecond) return; // covered already
    w.repairMin = Math.min(w.repairMin, m.seq());
    w.repairSecond = Math.max(w.repairSecond, second);
    batch.put(key, ByteBuffer.allocate(16).putLong(w.repairMin).putLong(w.repairSecond).array());
  }

  /**
   * Messages {@code fromSeq..toSeq} of one publisher session, in order, at most {@code max} of
   * them and at most {@code maxBytes} as {@link Message.ResendBatch#cost} counts them (payloads,
   * seals and framing), or one message if that alone is more. Each carries the seal that covers
   * it, on the wire for the first message of that seal in the result, so that a receiver can
   * check the result on its own.
   */
  public List<Message.Data> read(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq, int max, int maxBytes) {
    List<Message.Data> out = new ArrayList<>();
    if (fromSeq > toSeq || max <= 0) return out;
    // The messages first (their payloads alone bound how many can fit), then only the seals that
    // cover them: a long session's later seals are never read for an early batch.
    List<long[]> seqs = new ArrayList<>();
    List<byte[]> payloads = new ArrayList<>();
    long payloadBytes = 0;
    byte[] end = messageKey(stream, publisher, session, toSeq == Long.MAX_VALUE ? Long.MAX_VALUE : toSeq + 1);
    try (RocksIterator it = db.newIterator()) {
      for (it.seek(messageKey(stream, publisher, session, fromSeq)); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (Arrays.compareUnsigned(k, end) >= 0 || k.length != MESSAGE_KEY || k[0] != MESSAGE) break;
        byte[] payload = it.value();
        if (!payloads.isEmpty() && payloadBytes + payload.length + Message.ResendBatch.FRAMING_BYTES > maxBytes) break;
        seqs.add(new long[] {ByteBuffer.wrap(k, SESSION_KEY, 8).getLong()});
        payloads.add(payload);
        payloadBytes += payload.length + Message.ResendBatch.FRAMING_BYTES;
        if (payloads.size() >= max) break;
      }
    }
    if (payloads.isEmpty()) return out;
    List<Seal> seals = seals(stream, publisher, session, fromSeq, seqs.get(seqs.size() - 1)[0]);
    int sealAt = 0;
    Seal sentSeal = null;
    long bytes = 0;
    for (int i = 0; i < payloads.size(); i++) {
      long seq = seqs.get(i)[0];
      while (sealAt < seals.size() && seals.get(sealAt).lastSeq() < seq) sealAt++;
      Seal seal = sealAt < seals.size() && seals.get(sealAt).covers(seq) ? seals.get(sealAt) : null;
      boolean sealOnWire = seal != null && seal != sentSeal;
      Message.Data m = new Message.Data(stream, publisher, session, seq, 0, payloads.get(i), seal, sealOnWire);
      long cost = Message.ResendBatch.cost(m);
      if (!out.isEmpty() && bytes + cost > maxBytes) break; // the batch stays within maxBytes
      out.add(m);
      if (seal != null) sentSeal = seal;
      bytes += cost;
    }
    return out;
  }

  /** The seals that may cover fromSeq..toSeq (a seal covers at most {@link Seal#MAX_COUNT}), in order. */
  private List<Seal> seals(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {
    List<Seal> out = new ArrayList<>();
    byte[] publicKey = null;
    byte[] end = sealKey(stream, publisher, session, toSeq == Long.MAX_VALUE ? Long.MAX_VALUE : toSeq + 1);
    try (RocksIterator it = db.newIterator()) {
      for (it.seek(sealKey(stream, publisher, session, Math.max(1, fromSeq - Seal.MAX_COUNT + 1))); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (Arrays.compareUnsigned(k, end) >= 0 || k.length != MESSAGE_KEY || k[0] != SEAL) break;
        if (publicKey == null) {
          publicKey = db.get(publisherKey(publisher));
          if (publicKey == null) return out; // lost with a crash between writes: the messages go unsealed, and are refused
        }
        Seal s = sealOf(ByteBuffer.wrap(k, SESSION_KEY, 8).getLong(), it.value(), publicKey);
        if (s != null && s.lastSeq() >= fromSeq) out.add(s);
      }
    } catch (RocksDBException e) {
      throw new IllegalStateException("cannot read a publisher key: " + e.getMessage(), e); // not a batch of unsealed messages
    }
    return out;
  }

  /**
   * Where each publisher session stored from {@code fromMillis} on starts: for every session with
   * messages stored in that second or later, the first sequence number stored from that second on
   * (the time index has a second's grain). At most {@code max} sessions, oldest first.
   */
  public List<Position> since(StreamId stream, long fromMillis, int max) {
    Map<List<Object>, Position> first = new LinkedHashMap<>();
    byte[] start = timeKey(stream, Math.floorDiv(fromMillis, 1_000), null, 0);
    byte[] end = timeKey(stream, Long.MAX_VALUE, null, 0);
    try (RocksIterator it = db.newIterator()) {
      for (it.seek(start); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (Arrays.compareUnsigned(k, end) >= 0 || k[0] != TIME) break;
        ByteBuffer b = ByteBuffer.wrap(k, 1 + 8 + 8, PeerId.BYTES + 8);
        byte[] id = new byte[PeerId.BYTES];
        b.get(id);
        PeerId publisher = PeerId.fromBytes(id);
        long session = b.getLong();
        long seq = ByteBuffer.wrap(it.value()).getLong();
        List<Object> key = List.of(publisher, session);
        Position p = first.get(key);
        if (p == null) {
          if (first.size() >= max) break; // the caller says so (TRUNCATED): no scan of the whole index
          first.put(key, new Position(publisher, session, seq));
        } else if (seq < p.seq()) {
          first.put(key, new Position(publisher, session, seq)); // a repaired message stored later
        }
      }
    }
    return new ArrayList<>(first.values());
  }

  /**
   * Deletes what retention no longer keeps: every second older than the age limit, and, while
   * the store is over its size limit, the oldest tenth of the time it spans. Returns the
   * (stream, second, session) entries of the time index dropped. Reads only what it drops: the
   * time index's expired seconds, stream by stream, and one by-session entry per session they name
   * (a store of thousands of sessions kept for a week is not read whole every 10 s).
   */
  public int enforceRetention(long nowMillis) throws IOException {
    long cutoff = Math.floorDiv(nowMillis - retention.maxAgeMillis(), 1_000);
    // By size at most once a minute: RocksDB's estimate counts deleted data until compaction
    // reclaims it, and deleting a tenth every 10 s on a stale estimate would empty the store.
    if (approximateBytes() > retention.maxBytes() && nowMillis - lastSizeDrop >= 60_000) {
      lastSizeDrop = nowMillis;
      long oldest = oldestSecond();
      if (oldest != Long.MAX_VALUE) {
        long now = Math.floorDiv(nowMillis, 1_000);
        cutoff = Math.max(cutoff, oldest + Math.max(1, (now - oldest) / 10));
      }
    }
    return dropBefore(cutoff);
  }

  /**
   * The oldest second the time index holds, over every stream (one seek per stream), or
   * MAX_VALUE. Keys order stream ids unsigned, as their bytes: the next stream's keys begin at
   * this one's id plus one.
   */
  private long oldestSecond() {
    long oldest = Long.MAX_VALUE;
    try (RocksIterator it = db.newIterator()) {
      for (it.seek(new byte[] {TIME}); it.isValid() && it.key()[0] == TIME; ) {
        ByteBuffer b = ByteBuffer.wrap(it.key(), 1, 16);
        long stream = b.getLong();
        oldest = Math.min(oldest, b.getLong()); // a stream's first key is its oldest second
        if (stream == -1L) break; // the last stream id there can be
        it.seek(ByteBuffer.allocate(9).put(TIME).putLong(stream + 1).array()); // the next stream's first key
      }
    }
    return oldest;
  }

  /**
   * Deletes every message stored before {@code second}: per session, every number below the
   * first its earliest kept second holds (all of it when no second is kept). A message stored
   * late (a repair, lower than numbers stored before it) goes with the numbers around it.
   */
  private int dropBefore(long second) throws IOException {
    java.util.Set<SessionRef> sessions = new java.util.HashSet<>();
    List<byte[]> oldKeys = new ArrayList<>();
    try (RocksIterator it = db.newIterator()) {
      for (it.seek(new byte[] {TIME}); it.isValid() && it.key()[0] == TIME; ) {
        byte[] k = it.key();
        ByteBuffer b = ByteBuffer.wrap(k, 1, k.length - 1);
        StreamId stream = new StreamId(b.getLong());
        if (b.getLong() < second) {
          byte[] id = new byte[PeerId.BYTES];
          b.get(id);
          SessionRef ref = new SessionRef(stream, PeerId.fromBytes(id), b.getLong());
          sessions.add(ref);
          oldKeys.add(k);
          oldKeys.add(sessionTimeKey(ref.stream(), ref.publisher(), ref.session(), ByteBuffer.wrap(k, 9, 8).getLong()));
          it.next();
        } else { // the rest of this stream is kept: on to the next one's first key
          if (stream.value() == -1L) break;
          it.seek(ByteBuffer.allocate(9).put(TIME).putLong(stream.value() + 1).array());
        }
      }
    }
    if (sessions.isEmpty()) return 0;
    try (WriteBatch batch = new WriteBatch(); RocksIterator it = db.newIterator()) {
      for (SessionRef r : sessions) {
        byte[] from = sessionTimeKey(r.stream(), r.publisher(), r.session(), second);
        it.seek(from);
        boolean kept = it.isValid() && it.key().length == from.length && Arrays.equals(it.key(), 0, SESSION_KEY, from, 0, SESSION_KEY);
        long keepFrom = kept ? ByteBuffer.wrap(it.value()).getLong() : Long.MAX_VALUE;
        byte[] repairKey = repairKey(r.stream(), r.publisher(), r.session());
        byte[] repair = db.get(repairKey);
        if (repair != null) {
          ByteBuffer b = ByteBuffer.wrap(repair);
          long repairMin = b.getLong();
          if (b.getLong() >= second) {
            keepFrom = Math.min(keepFrom, repairMin); // a repair stored in a kept second: kept, with what follows it
          } else {
            batch.delete(repairKey); // every repair of it is as old as the seconds going
            Written w = written.get(r);
            if (w != null) { // what the writer remembers of the entry goes with it
              w.repairMin = Long.MAX_VALUE;
              w.repairSecond = Long.MIN_VALUE;
            }
          }
        }
        batch.deleteRange(messageKey(r.stream(), r.publisher(), r.session(), 0), messageKey(r.stream(), r.publisher(), r.session(), keepFrom));
        // Seals that may still cover a kept message stay.
        long sealsBelow = keepFrom == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, keepFrom - Seal.MAX_COUNT);
        batch.deleteRange(sealKey(r.stream(), r.publisher(), r.session(), 0), sealKey(r.stream(), r.publisher(), r.session(), sealsBelow));
      }
      for (byte[] k : oldKeys) batch.delete(k);
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new IOException("cannot delete from the message store: " + e.getMessage(), e);
    }
    return oldKeys.size() / 2;
  }

  /** The store's size on disk and in memory, as RocksDB estimates it. */
  public long approximateBytes() {
    try {
      return db.getLongProperty("rocksdb.total-sst-files-size") + db.getLongProperty("rocksdb.cur-size-all-mem-tables");
    } catch (RocksDBException e) {
      return 0;
    }
  }

  /** Writes the memtables out and compacts: for tests and size figures. */
  public void compact() throws IOException {
    try (FlushOptions f = new FlushOptions().setWaitForFlush(true)) {
      db.flush(f);
      db.compactRange();
    } catch (RocksDBException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    db.close();
    writeOptions.close();
    options.close();
  }

  // ---- Keys and values ----------------------------------------------------------------------

  private static ByteBuffer session(byte kind, StreamId stream, PeerId publisher, long session, int extra) {
    ByteBuffer b = ByteBuffer.allocate(SESSION_KEY + extra).put(kind).putLong(stream.value());
    return b.putLong(publisher.w0()).putLong(publisher.w1()).putLong(publisher.w2()).putLong(publisher.w3()).putLong(session);
  }

  static byte[] messageKey(StreamId stream, PeerId publisher, long session, long seq) {
    return session(MESSAGE, stream, publisher, session, 8).putLong(seq).array();
  }

  static byte[] sealKey(StreamId stream, PeerId publisher, long session, long firstSeq) {
    return session(SEAL, stream, publisher, session, 8).putLong(firstSeq).array();
  }

  private static byte[] publisherKey(PeerId publisher) {
    return ByteBuffer.allocate(1 + PeerId.BYTES).put(KEY).put(publisher.toBytes()).array();
  }

  private static byte[] repairKey(StreamId stream, PeerId publisher, long session) {
    return session(REPAIR, stream, publisher, session, 0).array();
  }

  static byte[] sessionTimeKey(StreamId stream, PeerId publisher, long session, long second) {
    return session(SESSION_TIME, stream, publisher, session, 8).putLong(second).array();
  }

  /** With {@code publisher} null: where that second's keys begin. */
  private static byte[] timeKey(StreamId stream, long second, PeerId publisher, long session) {
    ByteBuffer b = ByteBuffer.allocate(1 + 8 + 8 + (publisher == null ? 0 : PeerId.BYTES + 8)).put(TIME).putLong(stream.value()).putLong(second);
    if (publisher != null) b.put(publisher.toBytes()).putLong(session);
    return b.array();
  }

  private static byte[] longBytes(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  private static byte[] sealValue(Seal s) {
    return ByteBuffer.allocate(4 + s.digests().length + 2 + s.signature().length).putInt(s.count()).put(s.digests())
        .putShort((short) s.signature().length).put(s.signature()).array();
  }

  private static Seal sealOf(long firstSeq, byte[] v, byte[] publicKey) {
    try {
      ByteBuffer b = ByteBuffer.wrap(v);
      int count = b.getInt();
      byte[] digests = new byte[count * Seal.DIGEST_BYTES];
      b.get(digests);
      byte[] signature = new byte[b.getShort()];
      b.get(signature);
      return new Seal(firstSeq, count, digests, publicKey, signature);
    } catch (RuntimeException e) {
      return null; // not one we wrote: skipped, and its messages go unsealed
    }
  }
}
