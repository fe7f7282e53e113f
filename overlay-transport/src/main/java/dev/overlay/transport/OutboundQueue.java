package dev.overlay.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.ArrayDeque;

/**
 * What waits for one peer beyond Netty's own buffer: a control lane (membership, IHAVE, GRAFT,
 * PRUNE) written first, and a data lane. Both bounded in bytes. Used from the node's loop only.
 */
final class OutboundQueue {

  enum Offer { ACCEPTED, DATA_FULL, CONTROL_FULL }

  private final int maxDataBytes;
  private final int maxControlBytes;
  private final ArrayDeque<ByteBuf> control = new ArrayDeque<>();
  private final ArrayDeque<ByteBuf> data = new ArrayDeque<>();
  private long controlBytes;
  private long dataBytes;
  /** When the data lane last went from empty to backlogged; -1 while empty. */
  private long backloggedSince = -1;

  OutboundQueue(int maxDataBytes, int maxControlBytes) {
    this.maxDataBytes = maxDataBytes;
    this.maxControlBytes = maxControlBytes;
  }

  /** Queues a frame; on refusal the caller still owns (and must release) it. */
  Offer offer(ByteBuf frame, boolean isControl, long now) {
    int size = frame.readableBytes();
    if (isControl) {
      if (controlBytes + size > maxControlBytes) return Offer.CONTROL_FULL;
      control.add(frame);
      controlBytes += size;
    } else {
      if (dataBytes + size > maxDataBytes) return Offer.DATA_FULL;
      if (data.isEmpty()) backloggedSince = now;
      data.add(frame);
      dataBytes += size;
    }
    return Offer.ACCEPTED;
  }

  boolean isEmpty() {
    return control.isEmpty() && data.isEmpty();
  }

  /** Writes while the channel can take more, control first; returns whether anything was written. */
  boolean drainTo(Channel channel) {
    boolean wrote = false;
    while (channel.isWritable()) {
      ByteBuf next = control.poll();
      if (next != null) {
        controlBytes -= next.readableBytes();
      } else {
        next = data.poll();
        if (next == null) break;
        dataBytes -= next.readableBytes();
        if (data.isEmpty()) backloggedSince = -1;
      }
      channel.write(next, channel.voidPromise());
      wrote = true;
    }
    return wrote;
  }

  /** How long the data lane has been backlogged, or 0. */
  long backloggedFor(long now) {
    return backloggedSince < 0 ? 0 : now - backloggedSince;
  }

  long queuedBytes() {
    return controlBytes + dataBytes;
  }

  /** Drops everything queued; returns how many frames that was. */
  int releaseAll() {
    int n = control.size() + data.size();
    for (ByteBuf b : control) b.release();
    for (ByteBuf b : data) b.release();
    control.clear();
    data.clear();
    controlBytes = 0;
    dataBytes = 0;
    backloggedSince = -1;
    return n;
  }
}
