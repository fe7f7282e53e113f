package dev.overlay.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A stream's identity on the wire: the first 8 bytes of SHA-256 of its UTF-8 name.
 *
 * <p>Eight bytes rather than the name keep every data frame small. Two names collide with
 * probability about n²/2⁶⁵ for n streams (about 3·10⁻⁸ for a million streams).
 */
public record StreamId(long value) {

  /**
   * The id of the stream of this name: the same on every node.
   *
   * @param name the stream's name, not empty
   * @return its id
   * @throws IllegalArgumentException if the name is null or empty
   */
  public static StreamId of(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a stream name must not be empty");
    }
    byte[] digest = sha256(name.getBytes(StandardCharsets.UTF_8));
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (digest[i] & 0xFFL);
    }
    return new StreamId(v);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(value * 0x9E3779B97F4A7C15L);
  }

  @Override
  public String toString() {
    return String.format("%016x", value);
  }

  private static byte[] sha256(byte[] input) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(input);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }
}
