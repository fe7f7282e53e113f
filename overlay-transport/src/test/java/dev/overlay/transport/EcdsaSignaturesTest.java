package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.identity.EcdsaSignatures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EcdsaSignaturesTest {

  private final NodeIdentity alice = NodeIdentity.generate();
  private final NodeIdentity bob = NodeIdentity.generate();

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aSignatureVerifiesWithItsKeyOnlyAndOverItsBytesOnly(boolean nativeEngine) {
    EcdsaSignatures a = new EcdsaSignatures(alice, nativeEngine);
    EcdsaSignatures b = new EcdsaSignatures(bob, nativeEngine);
    byte[] content = sha256("seal bytes");
    byte[] sig = a.sign(content);
    assertThat(sig).hasSize(64);
    assertThat(b.verify(a.publicKey(), content, sig)).isTrue();
    assertThat(b.verify(b.publicKey(), content, sig)).isFalse();
    assertThat(b.verify(a.publicKey(), sha256("other bytes"), sig)).isFalse();
    sig[10] ^= 1;
    assertThat(b.verify(a.publicKey(), content, sig)).isFalse();
  }

  @Test
  void bothEnginesMakeAndTakeTheSameSignatures() {
    EcdsaSignatures nat = new EcdsaSignatures(alice, true);
    EcdsaSignatures bc = new EcdsaSignatures(alice, false);
    byte[] content = sha256("42");
    assertThat(bc.verify(nat.publicKey(), content, nat.sign(content))).isTrue();
    assertThat(nat.verify(bc.publicKey(), content, bc.sign(content))).isTrue();
    System.out.println("seal engine on this machine: " + new EcdsaSignatures(alice).engine());
  }

  @Test
  void aKeyBelongsToThePeerWhoseIdIsItsHash() {
    EcdsaSignatures a = new EcdsaSignatures(alice);
    EcdsaSignatures b = new EcdsaSignatures(bob);
    assertThat(b.keyBelongsTo(alice.peerId(), a.publicKey())).isTrue();
    assertThat(b.keyBelongsTo(bob.peerId(), a.publicKey())).isFalse();
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void garbageKeysAndSignaturesVerifyNothing(boolean nativeEngine) {
    EcdsaSignatures a = new EcdsaSignatures(alice, nativeEngine);
    EcdsaSignatures b = new EcdsaSignatures(bob, nativeEngine);
    byte[] content = sha256("1");
    assertThat(b.verify(new byte[] {1, 2, 3}, content, a.sign(content))).isFalse();
    assertThat(b.verify(a.publicKey(), content, new byte[10])).isFalse();
    assertThat(b.verify(a.publicKey(), content, new byte[64])).isFalse();
  }

  private static byte[] sha256(String s) {
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
