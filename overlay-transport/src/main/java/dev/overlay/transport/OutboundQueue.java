package dev.overlay.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import java.util.ArrayDeque;
import java.util.function.LongSupplier;

/**
 * Everything on its way to one peer that Netty does not hold yet. Used from the node's loop only.
 *
 * <p>While the channel is writable, frames are copied into a {@code batch} buffer in the order
 * they are sent, and the batch goes to Netty as one write at the next flush: a 100-byte frame
 * costs a copy, not a buffer object, a reference count and a pipeline write of its own, and the
 * TLS layer gets one contiguous run of frames to seal. Frames of {@link #SHARE_AT} bytes or more
 * are not copied: each peer gets a retained duplicate of the one encoded buffer.
 *
 * <p>While the channel is not writable (Netty holds more than the high water mark), frames wait
 * in two lanes, bounded in bytes: control (membership, IHAVE, GRAFT, PRUNE), which is written
 * first once the channel drains, and data. Long before the data lane is full the node stops
 * reading ({@link Backpressure}); a data lane that fills anyway (a pause that ran out) refuses
 * the frame, which the caller sheds; a full control lane means the peer is hopeless (the caller
 * disconnects it).
 *
 * <p>Internal, not API: public only so that a JMH benchmark in overlay-bench can measure it.
 */
public final class OutboundQueue {

  public enum Offer { ACCEPTED, DATA_FULL, CONTROL_FULL }

  /** Frames this large are shared between peers, not copied. */
  static final int SHARE_AT = 2048;
  /** A batch (or lane chunk) is handed over once it holds this much, flush or not. */
  static final int CHUNK_BYTES = 64 * 1024;
  private static final int FIRST_CHUNK_BYTES = 1024;

  /** One lane: buffers in order, the last of them possibly still being filled. */
  private static final class Lane {
    final ArrayDeque<ByteBuf> buffers = new ArrayDeque<>();
    ByteBuf filling; // our own chunk at the tail, or null when the tail is shared or the lane empty
    long bytes;

    ByteBuf poll() {
      ByteBuf b = buffers.poll();
      if (b == filling) filling = null;
      if (b != null) bytes -= b.readableBytes();
      return b;
    }

    boolean isEmpty() {
      return buffers.isEmpty();
    }

    int release() {
      int n = buffers.size();
      for (ByteBuf b : buffers) b.release();
      buffers.clear();
      filling = null;
      bytes = 0;
      return n;
    }
  }

  private final int maxDataBytes;
  private final int maxControlBytes;
  private final ByteBufAllocator alloc;
  private final LongSupplier clock;
  private ByteBuf batch;
  private final Lane control = new Lane();
  private final Lane data = new Lane();
  /** When the data lane last went from empty to backlogged; -1 while empty. */
  private long backloggedSince = -1;

  public OutboundQueue(int maxDataBytes, int maxControlBytes, ByteBufAllocator alloc, LongSupplier clock) {
    this.maxDataBytes = maxDataBytes;
    this.maxControlBytes = maxControlBytes;
    this.alloc = alloc;
    this.clock = clock;
  }

  /**
   * Takes a copy (or a share) of {@code frame}'s readable bytes; the caller keeps its own
   * reference either way. {@code channel} is the peer's ready channel, or null while there is none.
   */
  public Offer offer(ByteBuf frame, boolean isControl, Channel channel) {
    int size = frame.readableBytes();
    if (channel != null && lanesEmpty() && channel.isWritable()) {
      if (size >= SHARE_AT) {
        writeBatch(channel);
        channel.write(frame.retainedDuplicate(), channel.voidPromise());
      } else {
        if (batch != null && batch.maxWritableBytes() < size) writeBatch(channel);
        if (batch == null) batch = alloc.directBuffer(Math.max(FIRST_CHUNK_BYTES, size), CHUNK_BYTES);
        batch.writeBytes(frame, frame.readerIndex(), size);
      }
      return Offer.ACCEPTED;
    }
    if (isControl) {
      if (control.bytes + size > maxControlBytes) return Offer.CONTROL_FULL;
      append(control, frame, size);
    } else {
      if (data.bytes + size > maxDataBytes) return Offer.DATA_FULL;
      if (data.isEmpty()) backloggedSince = clock.getAsLong();
      append(data, frame, size);
    }
    return Offer.ACCEPTED;
  }

  /**
   * Hands Netty the batch and then, while the channel can take more, the control lane and the
   * data lane. Returns whether anything was written (so a flush is due).
   */
  public boolean drainTo(Channel channel) {
    boolean wrote = writeBatch(channel);
    while (channel.isWritable()) {
      ByteBuf next = control.poll();
      if (next == null) {
        next = data.poll();
        if (next == null) break;
        if (data.isEmpty()) backloggedSince = -1;
      }
      channel.write(next, channel.voidPromise());
      wrote = true;
    }
    return wrote;
  }

  /** Writes everything, writable or not: the link is about to close. */
  void drainAll(Channel channel) {
    writeBatch(channel);
    for (ByteBuf b = control.poll(); b != null; b = control.poll()) channel.write(b, channel.voidPromise());
    for (ByteBuf b = data.poll(); b != null; b = data.poll()) channel.write(b, channel.voidPromise());
    backloggedSince = -1;
  }

  boolean isEmpty() {
    return batch == null && lanesEmpty();
  }

  /** How long the data lane has been backlogged, or 0. */
  long backloggedFor(long now) {
    return backloggedSince < 0 ? 0 : now - backloggedSince;
  }

  /** Bytes waiting in the lanes (the batch is on its way and not counted). */
  long queuedBytes() {
    return control.bytes + data.bytes;
  }

  /** Bytes waiting in the data lane: what backpressure watches. */
  long dataBytes() {
    return data.bytes;
  }

  /** Drops everything held; returns how many buffers that was (a batch counts as one). */
  public int releaseAll() {
    int n = control.release() + data.release();
    if (batch != null) {
      batch.release();
      batch = null;
      n++;
    }
    backloggedSince = -1;
    return n;
  }

  private boolean lanesEmpty() {
    return control.isEmpty() && data.isEmpty();
  }

  private boolean writeBatch(Channel channel) {
    if (batch == null) return false;
    channel.write(batch, channel.voidPromise());
    batch = null;
    return true;
  }

  private void append(Lane lane, ByteBuf frame, int size) {
    lane.bytes += size;
    if (size >= SHARE_AT) {
      lane.buffers.add(frame.retainedDuplicate());
      lane.filling = null;
      return;
    }
    if (lane.filling == null || lane.filling.maxWritableBytes() < size) {
      lane.filling = alloc.directBuffer(Math.max(FIRST_CHUNK_BYTES, size), CHUNK_BYTES);
      lane.buffers.add(lane.filling);
    }
    lane.filling.writeBytes(frame, frame.readerIndex(), size);
  }
}
