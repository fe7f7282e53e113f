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
import java.util.concurrent.Executor;

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

  /** Where the answers go. */
  interface Sender {
    void send(PeerId to, Message message);
  }

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
    boolean busy; // a read (or the time lookup) is in flight
    long sent;

    Job(Key key, StreamId stream, long credit) {
      this.key = key;
      this.stream = stream;
      this.credit = credit;
    }
  }

  private final StorageService storage;
  private final Sender sender;
  private final Executor loop;
  private final Map<Key, Job> jobs = new HashMap<>();
  private final Map<PeerId, Integer> perPeer = new HashMap<>();
  private long served;
  private long refused;

  /** @param storage null on a node that keeps no history: every request is answered NOT_STORED */
  ResendServer(StorageService storage, Sender sender, Executor loop) {
    this.storage = storage;
    this.sender = sender;
    this.loop = loop;
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
    Job job = new Job(key, r.stream(), Math.min(r.credit(), Message.MAX_RESEND_CREDIT));
    jobs.put(key, job);
    perPeer.merge(from, 1, Integer::sum);
    if (r.publisher() != null) {
      job.ranges.add(new Range(r.publisher(), r.session(), r.fromSeq(), r.toSeq() == 0 ? Long.MAX_VALUE : r.toSeq()));
      pump(job);
      return;
    }
    job.busy = true;
    storage.since(r.stream(), r.fromMillis(), MAX_SESSIONS).whenComplete((positions, e) -> loop.execute(() -> {
      job.busy = false;
      if (jobs.get(key) != job) return;
      if (e != null) {
        finish(job, Message.ResendOutcome.FAILED, e.getMessage());
        return;
      }
      for (Position p : positions) job.ranges.add(new Range(p.publisher(), p.session(), p.seq(), Long.MAX_VALUE));
      pump(job);
    }));
  }

  void onCredit(PeerId from, Message.ResendCredit c) {
    Job job = jobs.get(new Key(from, c.request()));
    if (job == null) return; // ended meanwhile
    job.credit = Math.min(Message.MAX_RESEND_CREDIT, job.credit + c.credit());
    pump(job);
  }

  /** The asker's link went down: its requests end with it. */
  void linkDown(PeerId peer) {
    if (perPeer.remove(peer) == null) return;
    jobs.values().removeIf(j -> j.key.peer().equals(peer));
  }

  private void pump(Job job) {
    // A whole batch's worth of credit, or wait: a batch then never overruns the asker's credit.
    if (job.busy || job.credit < MAX_BATCH_BYTES) return;
    Range range = job.ranges.peek();
    if (range == null) {
      finish(job, Message.ResendOutcome.COMPLETE, job.sent + " messages");
      return;
    }
    job.busy = true;
    storage.read(job.stream, range.publisher, range.session, range.next, range.to, MAX_BATCH, MAX_BATCH_BYTES)
        .whenComplete((list, e) -> loop.execute(() -> {
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
          job.sent += list.size();
          served += list.size();
          long last = list.get(list.size() - 1).seq();
          if (last >= range.to) job.ranges.poll();
          else range.next = last + 1;
          // The next read first, so that the storage thread reads it while this loop encodes and sends this one.
          boolean finished = job.ranges.isEmpty();
          if (!finished) pump(job);
          sender.send(job.key.peer(), new Message.ResendBatch(job.stream, job.key.request(), list));
          if (finished) pump(job); // after the last batch: the end
        }));
  }

  private void finish(Job job, Message.ResendOutcome outcome, String detail) {
    jobs.remove(job.key);
    perPeer.computeIfPresent(job.key.peer(), (p, n) -> n <= 1 ? null : n - 1);
    end(job.key.peer(), job.stream, job.key.request(), outcome, detail);
  }

  private void end(PeerId to, StreamId stream, long request, Message.ResendOutcome outcome, String detail) {
    String d = detail == null ? "" : detail.length() > 500 ? detail.substring(0, 500) : detail;
    sender.send(to, new Message.ResendEnd(stream, request, outcome, d));
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
