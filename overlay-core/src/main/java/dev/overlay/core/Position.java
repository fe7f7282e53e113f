package dev.overlay.core;

import java.util.Objects;

/**
 * A place in one publisher's stream of messages: message {@code seq} of the publisher's
 * {@code session}. As a start position ({@link StartAt#after}) it says "I have processed
 * everything of this session up to and including {@code seq}"; {@code seq} 0 means "nothing of
 * it yet".
 *
 * @param publisher the publisher's id
 * @param session the publisher's session
 * @param seq a sequence number of the session, 0 for before its first message
 */
public record Position(PeerId publisher, long session, long seq) {

  /**
   * Checks the position.
   *
   * @param publisher the publisher's id
   * @param session the publisher's session
   * @param seq a sequence number of the session, 0 for before its first message
   * @throws NullPointerException if {@code publisher} is null
   * @throws IllegalArgumentException if {@code seq} is negative
   */
  public Position {
    Objects.requireNonNull(publisher, "publisher");
    if (seq < 0) throw new IllegalArgumentException("seq must not be negative, got " + seq);
  }
}
