package dev.overlay.identity;

import dev.overlay.NodeIdentity;
import dev.overlay.auth.Signatures;
import dev.overlay.core.PeerId;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.X509EncodedKeySpec;
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
import org.bouncycastle.crypto.signers.PlainDSAEncoding;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seals signed with the node's own identity key: ECDSA on P-256 over the SHA-256 digest the core
 * hands in, the signature as r‖s (64 bytes). The public key travels in X.509 form, whose SHA-256 is the peer id: a seal's
 * key is checked against its publisher by one hash.
 *
 * <p>Two engines, the same bytes. On Linux with the Amazon Corretto Crypto Provider's native
 * library (AWS-LC) loaded, a verification costs about 32 µs and allocates almost nothing; with
 * BouncyCastle's lightweight API on its dedicated P-256 code (everywhere else), about 60 µs and
 * 80 KB of garbage. The JDK 17 provider takes 400 to 700 µs (docs/benchmarks.md, "Signatures").
 * The native provider is used through its own instance, never installed as a JVM-wide provider:
 * a library does not change its application's cryptography.
 *
 * <p>One instance per node; not thread-safe (the node's loop is its only caller).
 */
public final class EcdsaSignatures implements Signatures {

  private static final Logger log = LoggerFactory.getLogger(EcdsaSignatures.class);
  private static final X9ECParameters CURVE = CustomNamedCurves.getByName("secp256r1");
  private static final ECDomainParameters DOMAIN =
      new ECDomainParameters(CURVE.getCurve(), CURVE.getG(), CURVE.getN(), CURVE.getH(), CURVE.getSeed());
  private static final int KEYS_CACHED = 1024;
  private static final Provider NATIVE = nativeProvider();

  private final byte[] publicKey;
  private final Engine engine;
  /** The JDK's SHA-256: intrinsic on x86-64 and AArch64, several times BouncyCastle's Java code on a 4 KB seal. */
  private final java.security.MessageDigest sha256;
  private final byte[] hash = new byte[32];

  public EcdsaSignatures(NodeIdentity identity) {
    this(identity, NATIVE != null);
  }

  /** With the native engine only if {@code preferNative} and it loaded (tests compare the two). */
  public EcdsaSignatures(NodeIdentity identity, boolean preferNative) {
    try {
      this.sha256 = java.security.MessageDigest.getInstance("SHA-256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
    this.publicKey = identity.publicKey().getEncoded();
    this.engine = preferNative && NATIVE != null ? new NativeEngine(identity.privateKey()) : new BouncyCastleEngine(identity.privateKey());
  }

  /** Which engine signs and verifies: "native (…)" or "BouncyCastle". */
  public String engine() {
    return engine.name();
  }

  @Override
  public byte[] publicKey() {
    return publicKey.clone();
  }

  @Override
  public byte[] sign(byte[] digest) {
    return engine.sign(digest);
  }

  @Override
  public boolean keyBelongsTo(PeerId publisher, byte[] key) {
    digest(key);
    return PeerId.fromBytes(hash).equals(publisher);
  }

  @Override
  public boolean verify(byte[] key, byte[] digest, byte[] signature) {
    if (signature.length != 64 || digest.length != 32) return false;
    return engine.verify(key, digest, signature);
  }

  private void digest(byte[] content) {
    sha256.update(content);
    try {
      sha256.digest(hash, 0, hash.length);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException("a 32-byte buffer holds a SHA-256", e);
    }
  }

  private static Provider nativeProvider() {
    try {
      Class<?> c = Class.forName("com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider");
      Provider p = (Provider) c.getField("INSTANCE").get(null);
      Throwable error = (Throwable) c.getMethod("getLoadingError").invoke(p);
      if (error != null) {
        log.debug("native ECDSA unavailable ({}); seals use BouncyCastle", error.toString());
        return null;
      }
      return p;
    } catch (ReflectiveOperationException | LinkageError e) {
      return null; // not on the class path, or not for this platform
    }
  }

  /** Signing a SHA-256 digest, and verifying one against a key in X.509 form. */
  private interface Engine {
    String name();

    byte[] sign(byte[] hash);

    boolean verify(byte[] key, byte[] hash, byte[] rs);
  }

  /** A key's bytes as a map key, for the caches of parsed keys. */
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

  private static <V> LinkedHashMap<Key, V> keyCache() {
    return new LinkedHashMap<>(64, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, V> eldest) {
        return size() > KEYS_CACHED;
      }
    };
  }

  /** The native provider's NONEwithECDSA: the digest in, DER out (converted to and from r‖s). */
  private static final class NativeEngine implements Engine {
    private final Signature signer;
    private final Signature verifier;
    private final KeyFactory keys;
    private final LinkedHashMap<Key, PublicKey> parsed = keyCache();

    NativeEngine(PrivateKey privateKey) {
      try {
        this.keys = KeyFactory.getInstance("EC", NATIVE);
        this.signer = Signature.getInstance("NONEwithECDSA", NATIVE);
        this.verifier = Signature.getInstance("NONEwithECDSA", NATIVE);
        signer.initSign(keys.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(privateKey.getEncoded())));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the native provider loaded but cannot do ECDSA P-256", e);
      }
    }

    @Override
    public String name() {
      return "native (" + NATIVE.getName() + " " + NATIVE.getVersionStr() + ")";
    }

    @Override
    public byte[] sign(byte[] hash) {
      try {
        signer.update(hash);
        BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(DOMAIN.getN(), signer.sign());
        return PlainDSAEncoding.INSTANCE.encode(DOMAIN.getN(), rs[0], rs[1]);
      } catch (GeneralSecurityException | IOException e) {
        throw new IllegalStateException("signing failed", e);
      }
    }

    @Override
    public boolean verify(byte[] key, byte[] hash, byte[] rs) {
      try {
        PublicKey pub = key(key);
        if (pub == null) return false;
        int len = der(rs, der);
        verifier.initVerify(pub);
        verifier.update(hash);
        return verifier.verify(der, 0, len);
      } catch (GeneralSecurityException | RuntimeException e) {
        return false; // a key or signature that is not P-256 ECDSA: nothing by it verifies
      }
    }

    /** The parsed key, from a one-entry memo (a batch's seals share their key) or the cache. */
    private PublicKey key(byte[] key) throws GeneralSecurityException {
      if (lastKey != null && Arrays.equals(lastKey, key)) return lastParsed;
      Key k = new Key(key);
      PublicKey pub = parsed.get(k);
      if (pub == null) {
        pub = keys.generatePublic(new X509EncodedKeySpec(key));
        if (!"EC".equals(pub.getAlgorithm())) return null;
        parsed.put(k, pub);
      }
      lastKey = key.clone();
      lastParsed = pub;
      return pub;
    }

    private final byte[] der = new byte[72];
    private byte[] lastKey;
    private PublicKey lastParsed;

    /** r‖s as a DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) into {@code out}; returns its length. */
    static int der(byte[] rs, byte[] out) {
      int at = 2;
      at = integer(rs, 0, out, at);
      at = integer(rs, 32, out, at);
      out[0] = 0x30;
      out[1] = (byte) (at - 2);
      return at;
    }

    private static int integer(byte[] rs, int from, byte[] out, int at) {
      int i = from;
      while (i < from + 31 && rs[i] == 0) i++; // minimal: no leading zero bytes, but at least one byte
      boolean pad = (rs[i] & 0x80) != 0; // a leading 1 bit would make it negative
      int len = from + 32 - i + (pad ? 1 : 0);
      out[at++] = 0x02;
      out[at++] = (byte) len;
      if (pad) out[at++] = 0;
      System.arraycopy(rs, i, out, at, from + 32 - i);
      return at + from + 32 - i;
    }
  }

  /** BouncyCastle's lightweight ECDSA on its dedicated P-256 code; RFC 6979 nonces. */
  private static final class BouncyCastleEngine implements Engine {
    private final ECPrivateKeyParameters privateKey;
    private final ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
    private final ECDSASigner verifier = new ECDSASigner();
    private final LinkedHashMap<Key, ECPublicKeyParameters> parsed = keyCache();

    BouncyCastleEngine(PrivateKey privateKey) {
      this.privateKey = new ECPrivateKeyParameters(((ECPrivateKey) privateKey).getS(), DOMAIN);
    }

    @Override
    public String name() {
      return "BouncyCastle";
    }

    @Override
    public byte[] sign(byte[] hash) {
      signer.init(true, privateKey);
      BigInteger[] rs = signer.generateSignature(hash);
      return PlainDSAEncoding.INSTANCE.encode(DOMAIN.getN(), rs[0], rs[1]);
    }

    @Override
    public boolean verify(byte[] key, byte[] hash, byte[] rs) {
      ECPublicKeyParameters pub = parse(key);
      if (pub == null) return false;
      try {
        BigInteger[] v = PlainDSAEncoding.INSTANCE.decode(DOMAIN.getN(), rs);
        verifier.init(false, pub);
        return verifier.verifySignature(hash, v[0], v[1]);
      } catch (RuntimeException e) {
        return false;
      }
    }

    private ECPublicKeyParameters parse(byte[] key) {
      Key k = new Key(key);
      ECPublicKeyParameters cached = parsed.get(k);
      if (cached != null) return cached;
      try {
        AsymmetricKeyParameter p = PublicKeyFactory.createKey(key);
        if (!(p instanceof ECPublicKeyParameters ec) || !ec.getParameters().getCurve().equals(DOMAIN.getCurve())) return null;
        // Re-based on the fast curve code: the factory's generic curve is several times slower.
        ECPublicKeyParameters fast = new ECPublicKeyParameters(DOMAIN.getCurve().decodePoint(ec.getQ().getEncoded(false)), DOMAIN);
        parsed.put(k, fast);
        return fast;
      } catch (IOException | RuntimeException e) {
        return null; // not a P-256 key in X.509 form: no signature by it verifies
      }
    }
  }
}
