package dev.overlay.identity;

import dev.overlay.auth.Signatures;
import dev.overlay.core.PeerId;
import java.io.IOException;
import java.math.BigInteger;
import java.security.interfaces.ECPrivateKey;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.crypto.util.PublicKeyFactory;

/**
 * Seals signed with the node's own identity key: ECDSA on P-256 with SHA-256, the signature as
 * r‖s (64 bytes), the nonce derived from the key and the message (RFC 6979), so signing needs
 * no randomness. The public key travels in X.509 form, whose SHA-256 is the peer id: a seal's
 * key is checked against its publisher by one hash.
 *
 * <p>BouncyCastle's lightweight API on its dedicated P-256 curve code: about 60 µs to verify
 * and 25 µs to sign on this project's machines, against 400 to 700 µs through the JDK 17
 * provider (docs/benchmarks.md). Parsed public keys are cached. One instance per node; not
 * thread-safe (the node's loop is its only caller).
 */
public final class EcdsaSignatures implements Signatures {

  private static final X9ECParameters CURVE = CustomNamedCurves.getByName("secp256r1");
  private static final ECDomainParameters DOMAIN =
      new ECDomainParameters(CURVE.getCurve(), CURVE.getG(), CURVE.getN(), CURVE.getH(), CURVE.getSeed());
  private static final int KEYS_CACHED = 1024;

  private final byte[] publicKey;
  private final ECPrivateKeyParameters privateKey;
  private final ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
  private final ECDSASigner verifier = new ECDSASigner();
  private final SHA256Digest sha256 = new SHA256Digest();
  private final byte[] hash = new byte[32];
  private final LinkedHashMap<Key, ECPublicKeyParameters> keys = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Key, ECPublicKeyParameters> eldest) {
      return size() > KEYS_CACHED;
    }
  };

  /** A key's bytes as a map key. */
  private record Key(byte[] bytes) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }
  }

  public EcdsaSignatures(NodeIdentity identity) {
    this.publicKey = identity.publicKey().getEncoded();
    BigInteger d = ((ECPrivateKey) identity.privateKey()).getS();
    this.privateKey = new ECPrivateKeyParameters(d, DOMAIN);
  }

  @Override
  public byte[] publicKey() {
    return publicKey.clone();
  }

  @Override
  public byte[] sign(byte[] content) {
    digest(content);
    signer.init(true, privateKey);
    BigInteger[] rs = signer.generateSignature(hash);
    byte[] out = new byte[64];
    put(rs[0], out, 0);
    put(rs[1], out, 32);
    return out;
  }

  @Override
  public boolean keyBelongsTo(PeerId publisher, byte[] key) {
    sha256.reset();
    sha256.update(key, 0, key.length);
    sha256.doFinal(hash, 0);
    return PeerId.fromBytes(hash).equals(publisher);
  }

  @Override
  public boolean verify(byte[] key, byte[] content, byte[] signature) {
    if (signature.length != 64) return false;
    ECPublicKeyParameters pub = parse(key);
    if (pub == null) return false;
    BigInteger r = new BigInteger(1, Arrays.copyOfRange(signature, 0, 32));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
    digest(content);
    verifier.init(false, pub);
    return verifier.verifySignature(hash, r, s);
  }

  private ECPublicKeyParameters parse(byte[] key) {
    Key k = new Key(key);
    ECPublicKeyParameters cached = keys.get(k);
    if (cached != null) return cached;
    try {
      AsymmetricKeyParameter p = PublicKeyFactory.createKey(key);
      if (!(p instanceof ECPublicKeyParameters ec) || !ec.getParameters().getCurve().equals(DOMAIN.getCurve())) return null;
      // Re-based on the fast curve code: the factory's generic curve is several times slower.
      ECPublicKeyParameters fast = new ECPublicKeyParameters(DOMAIN.getCurve().decodePoint(ec.getQ().getEncoded(false)), DOMAIN);
      keys.put(k, fast);
      return fast;
    } catch (IOException | RuntimeException e) {
      return null; // not a P-256 key in X.509 form: no signature by it verifies
    }
  }

  private void digest(byte[] content) {
    sha256.reset();
    sha256.update(content, 0, content.length);
    sha256.doFinal(hash, 0);
  }

  private static void put(BigInteger v, byte[] out, int at) {
    byte[] b = v.toByteArray();
    int len = Math.min(b.length, 32);
    System.arraycopy(b, b.length - len, out, at + 32 - len, len);
  }
}
