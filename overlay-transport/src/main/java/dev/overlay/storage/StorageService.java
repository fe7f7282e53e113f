package dev.overlay.storage;

import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's history of the streams it keeps: what the node delivered goes to a {@link MessageStore}
 * on one thread of its own (disk writes never block the node's loop), and resends read from it
 * there. The loop collects a turn's deliveries and hands them over as one write; reads come back
 * through futures the caller completes on its loop.
 *
 * <p>Bounded: at most {@link #MAX_PENDING_TASKS} writes and reads wait for the thread. A write
 * that finds no room is not queued: its messages are counted in {@link #notStored()} and reported
 * to {@code onNotStored}, never dropped silently.
 */
public final class StorageService implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StorageService.class);

  /** Writes and reads waiting for the storage thread. */
  public static final int MAX_PENDING_TASKS = 1_024;
  /** How often retention runs. */
  public static final long RETENTION_INTERVAL_MILLIS = 10_000;

  /** Told, on the storage thread, how many messages of a stream could not be stored, and why. */
  public interface NotStoredListener {
    void notStored(StreamId stream, long messages, String reason);
  }

  private final MessageStore store;
  private final Set<StreamId> streams;
  private final ThreadPoolExecutor thread;
  private final LongSupplier clock;
  private final NotStoredListener onNotStored;
  private final List<Message.Data> turn = new ArrayList<>();
  private final AtomicLong stored = new AtomicLong();
  private final AtomicLong notStored = new AtomicLong();
  private long lastRetention;

  /**
   * @param streams the streams whose deliveries are kept
   * @param clock wall-clock milliseconds (the time index's), injected for tests
   */
  public StorageService(Path dir, MessageStore.Retention retention, Set<StreamId> streams, LongSupplier clock,
      NotStoredListener onNotStored) throws IOException {
    this.store = MessageStore.open(dir, retention);
    this.streams = Set.copyOf(streams);
    this.clock = clock;
    this.onNotStored = onNotStored;
    this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(MAX_PENDING_TASKS), r -> {
      Thread t = new Thread(r, "overlay-storage");
      t.setDaemon(true);
      return t;
    });
    this.lastRetention = clock.getAsLong();
  }

  /** Whether this node keeps the stream's history. */
  public boolean keeps(StreamId stream) {
    return streams.contains(stream);
  }

  /**
   * On the loop: a message the node delivered, with the seal that authenticated it (the copy
   * delivered carries one only if it brought it on the wire); kept with the turn's others if its
   * stream is kept.
   */
  public void delivered(Message.Data m, dev.overlay.protocol.Seal seal) {
    if (!streams.contains(m.stream())) return;
    turn.add(seal != null && m.seal() != seal ? m.withSeal(seal, false) : m);
  }

  /** On the loop, at the end of a turn: hands the turn's deliveries to the storage thread as one write. */
  public void endOfTurn() {
    if (turn.isEmpty()) return;
    List<Message.Data> batch = new ArrayList<>(turn);
    turn.clear();
    try {
      thread.execute(() -> write(batch));
    } catch (RejectedExecutionException e) {
      refused(batch, "the storage thread is " + MAX_PENDING_TASKS + " tasks behind (the disk is slower than the streams)");
    }
  }

  private void write(List<Message.Data> batch) {
    long now = clock.getAsLong();
    try {
      store.append(batch, now);
      stored.addAndGet(batch.size());
    } catch (IOException | RuntimeException e) {
      refused(batch, e.getMessage());
      return;
    }
    if (now - lastRetention >= RETENTION_INTERVAL_MILLIS) { // every 10 s, as the node writes
      lastRetention = now;
      try {
        int dropped = store.enforceRetention(now);
        if (dropped > 0) log.debug("retention dropped {} seconds of history", dropped);
      } catch (IOException | RuntimeException e) {
        log.warn("retention failed: {}", e.toString());
      }
    }
  }

  private void refused(List<Message.Data> batch, String reason) {
    notStored.addAndGet(batch.size());
    java.util.Map<StreamId, Long> perStream = new java.util.HashMap<>();
    for (Message.Data m : batch) perStream.merge(m.stream(), 1L, Long::sum);
    perStream.forEach((s, n) -> onNotStored.notStored(s, n, reason));
  }

  /**
   * Reads, on the storage thread, up to {@code max} messages of a publisher session from
   * {@code fromSeq} to {@code toSeq}; the future fails if the thread is too far behind or the store fails.
   */
  public CompletableFuture<List<Message.Data>> read(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq,
      int max, int maxBytes) {
    return submit(() -> store.read(stream, publisher, session, fromSeq, toSeq, max, maxBytes));
  }

  /** Where each session stored from {@code fromMillis} on begins (see {@link MessageStore#since}). */
  public CompletableFuture<List<Position>> since(StreamId stream, long fromMillis, int max) {
    return submit(() -> store.since(stream, fromMillis, max));
  }

  private <T> CompletableFuture<T> submit(java.util.function.Supplier<T> read) {
    CompletableFuture<T> f = new CompletableFuture<>();
    Executor e = thread;
    try {
      e.execute(() -> {
        try {
          f.complete(read.get());
        } catch (RuntimeException ex) {
          f.completeExceptionally(ex);
        }
      });
    } catch (RejectedExecutionException ex) {
      f.completeExceptionally(new IOException("the storage thread is " + MAX_PENDING_TASKS + " tasks behind"));
    }
    return f;
  }

  /** Messages written so far. */
  public long stored() {
    return stored.get();
  }

  /** Messages that could not be written (the thread was too far behind, or the store failed). */
  public long notStored() {
    return notStored.get();
  }

  /**
   * Finishes the writes and reads already handed over, then closes the store, as the storage
   * thread's last task: RocksDB is never closed under a read or a retention pass. Waits up to
   * 10 s for it.
   */
  @Override
  public void close() {
    endOfTurn(); // what this turn delivered is written too
    boolean queued;
    try {
      thread.execute(store::close);
      queued = true;
    } catch (RejectedExecutionException e) {
      queued = false; // the queue is full: close once the thread has finished it
    }
    thread.shutdown();
    try {
      if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warn("the storage thread did not finish within 10 s; the store stays open until it does");
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (!queued) store.close();
  }
}
