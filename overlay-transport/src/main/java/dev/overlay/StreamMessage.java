package dev.overlay;

import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A message delivered to a subscription. {@link #publisher()}, {@link #session()} and
 * {@link #seq()} identify it: a publisher numbers its messages 1, 2, 3... within a session, and a
 * restarted publisher starts a new session. The payload is the publisher's bytes, unchanged.
 *
 * <p>The payload is shared with the node (it may be in the node's cache and on its way to other
 * peers), so it is handed out read-only: {@link #payload()} is a read-only view,
 * {@link #copyPayload()} a copy of one's own. A handler may keep a message after it returns.
 */
public final class StreamMessage {

  private final String stream;
  private final PeerId publisher;
  private final long session;
  private final long seq;
  private final byte[] payload;

  StreamMessage(String stream, PeerId publisher, long session, long seq, byte[] payload) {
    this.stream = stream;
    this.publisher = publisher;
    this.session = session;
    this.seq = seq;
    this.payload = payload;
  }

  /** {@return the stream's name, as subscribed to} */
  public String stream() {
    return stream;
  }

  /** {@return the node that published it} */
  public PeerId publisher() {
    return publisher;
  }

  /** {@return the publisher's session: a new one each time the publisher starts} */
  public long session() {
    return session;
  }

  /** {@return its number in the publisher's session, from 1 with no gaps at the publisher} */
  public long seq() {
    return seq;
  }

  /**
   * {@return where this message stands in its publisher's stream: what to keep, and give to
   * {@link dev.overlay.core.StartAt#after} on a restart, to resume after it}
   */
  public Position position() {
    return new Position(publisher, session, seq);
  }

  /** {@return a read-only view of the payload, from position 0 to its size; a new view at each call} */
  public ByteBuffer payload() {
    return ByteBuffer.wrap(payload).asReadOnlyBuffer();
  }

  /** {@return the payload's size in bytes} */
  public int payloadSize() {
    return payload.length;
  }

  /** {@return a copy of the payload, the caller's to change} */
  public byte[] copyPayload() {
    return Arrays.copyOf(payload, payload.length);
  }

  @Override
  public String toString() {
    return "StreamMessage[" + stream + ", " + publisher + "/" + session + "/" + seq + ", " + payload.length + " bytes]";
  }
}
