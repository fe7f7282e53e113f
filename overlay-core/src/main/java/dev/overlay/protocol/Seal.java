package dev.overlay.protocol;

import java.util.Arrays;

/**
 * A publisher's signature over a batch of its messages: the 16-byte digests of messages
 * {@code firstSeq .. firstSeq+count-1} of one session, and one signature over them all. A
 * node authenticates a message by one SHA-256 against the seal that covers it; the signature
 * is verified once per seal. It travels inside the first {@link Message.Data} of its batch on
 * each link ({@link Message.Data#sealOnWire}), so a node never holds a message it cannot
 * check yet.
 *
 * <p>What is signed, and how a digest is made, is {@code dev.overlay.auth.SealFormat}'s;
 * the signature scheme is the node's {@code dev.overlay.auth.Signatures}.
 */
public record Seal(long firstSeq, int count, byte[] digests, byte[] publicKey, byte[] signature) {

  /** Bytes of one message's digest: SHA-256 truncated to 128 bits. */
  public static final int DIGEST_BYTES = 16;
  /** The most messages one seal covers. */
  public static final int MAX_COUNT = 1024;
  /** Bounds on what a peer may send: a P-256 key in X.509 form is 91 bytes, a signature 64. */
  public static final int MAX_KEY_BYTES = 256;
  public static final int MAX_SIGNATURE_BYTES = 256;

  public Seal {
    if (count < 1 || count > MAX_COUNT) throw new IllegalArgumentException("a seal covers 1.." + MAX_COUNT + " messages, got " + count);
    if (firstSeq < 1 || firstSeq > Message.MAX_SEQ - count + 1) throw new IllegalArgumentException("seal range out of bounds");
    if (digests.length != count * DIGEST_BYTES) {
      throw new IllegalArgumentException("a seal of " + count + " messages carries " + count * DIGEST_BYTES + " digest bytes, got " + digests.length);
    }
    if (publicKey.length == 0 || publicKey.length > MAX_KEY_BYTES) throw new IllegalArgumentException("seal key of " + publicKey.length + " bytes");
    if (signature.length == 0 || signature.length > MAX_SIGNATURE_BYTES) {
      throw new IllegalArgumentException("seal signature of " + signature.length + " bytes");
    }
  }

  public long lastSeq() {
    return firstSeq + count - 1;
  }

  public boolean covers(long seq) {
    return seq >= firstSeq && seq <= lastSeq();
  }

  /** Whether {@code digest[from..from+16)} is the digest the seal holds for {@code seq} (which it covers). */
  public boolean matches(long seq, byte[] digest, int from) {
    int at = (int) (seq - firstSeq) * DIGEST_BYTES;
    return Arrays.equals(digests, at, at + DIGEST_BYTES, digest, from, from + DIGEST_BYTES);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Seal s && s.firstSeq == firstSeq && s.count == count && Arrays.equals(s.digests, digests)
        && Arrays.equals(s.publicKey, publicKey) && Arrays.equals(s.signature, signature);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(firstSeq) * 31 + Arrays.hashCode(signature);
  }

  @Override
  public String toString() {
    return "Seal[" + firstSeq + ".." + lastSeq() + "]";
  }
}
