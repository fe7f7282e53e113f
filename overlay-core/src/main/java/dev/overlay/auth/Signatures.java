package dev.overlay.auth;

import dev.overlay.core.PeerId;

/**
 * The signature scheme a node seals its messages with and checks others' seals by: its own key
 * to sign with, and a way to verify anyone's. Passed into the core like its random generator:
 * the core decides what to sign and when, the scheme only computes. The runtime's is ECDSA
 * P-256 with the node's identity key ({@code dev.overlay.identity.EcdsaSignatures}); the
 * simulator's is a cheap stand-in that still refuses what a node did not sign.
 *
 * <p>Implementations are deterministic functions of their inputs (no clock, no randomness), and
 * are called from the node's one thread.
 */
public interface Signatures {

  /** This node's public key, as carried in its seals. */
  byte[] publicKey();

  /** This node's signature over {@code content}. */
  byte[] sign(byte[] content);

  /** Whether {@code publicKey} is the key of {@code publisher}: its peer id is the key's hash. */
  boolean keyBelongsTo(PeerId publisher, byte[] publicKey);

  /** Whether {@code signature} over {@code content} was made with the key {@code publicKey}. */
  boolean verify(byte[] publicKey, byte[] content, byte[] signature);
}
