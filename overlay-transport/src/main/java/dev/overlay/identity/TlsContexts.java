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
    this(identity, preferNative, identity.certificate(Duration.ofDays(365)));
  }

  /**
   * With a given certificate for the identity's key. Its validity dates matter to no peer
   * ({@link PeerVerifier} checks the key, not the dates), so a node that runs past them keeps
   * being accepted.
   */
  public TlsContexts(NodeIdentity identity, boolean preferNative, X509Certificate cert) throws SSLException {
    this.provider = preferNative && OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    this.server = SslContextBuilder.forServer(identity.privateKey(), cert)
        .sslProvider(provider)
        .protocols("TLSv1.3")
        .clientAuth(ClientAuth.REQUIRE)
        .trustManager(PeerVerifier.INSTANCE)
        .build();
    this.client = SslContextBuilder.forClient()
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
