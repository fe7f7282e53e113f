package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * How a link closes: what was written before the close still goes out ahead of TLS's
 * close_notify, and a shutdown closes every connection, including those no link holds yet.
 * The other half, a neighbour that takes nothing, is {@code NodeCloseTest}'s (real sockets).
 */
class LinkCloseTest {

  private static final StreamId STREAM = StreamId.of("link-close");
  @RegisterExtension final EmbeddedLinks net = new EmbeddedLinks(); // closed after each test

  @Test
  void aFrameSentInTheSameTurnAsTheDisconnectStillReachesThePeer() throws Exception {
    EmbeddedLinks.Node a = net.frozenNode();
    EmbeddedLinks.Node b = net.frozenNode();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id()).freezeTime();
    net.pumpUntil(() -> c.dialerLink.ready() && c.acceptorLink.ready());
    net.pump();

    // One turn: no flush task of a's loop runs between the send and the close.
    EmbeddedLinks.sendData(a, b, STREAM, 7);
    a.manager.disconnect(b.id());
    net.pump();

    assertThat(b.received).filteredOn(m -> m instanceof Message.Data d && d.seq() == 7).hasSize(1);
    assertThat(c.dialer.isOpen()).as("a's end closed").isFalse();
  }

  @Test
  void aShutdownClosesAnInboundConnectionStillInItsHandshake() throws Exception {
    EmbeddedLinks.Node a = net.frozenNode();
    EmbeddedLinks.Node b = net.frozenNode();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id()).freezeTime();
    c.held = true; // b never hears a word: its end waits in the TLS handshake, no link holds it
    net.pump();
    assertThat(c.acceptor.isOpen()).isTrue();

    var closed = b.manager.shutdownGracefully();
    net.pump();

    assertThat(c.acceptor.isOpen()).as("the handshaking connection").isFalse();
    assertThat(closed.isDone()).as("every connection closed").isTrue();
  }
}
