package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two connections dialled by the same side (a direct dial and a punch from the smaller id, say)
 * that become ready in one order at one end and in the other order at the other. "The dialler's
 * id" cannot choose between them, and "the first one ready" differs between the ends: each end
 * then closed the other's choice when its wait ran out, and the link went down at both ends.
 * Both ends must keep the same connection. Embedded time stands still unless a test moves it.
 */
class SameDialerConnectionsTest {

  private static final StreamId STREAM = StreamId.of("same-dialer");
  private final EmbeddedLinks net = new EmbeddedLinks();

  @AfterEach
  void tearDown() {
    net.close();
  }

  @Test
  void twoConnectionsFromOneSideReadyInOppositeOrdersAtTheTwoEndsLeaveOneLinkThatStaysUp() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    a.loop.freezeTime();
    b.loop.freezeTime();
    // The first connection: ready at b (it has a's HELLO), not yet at a (b's HELLO held back).
    EmbeddedLinks.Connection one = net.connect(a, b, b.id());
    one.dialer.freezeTime();
    one.acceptor.freezeTime();
    net.pumpUntil(one.acceptorLink::ready);
    one.heldFrom = one.acceptor;
    net.pump();
    assertThat(one.dialerLink.ready()).as("not ready at a yet").isFalse();
    // The second, also dialled by a: ready at both ends, so it is a's first and b's second.
    EmbeddedLinks.Connection two = net.connect(a, b, b.id());
    two.dialer.freezeTime();
    two.acceptor.freezeTime();
    net.pumpUntil(() -> two.dialerLink.ready() && two.acceptorLink.ready());
    one.heldFrom = null;
    net.pump();
    assertThat(one.dialerLink.ready()).as("the first connection is ready at a too, after the second").isTrue();

    for (EmbeddedLinks.Node n : net.nodes) n.loop.advanceTimeBy(a.manager.config().handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
    for (EmbeddedLinks.Node n : net.nodes) n.loop.runScheduledPendingTasks();
    net.pump();

    assertThat(a.log).as("a's core never saw the link go").containsExactly("up " + b.id());
    assertThat(b.log).as("b's core never saw the link go").containsExactly("up " + a.id());
    assertThat(a.manager.isLinked(b.id()) && b.manager.isLinked(a.id())).isTrue();
    LinkHandler atA = a.manager.readyConnection(b.id());
    LinkHandler atB = b.manager.readyConnection(a.id());
    assertThat(atA == one.dialerLink && atB == one.acceptorLink || atA == two.dialerLink && atB == two.acceptorLink)
        .as("both ends on the same connection").isTrue();
    EmbeddedLinks.Connection loser = atA == one.dialerLink ? two : one;
    assertThat(loser.dialer.isActive() || loser.acceptor.isActive()).as("the other connection closed at both ends").isFalse();
    send(a, b, 1);
    send(b, a, 2);
    net.pump();
    assertThat(b.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(1L);
    assertThat(a.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(2L);
  }

  private static void send(EmbeddedLinks.Node from, EmbeddedLinks.Node to, long seq) {
    ByteBuf f = Unpooled.buffer();
    WireFrames.encodeInto(f, new Message.Data(STREAM, from.id(), 1, seq, 0, new byte[] {(byte) seq}));
    assertThat(from.manager.send(to.id(), f, false)).isTrue();
    f.release();
  }
}
