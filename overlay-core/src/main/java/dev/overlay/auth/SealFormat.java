package dev.overlay.auth;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The bytes of publisher authentication (docs/protocol.md, "Seals"):
 * <ul>
 *   <li>a message's digest: the first 16 bytes of SHA-256 over {@code "overlay/msg/v2"},
 *       stream (8 bytes, big-endian), publisher (32), session (8), seq (8), payload;</li>
 *   <li>what a seal's signature covers: the SHA-256 of {@code "overlay/seal/v2"}, stream,
 *       publisher, session, first_seq (8), count (4), then the digests.</li>
 * </ul>
 * The hop count is not covered: relays change it. Domain prefixes keep a digest or a signature
 * made for one purpose from passing for another. One instance per node thread: it reuses its
 * digest engine and buffers, so digesting a message allocates nothing.
 */
public final class SealFormat {

  private static final byte[] MESSAGE_DOMAIN = "overlay/msg/v2".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SEAL_DOMAIN = "overlay/seal/v2".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = 8 + PeerId.BYTES + 8 + 8;

  private final MessageDigest sha256;
  private final byte[] header = new byte[HEADER];
  private final ByteBuffer headerView = ByteBuffer.wrap(header);
  private final byte[] full = new byte[32];

  public SealFormat() {
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  /** Writes the digest of {@code m} into {@code out[at..at+16)}. */
  public void digest(Message.Data m, byte[] out, int at) {
    digest(m.stream(), m.publisher(), m.session(), m.seq(), m.payload(), out, at);
  }

  public void digest(StreamId stream, PeerId publisher, long session, long seq, byte[] payload, byte[] out, int at) {
    headerView.clear();
    headerView.putLong(stream.value()).putLong(publisher.w0()).putLong(publisher.w1()).putLong(publisher.w2())
        .putLong(publisher.w3()).putLong(session).putLong(seq);
    sha256.update(MESSAGE_DOMAIN);
    sha256.update(header);
    sha256.update(payload);
    try {
      sha256.digest(full, 0, full.length);
    } catch (DigestException e) {
      throw new IllegalStateException("a 32-byte buffer holds a SHA-256", e);
    }
    System.arraycopy(full, 0, out, at, Seal.DIGEST_BYTES);
  }

  /** Whether {@code m}'s digest is the one {@code seal} holds for it (the seal covers m.seq()). */
  public boolean matches(Seal seal, Message.Data m) {
    digest(m, full, 0);
    return seal.matches(m.seq(), full, 0);
  }

  /**
   * The SHA-256 of the bytes a seal's signature covers, which is what is signed: written into a
   * buffer this instance reuses (valid until its next call), so checking a seal allocates nothing.
   */
  public byte[] sealDigest(StreamId stream, PeerId publisher, long session, long firstSeq, int count, byte[] digests) {
    headerView.clear();
    headerView.putLong(stream.value()).putLong(publisher.w0()).putLong(publisher.w1()).putLong(publisher.w2())
        .putLong(publisher.w3()).putLong(session).putLong(firstSeq);
    sha256.update(SEAL_DOMAIN);
    sha256.update(header);
    sha256.update((byte) (count >>> 24));
    sha256.update((byte) (count >>> 16));
    sha256.update((byte) (count >>> 8));
    sha256.update((byte) count);
    sha256.update(digests);
    try {
      sha256.digest(full, 0, full.length);
    } catch (DigestException e) {
      throw new IllegalStateException("a 32-byte buffer holds a SHA-256", e);
    }
    return full;
  }

  /** As {@link #sealDigest}, in a new array: for tests and tools. */
  public static byte[] signedDigest(StreamId stream, PeerId publisher, long session, long firstSeq, int count, byte[] digests) {
    return new SealFormat().sealDigest(stream, publisher, session, firstSeq, count, digests).clone();
  }
}
