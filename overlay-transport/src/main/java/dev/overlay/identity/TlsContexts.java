package dev.overlay.identity;

import dev.overlay.NodeIdentity;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * TLS 1.3 contexts for one identity: both sides present their self-signed certificate and both
 * verify the other's ({@link PeerVerifier}). BoringSSL when Netty's native build loads, the JDK's
 * TLS otherwise.
 */
public final class TlsContexts {

  private final SslContext server;
  private final SslContext client;
  private final SslProvider provider;

  public TlsContexts(NodeIdentity identity, boolean preferNative) throws SSLException {
    this(identity, preferNative, certificateWhileProbing(identity, preferNative));
  }

  /**
   * The identity's certificate, made on a thread of its own while this one loads Netty's native
   * TLS: in a fresh JVM each takes a few hundred milliseconds (BouncyCastle's classes; extracting
   * and initialising BoringSSL), most of a node's {@code build()}, and a restarted node's time to
   * its first delivery counts them (issue 14): about 130 ms less in {@code build()} on the
   * reference machine. The certificate's thread touches no Netty class, so the two class
   * initialisations cannot wait on each other. (Loading the signature provider on that thread
   * too made {@code build()} slower: three threads loading classes from one jar on two cores.)
   */
  private static X509Certificate certificateWhileProbing(NodeIdentity identity, boolean preferNative) {
    if (!preferNative) return identity.certificate(Duration.ofDays(365));
    java.util.concurrent.CompletableFuture<X509Certificate> cert = new java.util.concurrent.CompletableFuture<>();
    Thread maker = new Thread(() -> {
      try {
        cert.complete(identity.certificate(Duration.ofDays(365)));
      } catch (RuntimeException | Error e) {
        cert.completeExceptionally(e);
      }
    }, "overlay-certificate");
    maker.setDaemon(true);
    maker.start();
    OpenSsl.isAvailable();
    try {
      return cert.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      if (e.getCause() instanceof Error err) throw err;
      throw e;
    }
  }

  /**
   * With a given certificate for the identity's key. Its validity dates matter to no peer
   * ({@link PeerVerifier} checks the key, not the dates), so a node that runs past them keeps
   * being accepted.
   */
  public TlsContexts(NodeIdentity identity, boolean preferNative, X509Certificate cert) throws SSLException {
    this.provider = preferNative && OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    // The key store Netty builds the key manager from lives in memory only, for a moment: JKS's
    // weak key protection costs nothing there, where PKCS12's (the default) runs 10,000 rounds of
    // PBKDF2 per context, about 150 ms of a cold JVM's start for the pair.
    this.server = SslContextBuilder.forServer(identity.privateKey(), cert)
        .keyStoreType("JKS")
        .sslProvider(provider)
        .protocols("TLSv1.3")
        .clientAuth(ClientAuth.REQUIRE)
        .trustManager(PeerVerifier.INSTANCE)
        .build();
    this.client = SslContextBuilder.forClient()
        .keyStoreType("JKS")
        .sslProvider(provider)
        .protocols("TLSv1.3")
        .keyManager(identity.privateKey(), cert)
        .trustManager(PeerVerifier.INSTANCE)
        .endpointIdentificationAlgorithm(null) // peers are identified by key, not host name
        .build();
  }

  public SslContext server() {
    return server;
  }

  public SslContext client() {
    return client;
  }

  public SslProvider provider() {
    return provider;
  }
}
