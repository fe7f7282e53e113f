package dev.overlay.core.testing;

import dev.overlay.auth.Signatures;
import dev.overlay.core.PeerId;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The simulator's stand-in for ECDSA: each node gets a secret from a seeded generator, its
 * "public key" is its id, and its signature over some bytes is 8 bytes of SHA-256 over its
 * secret and those bytes. Verifying looks the secret up here. Cheap enough for 10,000 nodes,
 * deterministic for a seed, and a node that is only handed its own {@link Signatures} cannot
 * sign for another, so forged messages are refused in the simulator as on the network.
 */
public final class TestKeys {

  private final SplittableRandom rng;
  private final Map<PeerId, Long> secrets = new HashMap<>();
  private final MessageDigest sha256;

  public TestKeys(long seed) {
    this.rng = new SplittableRandom(seed);
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  /** The signature scheme of node {@code id}: its own key to sign with, everyone's to verify. */
  public Signatures of(PeerId id) {
    long secret = secrets.computeIfAbsent(id, k -> rng.nextLong());
    byte[] key = id.toBytes();
    return new Signatures() {
      @Override
      public byte[] publicKey() {
        return key;
      }

      @Override
      public byte[] sign(byte[] digest) {
        return mac(secret, digest);
      }

      @Override
      public boolean keyBelongsTo(PeerId publisher, byte[] publicKey) {
        return Arrays.equals(publisher.toBytes(), publicKey);
      }

      @Override
      public boolean verify(byte[] publicKey, byte[] digest, byte[] signature) {
        if (publicKey.length != PeerId.BYTES) return false;
        Long s = secrets.get(PeerId.fromBytes(publicKey));
        return s != null && Arrays.equals(mac(s, digest), signature);
      }
    };
  }

  private byte[] mac(long secret, byte[] content) {
    sha256.update(ByteBuffer.allocate(8).putLong(secret).array());
    return Arrays.copyOf(sha256.digest(content), 8);
  }
}
