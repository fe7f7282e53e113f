package dev.overlay.runtime;

import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.storage.StorageService;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers resend requests from this node's store (a storage node, or a gateway keeping its own
 * history): each request streams its range in {@link Message.ResendBatch}es, one read at a time,
 * never more messages than the asker gave credit for, and ends with {@link Message.ResendEnd}.
 * Loop-confined; reads run on the storage thread and come back to the loop.
 *
 * <p>Any authenticated peer may ask (history is for nodes that are not neighbours yet), so what a
 * peer can make this node do is bounded: {@link #MAX_PER_PEER} open requests per peer and
 * {@link #MAX_OPEN} in all (more are refused, with an answer), one read in flight per request,
 * each at most {@link #MAX_BATCH} messages and {@link #MAX_BATCH_BYTES}; a batch is read only
 * when the asker's credit (bytes, never above {@link Message#MAX_RESEND_CREDIT}) covers a whole
 * one, so what waits in the link's queue for one asker stays within its credit; a time request
 * expands to at most {@link #MAX_SESSIONS} sessions.
 */
final class ResendServer {

  static final int MAX_PER_PEER = 2;
  static final int MAX_OPEN = 32;
  static final int MAX_BATCH = Message.MAX_RESEND_BATCH;
  /**
   * Payload, seals and per-message framing of one batch: inside the smallest frame limit a peer
   * may set (128 KiB), as the largest message with its seal is (about 81 KiB).
   */
  static final int MAX_BATCH_BYTES = 112 * 1024;
  static final int MAX_SESSIONS = 256;

  /** What the server needs of the node, on its loop. */
  interface Host {
    void send(PeerId to, Message message);

    /** Whether the asker's link takes more without queueing past its high-water mark. */
    boolean writable(PeerId peer);

    /** Keeps the asker's link open while it has a request here (the core would close an idle one), or lets it go. */
    void hold(PeerId peer, boolean hold);

    /** Runs {@code task} on the loop after {@code millis}. */
    void schedule(Runnable task, long millis);

    /** Runs {@code task} on the loop, as a turn of its own. */
    void execute(Runnable task);
  }

  /** A request that neither gets credit nor sends anything for this long ends (FAILED): its slot is not held for ever. */
  static final long IDLE_MILLIS = 30_000;
  /** How long a batch waits for an unwritable link before it looks again. */
  static final long UNWRITABLE_RETRY_MILLIS = 5;
  /** The most credit one request holds here, whatever the asker grants: its share of the link's 4 MiB data queue. */
  static final long MAX_CREDIT = 1 << 20;

  private static final class Range {
    final PeerId publisher;
    final long session;
    long next;
    final long to;

    Range(PeerId publisher, long session, long next, long to) {
      this.publisher = publisher;
      this.session = session;
      this.next = next;
      this.to = to;
    }
  }

  private record Key(PeerId peer, long request) {}

  private static final class Job {
    final Key key;
    final StreamId stream;
    final ArrayDeque<Range> ranges = new ArrayDeque<>();
    long credit;
    boolean busy; // a read (or the time lookup) is in flight, or a wait for the link to drain
    long sent;
    long progress; // grows with every batch sent and every credit received: the idle check's mark
    String truncated; // non-null: a time request that found more sessions than one answer covers

    Job(Key key, StreamId stream, long credit) {
      this.key = key;
      this.stream = stream;
      this.credit = credit;
    }
  }

  private final StorageService storage;
  private final Host host;
  private final Map<Key, Job> jobs = new HashMap<>();
  private final Map<PeerId, Integer> perPeer = new HashMap<>();
  private long served;
  private long refused;

  /** @param storage null on a node that keeps no history: every request is answered NOT_STORED */
  ResendServer(StorageService storage, Host host) {
    this.storage = storage;
    this.host = host;
  }

  void onRequest(PeerId from, Message.ResendRequest r) {
    if (storage == null || !storage.keeps(r.stream())) {
      end(from, r.stream(), r.request(), Message.ResendOutcome.NOT_STORED, "this node keeps no history of the stream");
      return;
    }
    Key key = new Key(from, r.request());
    int open = perPeer.getOrDefault(from, 0);
    if (jobs.containsKey(key) || open >= MAX_PER_PEER || jobs.size() >= MAX_OPEN) {
      refused++;
      end(from, r.stream(), r.request(), Message.ResendOutcome.REFUSED, jobs.containsKey(key) ? "request number already open"
          : open >= MAX_PER_PEER ? MAX_PER_PEER + " requests of yours are open" : MAX_OPEN + " requests are open here");
      return;
    }
    if (r.credit() < MAX_BATCH_BYTES) {
      refused++;
      end(from, r.stream(), r.request(), Message.ResendOutcome.REFUSED, "credit below one batch (" + MAX_BATCH_BYTES + " bytes)");
      return;
    }
    Job job = new Job(key, r.stream(), Math.min(r.credit(), MAX_CREDIT));
    jobs.put(key, job);
    if (perPeer.merge(from, 1, Integer::sum) == 1) host.hold(from, true);
    checkIdle(job, job.progress);
    if (r.publisher() != null) {
      job.ranges.add(new Range(r.publisher(), r.session(), r.fromSeq(), r.toSeq() == 0 ? Long.MAX_VALUE : r.toSeq()));
      pump(job);
      return;
    }
    job.busy = true;
    storage.since(r.stream(), r.fromMillis(), MAX_SESSIONS).whenComplete((positions, e) -> host.execute(() -> {
      job.busy = false;
      if (jobs.get(key) != job) return;
      if (e != null) {
        finish(job, Message.ResendOutcome.FAILED, e.getMessage());
        return;
      }
      for (Position p : positions) job.ranges.add(new Range(p.publisher(), p.session(), p.seq(), Long.MAX_VALUE));
      if (positions.size() >= MAX_SESSIONS) {
        job.truncated = "the first " + MAX_SESSIONS + " sessions stored since then; more were: ask again from a later time";
      }
      pump(job);
    }));
  }

  void onCredit(PeerId from, Message.ResendCredit c) {
    Job job = jobs.get(new Key(from, c.request()));
    if (job == null) return; // ended meanwhile
    job.credit = Math.min(MAX_CREDIT, job.credit + c.credit());
    job.progress++;
    pump(job);
  }

  /** The asker's link went down (or this node closed it): its requests end with it. */
  void linkDown(PeerId peer) {
    if (perPeer.remove(peer) == null) return;
    jobs.values().removeIf(j -> j.key.peer().equals(peer));
    host.hold(peer, false);
  }

  /** Like HyParView's timers, the check names the progress it saw; one that moved on is checked again later. */
  private void checkIdle(Job job, long seen) {
    host.schedule(() -> {
      if (jobs.get(job.key) != job) return;
      if (job.progress == seen) finish(job, Message.ResendOutcome.FAILED, "no credit and nothing sent for " + IDLE_MILLIS / 1_000 + " s");
      else checkIdle(job, job.progress);
    }, IDLE_MILLIS);
  }

  private void pump(Job job) {
    // A whole batch's worth of credit, or wait: a batch then never overruns the asker's credit.
    if (job.busy || job.credit < MAX_BATCH_BYTES) return;
    Range range = job.ranges.peek();
    if (range != null && !host.writable(job.key.peer())) { // the link's queue drains first: history never backs it up
      job.busy = true;
      host.schedule(() -> {
        job.busy = false;
        if (jobs.get(job.key) == job) pump(job);
      }, UNWRITABLE_RETRY_MILLIS);
      return;
    }
    if (range == null) {
      if (job.truncated != null) finish(job, Message.ResendOutcome.TRUNCATED, job.sent + " messages, " + job.truncated);
      else finish(job, Message.ResendOutcome.COMPLETE, job.sent + " messages");
      return;
    }
    job.busy = true;
    storage.read(job.stream, range.publisher, range.session, range.next, range.to, MAX_BATCH, MAX_BATCH_BYTES)
        .whenComplete((list, e) -> host.execute(() -> {
          job.busy = false;
          if (jobs.get(job.key) != job) return; // the link went down meanwhile
          if (e != null) {
            finish(job, Message.ResendOutcome.FAILED, e.getMessage());
            return;
          }
          if (list.isEmpty()) {
            job.ranges.poll();
            pump(job);
            return;
          }
          for (Message.Data m : list) job.credit -= Message.ResendBatch.cost(m);
          job.progress++;
          job.sent += list.size();
          served += list.size();
          long last = list.get(list.size() - 1).seq();
          if (last >= range.to) job.ranges.poll();
          else range.next = last + 1;
          // The next read first, so that the storage thread reads it while this loop encodes and sends this one.
          boolean finished = job.ranges.isEmpty();
          if (!finished) pump(job);
          host.send(job.key.peer(), new Message.ResendBatch(job.stream, job.key.request(), list));
          if (finished) pump(job); // after the last batch: the end
        }));
  }

  private void finish(Job job, Message.ResendOutcome outcome, String detail) {
    jobs.remove(job.key);
    if (perPeer.computeIfPresent(job.key.peer(), (p, n) -> n <= 1 ? null : n - 1) == null) host.hold(job.key.peer(), false);
    end(job.key.peer(), job.stream, job.key.request(), outcome, detail);
  }

  private void end(PeerId to, StreamId stream, long request, Message.ResendOutcome outcome, String detail) {
    String d = detail == null ? "" : detail.length() > 500 ? detail.substring(0, 500) : detail;
    host.send(to, new Message.ResendEnd(stream, request, outcome, d));
  }

  /** Requests open now. */
  int open() {
    return jobs.size();
  }

  /** Messages sent in answers so far. */
  long served() {
    return served;
  }

  /** Requests refused for want of room. */
  long refused() {
    return refused;
  }

  /** For tests: the positions a peer's open request still has to send. */
  List<Long> nextOf(PeerId peer, long request) {
    Job j = jobs.get(new Key(peer, request));
    return j == null ? List.of() : j.ranges.stream().map(r -> r.next).toList();
  }
}
