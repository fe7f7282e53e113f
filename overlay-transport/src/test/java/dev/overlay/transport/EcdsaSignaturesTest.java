package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.identity.EcdsaSignatures;
import dev.overlay.identity.NodeIdentity;
import org.junit.jupiter.api.Test;

class EcdsaSignaturesTest {

  private final NodeIdentity alice = NodeIdentity.generate();
  private final NodeIdentity bob = NodeIdentity.generate();
  private final EcdsaSignatures a = new EcdsaSignatures(alice);
  private final EcdsaSignatures b = new EcdsaSignatures(bob);

  @Test
  void aSignatureVerifiesWithItsKeyOnlyAndOverItsBytesOnly() {
    byte[] content = "seal bytes".getBytes();
    byte[] sig = a.sign(content);
    assertThat(sig).hasSize(64);
    assertThat(b.verify(a.publicKey(), content, sig)).isTrue();
    assertThat(b.verify(b.publicKey(), content, sig)).isFalse();
    assertThat(b.verify(a.publicKey(), "other bytes".getBytes(), sig)).isFalse();
    sig[10] ^= 1;
    assertThat(b.verify(a.publicKey(), content, sig)).isFalse();
  }

  @Test
  void signingIsDeterministic() {
    assertThat(a.sign(new byte[] {1, 2})).isEqualTo(a.sign(new byte[] {1, 2}));
  }

  @Test
  void aKeyBelongsToThePeerWhoseIdIsItsHash() {
    assertThat(b.keyBelongsTo(alice.peerId(), a.publicKey())).isTrue();
    assertThat(b.keyBelongsTo(bob.peerId(), a.publicKey())).isFalse();
  }

  @Test
  void garbageKeysAndSignaturesVerifyNothing() {
    byte[] content = {1};
    assertThat(b.verify(new byte[] {1, 2, 3}, content, a.sign(content))).isFalse();
    assertThat(b.verify(a.publicKey(), content, new byte[10])).isFalse();
    assertThat(b.verify(a.publicKey(), content, new byte[64])).isFalse();
  }
}
