package dev.overlay.runtime;

import dev.overlay.protocol.Message;
import dev.overlay.transport.WireFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Encodes a message once, however many peers it goes to: each link copies the bytes into its
 * batch (or, for a large frame, keeps a shared duplicate). The buffer is reused for the next
 * message unless a link still holds a duplicate of it, so small messages allocate nothing.
 * Loop-confined.
 */
final class FrameCache {

  private final ByteBufAllocator alloc;
  private Message lastEncoded;
  /** The encoding of lastEncoded. */
  private ByteBuf scratch;

  FrameCache(ByteBufAllocator alloc) {
    this.alloc = alloc;
  }

  /** The frame for {@code m}: encoded now, or the one just encoded for it. */
  ByteBuf encode(Message m) {
    if (m != lastEncoded) {
      if (scratch == null || scratch.refCnt() > 1) {
        if (scratch != null) scratch.release();
        scratch = alloc.directBuffer(512);
      }
      scratch.clear();
      WireFrames.encodeInto(scratch, m);
      lastEncoded = m;
    }
    return scratch;
  }

  /** At the end of a turn: a message object may be reused by the core, so never trust an old encoding. */
  void forget() {
    lastEncoded = null;
  }

  /** The node stopped: the buffer goes back (links keep their own references to what they hold). */
  void release() {
    if (scratch != null) {
      scratch.release();
      scratch = null;
    }
    lastEncoded = null;
  }
}
