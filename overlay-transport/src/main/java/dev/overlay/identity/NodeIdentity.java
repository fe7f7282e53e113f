package dev.overlay.identity;

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

  /** A new random identity. */
  public static NodeIdentity generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec(CURVE), new SecureRandom());
      return new NodeIdentity(g.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK provides EC P-256", e);
    }
  }

  /** The identity stored at {@code file} by {@link #save}. */
  public static NodeIdentity load(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    try {
      KeyFactory kf = KeyFactory.getInstance("EC");
      PrivateKey priv = kf.generatePrivate(new PKCS8EncodedKeySpec(pem(text, "PRIVATE KEY", file)));
      PublicKey pub = kf.generatePublic(new X509EncodedKeySpec(pem(text, "PUBLIC KEY", file)));
      return new NodeIdentity(new KeyPair(pub, priv));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("not an Overlay identity file: " + file + " (" + e.getMessage() + ")", e);
    }
  }

  /** Loads {@code file}, or generates an identity and saves it there if the file does not exist. */
  public static NodeIdentity loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) return load(file);
    NodeIdentity id = generate();
    id.save(file);
    return id;
  }

  /** Writes the key pair as PEM, readable by the owner only where the file system allows. */
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

  public PeerId peerId() {
    return peerId;
  }

  public PublicKey publicKey() {
    return keyPair.getPublic();
  }

  PrivateKey privateKey() {
    return keyPair.getPrivate();
  }

  /** A fresh self-signed certificate for this key, valid from an hour ago for {@code validity}. */
  public X509Certificate certificate(Duration validity) {
    try {
      Instant now = Instant.now();
      X500Name name = new X500Name("CN=overlay-" + peerId.toHex().substring(0, 16));
      var builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), name, keyPair.getPublic());
      var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (Exception e) {
      throw new IllegalStateException("could not make a self-signed certificate", e);
    }
  }

  /** The peer id a public key stands for: SHA-256 of its X.509 (SubjectPublicKeyInfo) encoding. */
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
