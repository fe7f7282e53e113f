package dev.overlay.auth;

import dev.overlay.config.AuthConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Seal;
import dev.overlay.protocol.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Seals this node's messages in one stream: batches them and signs each batch once. A message
 * published when no seal was made for {@code sealInterval} is sealed at once, alone; later ones
 * wait for the next seal, at most {@code sealInterval} (or until {@code maxSealMessages} are
 * waiting). Sealed messages go to {@code sink} (Plumtree) in order, each with its seal attached.
 */
public final class Sealer {

  private final StreamId stream;
  private final PeerId self;
  private final long session;
  private final Signatures signatures;
  private final AuthConfig config;
  private final Outbox out;
  private final BiConsumer<Long, Message.Data> sink;
  private final SealFormat format;
  private final Timer.SealFlush timer;
  private final List<Message.Data> pending = new ArrayList<>();
  private long lastSealAt = Long.MIN_VALUE;
  private boolean scheduled;
  private long seals;

  /** @param sink takes (now, sealed message) */
  public Sealer(StreamId stream, PeerId self, long session, Signatures signatures, AuthConfig config, SealFormat format,
      Outbox out, BiConsumer<Long, Message.Data> sink) {
    this.stream = stream;
    this.self = self;
    this.session = session;
    this.signatures = signatures;
    this.config = config;
    this.format = format;
    this.out = out;
    this.sink = sink;
    this.timer = new Timer.SealFlush(stream);
  }

  /** Message {@code seq} of our session is published now. */
  public void add(long now, long seq, byte[] payload) {
    pending.add(new Message.Data(stream, self, session, seq, 0, payload));
    boolean quiet = lastSealAt == Long.MIN_VALUE || now - lastSealAt >= config.sealIntervalNanos();
    if (pending.size() >= config.maxSealMessages() || (!scheduled && quiet)) {
      seal(now);
    } else if (!scheduled) {
      scheduled = true;
      out.schedule(timer, lastSealAt + config.sealIntervalNanos() - now);
    }
  }

  /** The seal timer fired. */
  public void onTimer(long now) {
    scheduled = false;
    if (!pending.isEmpty()) seal(now);
  }

  /** Seals and sends whatever waits (leaving the stream: nothing published is held back). */
  public void flush(long now) {
    if (!pending.isEmpty()) seal(now);
  }

  public long seals() {
    return seals;
  }

  private void seal(long now) {
    int count = pending.size();
    long first = pending.get(0).seq();
    byte[] digests = new byte[count * Seal.DIGEST_BYTES];
    for (int i = 0; i < count; i++) format.digest(pending.get(i), digests, i * Seal.DIGEST_BYTES);
    byte[] signature = signatures.sign(format.sealDigest(stream, self, session, first, count, digests));
    Seal seal = new Seal(first, count, digests, signatures.publicKey(), signature);
    lastSealAt = now;
    seals++;
    List<Message.Data> batch = new ArrayList<>(pending);
    pending.clear();
    for (Message.Data m : batch) sink.accept(now, m.withSeal(seal, false));
  }
}
