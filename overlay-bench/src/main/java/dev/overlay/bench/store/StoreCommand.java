package dev.overlay.bench.store;

import dev.overlay.report.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The storage engines on a storage node's workload (issue 14): one publisher session's 100-byte
 * messages, keyed by (stream, publisher, session, seq), a seal (the publisher's digests and
 * signature) per batch, and a time index (the first sequence number stored in each second). It measures ingest at a paced rate (the
 * acknowledgement is the engine's write returning: what survives {@code kill -9}), the bytes on
 * disk per message beyond the payload, reading the session back in order, and, with
 * {@code --kill-test}, that every acknowledged message survives a writer killed with SIGKILL.
 */
@Command(
    name = "store",
    mixinStandardHelpOptions = true,
    description = {
      "Compares the storage engines (rocksdb, mvstore) on a storage node's workload: paced ingest of",
      "--payload-byte messages with a seal every --seal-every, acknowledged per group commit; bytes on disk",
      "per message; reading the session back. --kill-test: a writer process killed with SIGKILL loses nothing it acknowledged.",
      "Example: java -jar overlay-bench.jar store --engine rocksdb --rate 50000 --seconds 60 --json out.json"
    })
public final class StoreCommand implements Callable<Integer> {

  @Option(names = "--engine", defaultValue = "rocksdb", description = "rocksdb or mvstore (default ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--rate", defaultValue = "50000", description = "Messages a second offered (default ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--seconds", defaultValue = "60", description = "Seconds of ingest (default ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--payload", defaultValue = "100", description = "Payload bytes, random (default ${DEFAULT-VALUE}).")
  int payload;

  @Option(names = "--seal-every", defaultValue = "100", description = "Messages per seal: 100 is a publisher at 50,000 msg/s sealing every 2 ms (default ${DEFAULT-VALUE}).")
  int sealEvery;

  @Option(names = "--commit-ms", defaultValue = "1", description = "Group commit: the longest a message waits for its write (default ${DEFAULT-VALUE}).")
  int commitMs;

  @Option(names = "--dir", description = "Where the store goes (default: a new temporary directory, deleted after).")
  Path dir;

  @Option(names = "--kill-test", description = "Instead: run a writer process, kill it with SIGKILL after --kill-after-ms, check every acknowledged message is there; --runs times.")
  boolean killTest;

  @Option(names = "--kill-after-ms", defaultValue = "3000", description = "For --kill-test (default ${DEFAULT-VALUE}).")
  long killAfterMs;

  @Option(names = "--runs", defaultValue = "3", description = "For --kill-test (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--writer", hidden = true, description = "Internal: the writer process of --kill-test.")
  boolean writer;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  static final long STREAM = 0x1122334455667788L;
  static final long SESSION = 0x0123456789abcdefL;
  static final byte[] PUBLISHER = new byte[32];

  static {
    new SplittableRandom(7).nextBytes(PUBLISHER);
  }

  /** 'm' stream publisher session seq: the message's key, in (stream, publisher, session, seq) order. */
  static byte[] messageKey(long seq) {
    return ByteBuffer.allocate(57).put((byte) 'm').putLong(STREAM).put(PUBLISHER).putLong(SESSION).putLong(seq).array();
  }

  /** 's' stream publisher session firstSeq: a seal's key, beside its messages' range. */
  static byte[] sealKey(long firstSeq) {
    return ByteBuffer.allocate(57).put((byte) 's').putLong(STREAM).put(PUBLISHER).putLong(SESSION).putLong(firstSeq).array();
  }

  /** 't' stream second publisher session: the first sequence number stored in that second. */
  static byte[] timeKey(long second) {
    return ByteBuffer.allocate(57).put((byte) 't').putLong(STREAM).putLong(second).put(PUBLISHER).putLong(SESSION).array();
  }

  private StoreEngine open(Path where) throws IOException {
    Files.createDirectories(where);
    return switch (engine) {
      case "rocksdb" -> new RocksEngine(where);
      case "mvstore" -> new MvEngine(where);
      default -> throw new IllegalArgumentException("--engine must be rocksdb or mvstore, got " + engine);
    };
  }

  @Override
  public Integer call() throws Exception {
    if (writer) return runWriter();
    if (killTest) return runKillTest();
    Path where = dir != null ? dir : Files.createTempDirectory("overlay-store-");
    try {
      return runIngest(where);
    } finally {
      if (dir == null) deleteTree(where);
    }
  }

  private int runIngest(Path where) throws Exception {
    SplittableRandom rng = new SplittableRandom(1);
    Histogram ackMicros = new Histogram(60_000_000L, 3);
    long total = (long) rate * seconds;
    long intervalNanos = 1_000_000_000L / rate;
    long commitNanos = TimeUnit.MILLISECONDS.toNanos(commitMs);
    StoreEngine.Batch batch = new StoreEngine.Batch();
    long[] scheduled = new long[1 << 16];
    int pending = 0;
    long maxBacklog = 0;
    long seq = 0;
    long bucketSecond = -1;
    long start;
    long end;
    try (StoreEngine e = open(where)) {
      start = System.nanoTime();
      long lastCommit = start;
      while (seq < total || pending > 0) {
        long now = System.nanoTime();
        // Every message whose time has come joins the batch, stamped with that time (not when the
        // loop got to it): a store that falls behind shows it in the acknowledgement latency.
        while (seq < total && start + seq * intervalNanos <= now && pending < scheduled.length) {
          seq++;
          if ((seq - 1) % sealEvery == 0) batch.put(sealKey(seq), sealValue(rng));
          long second = System.currentTimeMillis() / 1_000;
          if (second != bucketSecond) { // the time index: where each second starts
            bucketSecond = second;
            batch.put(timeKey(second), ByteBuffer.allocate(8).putLong(seq).array());
          }
          batch.put(messageKey(seq), messageValue(rng));
          scheduled[pending++] = start + (seq - 1) * intervalNanos;
        }
        maxBacklog = Math.max(maxBacklog, (now - start) / intervalNanos - seq);
        if (pending > 0 && (now - lastCommit >= commitNanos || seq == total || pending == scheduled.length)) {
          e.write(batch);
          long acked = System.nanoTime();
          for (int i = 0; i < pending; i++) ackMicros.recordValue(Math.max(0, (acked - scheduled[i]) / 1_000));
          batch.clear();
          pending = 0;
          lastCommit = acked;
        } else if (seq < total) {
          long next = start + seq * intervalNanos;
          long wait = Math.min(next, lastCommit + commitNanos) - System.nanoTime();
          if (wait > 20_000) LockSupport.parkNanos(wait - 10_000);
        }
      }
      end = System.nanoTime();
    }
    double ingestSeconds = (end - start) / 1e9;
    long rawBytes = treeBytes(where);
    long compactedBytes;
    double readRate;
    long readCount;
    try (StoreEngine e = open(where)) {
      long t0 = System.nanoTime();
      AtomicLong n = new AtomicLong();
      AtomicLong expect = new AtomicLong(1);
      e.scan(messageKey(1), messageKey(Long.MAX_VALUE), (k, v) -> {
        long s = ByteBuffer.wrap(k, 49, 8).getLong();
        if (s != expect.getAndIncrement()) throw new IllegalStateException("read " + s + " where " + (expect.get() - 1) + " was due");
        if (v.length != payload) throw new IllegalStateException("value of " + v.length + " bytes");
        n.incrementAndGet();
        return true;
      });
      readCount = n.get();
      readRate = readCount / ((System.nanoTime() - t0) / 1e9);
      e.compact();
    }
    compactedBytes = treeBytes(where);
    if (readCount != total) throw new IllegalStateException("read back " + readCount + " of " + total);
    double perMessageRaw = (double) rawBytes / total - payload;
    double perMessageCompacted = (double) compactedBytes / total - payload;
    Json out = Json.object()
        .put("engine", engine).put("offered_rate", rate).put("seconds", seconds).put("payload_bytes", payload)
        .put("seal_every", sealEvery).put("commit_ms", commitMs).put("messages", total)
        .put("ingest_rate", total / ingestSeconds).put("ingest_seconds", ingestSeconds)
        .put("max_backlog_messages", maxBacklog)
        .put("ack_ms_p50", ackMicros.getValueAtPercentile(50) / 1e3).put("ack_ms_p99", ackMicros.getValueAtPercentile(99) / 1e3)
        .put("ack_ms_max", ackMicros.getMaxValue() / 1e3)
        .put("disk_bytes", rawBytes).put("disk_bytes_compacted", compactedBytes)
        .put("overhead_bytes_per_message", perMessageRaw).put("overhead_bytes_per_message_compacted", perMessageCompacted)
        .put("read_rate", readRate);
    System.out.printf(Locale.ROOT, "%s: ingest %.0f msg/s offered %d (max backlog %d), ack p50 %.2f ms p99 %.2f ms max %.1f ms;"
        + " disk %.1f B/msg beyond the payload (%.1f compacted); read back %.0f msg/s%n", engine, total / ingestSeconds, rate,
        maxBacklog, ackMicros.getValueAtPercentile(50) / 1e3, ackMicros.getValueAtPercentile(99) / 1e3, ackMicros.getMaxValue() / 1e3,
        perMessageRaw, perMessageCompacted, readRate);
    if (json != null) Files.writeString(json, out.toString());
    return 0;
  }

  /** The payload alone: the receive time is kept per second, by the time index, not per message. */
  private byte[] messageValue(SplittableRandom rng) {
    byte[] v = new byte[payload];
    for (int i = 0; i < v.length; i += 8) {
      long r = rng.nextLong();
      for (int j = 0; j < 8 && i + j < v.length; j++) v[i + j] = (byte) (r >>> (8 * j));
    }
    return v;
  }

  /** A seal as a storage node keeps it: its count, one 16-byte digest per message, a 64-byte signature. */
  private byte[] sealValue(SplittableRandom rng) {
    byte[] v = new byte[4 + 16 * sealEvery + 64];
    ByteBuffer.wrap(v).putInt(sealEvery);
    for (int i = 4; i < v.length; i++) v[i] = (byte) rng.nextInt();
    return v;
  }

  /** The child of --kill-test: writes as fast as it can, and prints each acknowledged sequence number. */
  private int runWriter() throws Exception {
    SplittableRandom rng = new SplittableRandom(2);
    StoreEngine.Batch batch = new StoreEngine.Batch();
    try (StoreEngine e = open(dir)) {
      long seq = 0;
      while (true) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(commitMs);
        do {
          seq++;
          if ((seq - 1) % sealEvery == 0) batch.put(sealKey(seq), sealValue(rng));
          batch.put(messageKey(seq), messageValue(rng));
        } while (System.nanoTime() < until && batch.size() < 10_000);
        e.write(batch);
        batch.clear();
        System.out.println("acked " + seq);
        System.out.flush();
      }
    }
  }

  private int runKillTest() throws Exception {
    List<Object> results = new ArrayList<>();
    boolean allHeld = true;
    for (int run = 1; run <= runs; run++) {
      Path where = Files.createTempDirectory("overlay-store-kill-");
      try {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), dev.overlay.bench.Main.class.getName(),
            "store", "--writer", "--engine", engine, "--dir", where.toString(), "--payload", Integer.toString(payload),
            "--seal-every", Integer.toString(sealEvery), "--commit-ms", Integer.toString(commitMs))
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        AtomicLong lastAcked = new AtomicLong();
        Thread reader = new Thread(() -> {
          try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
              if (l.startsWith("acked ")) lastAcked.set(Long.parseLong(l.substring(6)));
            }
          } catch (IOException e) {
            // the process was killed: its output ends
          }
        });
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (lastAcked.get() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
        long startedAt = System.nanoTime();
        while (System.nanoTime() - startedAt < TimeUnit.MILLISECONDS.toNanos(killAfterMs)) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        p.destroyForcibly(); // SIGKILL
        p.waitFor();
        reader.join();
        long acked = lastAcked.get();
        AtomicLong present = new AtomicLong();
        AtomicLong highest = new AtomicLong();
        try (StoreEngine e = open(where)) {
          e.scan(messageKey(1), messageKey(Long.MAX_VALUE), (k, v) -> {
            long s = ByteBuffer.wrap(k, 49, 8).getLong();
            if (s <= acked) present.incrementAndGet();
            highest.accumulateAndGet(s, Math::max);
            return true;
          });
        }
        boolean held = present.get() == acked;
        allHeld &= held;
        System.out.printf(Locale.ROOT, "%s kill run %d: %,d acknowledged, %,d of them there after the kill, %,d stored in all (held: %s)%n",
            engine, run, acked, present.get(), highest.get(), held);
        results.add(Json.object().put("run", run).put("acknowledged", acked).put("present", present.get()).put("stored", highest.get()));
      } finally {
        deleteTree(where);
      }
    }
    if (json != null) Files.writeString(json, Json.object().put("engine", engine).put("kill_runs", results).put("all_held", allHeld).toString());
    return allHeld ? 0 : 1;
  }

  private static long treeBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> {
        try {
          return Files.size(f);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
    }
  }
}
