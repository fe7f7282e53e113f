package dev.overlay.identity;

import dev.overlay.NodeIdentity;
import dev.overlay.core.PeerId;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts any certificate that is self-signed by the key it carries. There is no certificate
 * authority: a peer is whoever holds the key its id is the hash of, and the TLS handshake proves
 * that. Which id to expect is checked after the handshake ({@link #peerIdOf}).
 *
 * <p>Validity dates are not checked. A self-signed certificate's dates are whatever its holder
 * wrote, so they vouch for nothing; checking them only cut off nodes that ran longer than the
 * lifetime they gave their certificate (a year), and nodes whose clocks are wrong.
 */
public final class PeerVerifier extends X509ExtendedTrustManager {

  public static final PeerVerifier INSTANCE = new PeerVerifier();

  private PeerVerifier() {}

  /** The peer id the other side of a completed handshake proved. */
  public static PeerId peerIdOf(SSLSession session) throws SSLPeerUnverifiedException {
    var certs = session.getPeerCertificates();
    if (certs.length == 0 || !(certs[0] instanceof X509Certificate cert)) {
      throw new SSLPeerUnverifiedException("the peer sent no X.509 certificate");
    }
    return NodeIdentity.peerIdOf(cert.getPublicKey());
  }

  private static void check(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) throw new CertificateException("no certificate");
    X509Certificate leaf = chain[0];
    if (!"EC".equals(leaf.getPublicKey().getAlgorithm())) {
      throw new CertificateException("an Overlay node's key is EC P-256, got " + leaf.getPublicKey().getAlgorithm());
    }
    try {
      leaf.verify(leaf.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new CertificateException("the certificate is not signed by its own key", e);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
