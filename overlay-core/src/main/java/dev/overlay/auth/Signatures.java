package dev.overlay.auth;

import dev.overlay.core.PeerId;

/**
 * The signature scheme a node seals its messages with and checks others' seals by: its own key
 * to sign with, and a way to verify anyone's. Passed into the core like its random generator:
 * the core decides what to sign and when, the scheme only computes. The runtime's is ECDSA
 * P-256 with the node's identity key ({@code dev.overlay.identity.EcdsaSignatures}); the
 * simulator's is a cheap stand-in that still refuses what a node did not sign.
 *
 * <p>Verification is a function of its inputs (no clock, no state that changes its answer);
 * signing may draw a random nonce. Both are called from the node's one thread.
 */
public interface Signatures {

  /** This node's public key, as carried in its seals. */
  byte[] publicKey();

  /** This node's signature over {@code digest}, the SHA-256 of what is signed. */
  byte[] sign(byte[] digest);

  /** Whether {@code publicKey} is the key of {@code publisher}: its peer id is the key's hash. */
  boolean keyBelongsTo(PeerId publisher, byte[] publicKey);

  /** Whether {@code signature} over {@code digest} (a SHA-256) was made with the key {@code publicKey}. */
  boolean verify(byte[] publicKey, byte[] digest, byte[] signature);
}
