package dev.overlay.protocol;

import dev.overlay.core.PeerId;

/**
 * The identity of one published message: (publisher, session, sequence number).
 *
 * <p>Never a content hash, so two messages with the same bytes are two messages. The session
 * changes each time the publisher restarts, and sequence numbers start at 1 in every session.
 */
public record MessageRef(PeerId publisher, long session, long seq) {

  @Override
  public String toString() {
    return publisher + "/" + Long.toHexString(session) + "/" + seq;
  }
}
