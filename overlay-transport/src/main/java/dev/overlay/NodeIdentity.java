package dev.overlay;

import dev.overlay.core.PeerId;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A node's identity: an EC P-256 key pair. The peer id is the SHA-256 of the public key's X.509
 * encoding, so a peer proves its id by proving it holds the key, which TLS 1.3 does in its
 * handshake: the node's certificate is self-signed with this very key.
 *
 * <p>Keep the file {@link #save} writes secret; anyone with it can be this node.
 */
public final class NodeIdentity {

  private static final String CURVE = "secp256r1";

  private final KeyPair keyPair;
  private final PeerId peerId;

  private NodeIdentity(KeyPair keyPair) {
    this.keyPair = keyPair;
    this.peerId = peerIdOf(keyPair.getPublic());
  }

  /** {@return a new random identity} */
  public static NodeIdentity generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec(CURVE), new SecureRandom());
      return new NodeIdentity(g.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK provides EC P-256", e);
    }
  }

  /**
   * The identity stored at {@code file} by {@link #save}. Refused, with an {@link IOException}
   * that says why: a file that others than its owner may read (on a POSIX file system; the key
   * is as good as leaked), and a file whose public key is not the private key's (it would give
   * the node an id it cannot prove).
   *
   * @param file a key file written by {@link #save}
   * @return the identity
   * @throws IOException if the file cannot be read, is readable by others, or holds no matching
   *     key pair
   */
  public static NodeIdentity load(Path file) throws IOException {
    checkPrivate(file);
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    KeyPair pair;
    try {
      KeyFactory kf = KeyFactory.getInstance("EC");
      PrivateKey priv = kf.generatePrivate(new PKCS8EncodedKeySpec(pem(text, "PRIVATE KEY", file)));
      PublicKey pub = kf.generatePublic(new X509EncodedKeySpec(pem(text, "PUBLIC KEY", file)));
      pair = new KeyPair(pub, priv);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("not an Overlay identity file: " + file + " (" + e.getMessage() + ")", e);
    }
    if (!matches(pair)) {
      throw new IOException("the public key in " + file + " is not the private key's: the file was edited or mixed up");
    }
    return new NodeIdentity(pair);
  }

  private static void checkPrivate(Path file) throws IOException {
    java.util.Set<java.nio.file.attribute.PosixFilePermission> perms;
    try {
      perms = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException e) {
      return; // not a POSIX file system; its own access rules apply
    }
    for (var p : perms) {
      String name = p.name();
      if (name.startsWith("GROUP_") || name.startsWith("OTHERS_")) {
        throw new IOException("identity file " + file + " is accessible to others (" + PosixFilePermissions.toString(perms)
            + "); anyone who can read it can be this node. Make it private: chmod 600 " + file);
      }
    }
  }

  /** Whether the public key is the private key's: a signature by one verifies with the other. */
  private static boolean matches(KeyPair pair) {
    try {
      byte[] probe = "overlay identity check".getBytes(StandardCharsets.US_ASCII);
      java.security.Signature sign = java.security.Signature.getInstance("SHA256withECDSA");
      sign.initSign(pair.getPrivate());
      sign.update(probe);
      byte[] sig = sign.sign();
      java.security.Signature verify = java.security.Signature.getInstance("SHA256withECDSA");
      verify.initVerify(pair.getPublic());
      verify.update(probe);
      return verify.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * Loads {@code file}, or generates an identity and saves it there if the file does not exist:
   * a node that keeps its id across restarts.
   *
   * @param file where the key is kept
   * @return the identity
   * @throws IOException as {@link #load} and {@link #save}
   */
  public static NodeIdentity loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) return load(file);
    NodeIdentity id = generate();
    id.save(file);
    return id;
  }

  /**
   * Writes the key pair as PEM, readable by the owner only where the file system allows; the
   * file is replaced atomically.
   *
   * @param file where to keep the key (its directory is created)
   * @throws IOException if it cannot be written
   */
  public void save(Path file) throws IOException {
    String text = block("PRIVATE KEY", keyPair.getPrivate().getEncoded()) + block("PUBLIC KEY", keyPair.getPublic().getEncoded());
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, ".identity", ".tmp");
    try {
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system; the platform's defaults apply
      }
      Files.writeString(tmp, text, StandardCharsets.US_ASCII);
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** {@return the node's id: SHA-256 of its public key (see {@link #peerIdOf})} */
  public PeerId peerId() {
    return peerId;
  }

  /** {@return the public key, which peers check the node's TLS certificate and seals against} */
  public PublicKey publicKey() {
    return keyPair.getPublic();
  }

  /**
   * The private key, which the node's TLS and its seals sign with. It is the identity: whoever
   * holds it can be this node, so keep it where the key file is kept.
   *
   * @return the key
   */
  public PrivateKey privateKey() {
    return keyPair.getPrivate();
  }

  /**
   * {@return a fresh self-signed certificate for this key, valid from an hour ago for {@code validity}}
   *
   * @param validity how long from now it is valid
   */
  public X509Certificate certificate(Duration validity) {
    Instant now = Instant.now();
    return certificate(now.minus(Duration.ofHours(1)), now.plus(validity));
  }

  /**
   * {@return a self-signed certificate for this key with the given validity (peers do not check
   * the dates: the key is the identity)}
   *
   * @param notBefore the start of its validity
   * @param notAfter its end
   */
  public X509Certificate certificate(Instant notBefore, Instant notAfter) {
    try {
      X500Name name = new X500Name("CN=overlay-" + peerId.toHex().substring(0, 16));
      var builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
          Date.from(notBefore), Date.from(notAfter), name, keyPair.getPublic());
      var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (Exception e) {
      throw new IllegalStateException("could not make a self-signed certificate", e);
    }
  }

  /**
   * {@return the peer id a public key stands for: SHA-256 of its X.509 (SubjectPublicKeyInfo) encoding}
   *
   * @param key the public key
   */
  public static PeerId peerIdOf(PublicKey key) {
    try {
      return PeerId.fromBytes(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "NodeIdentity[" + peerId + "]";
  }

  private static String block(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static byte[] pem(String text, String type, Path file) throws IOException {
    Matcher m = Pattern.compile("-----BEGIN " + type + "-----([A-Za-z0-9+/=\\s]+)-----END " + type + "-----").matcher(text);
    if (!m.find()) throw new IOException("no " + type + " in " + file);
    return Base64.getMimeDecoder().decode(m.group(1));
  }
}
