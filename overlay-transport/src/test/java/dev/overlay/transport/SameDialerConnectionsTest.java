package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.proto.Frame;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two connections dialled by the same side (a direct dial and a punch from the smaller id, say)
 * that become ready in one order at one end and in the other order at the other. "The dialler's
 * id" cannot choose between them, and "the first one ready" differs between the ends: each end
 * then closed the other's choice when its wait ran out, and the link went down at both ends.
 * Both ends must keep the same connection: the one whose HELLO carried the smaller number.
 * Embedded time stands still unless a test moves it.
 */
class SameDialerConnectionsTest {

  private static final StreamId STREAM = StreamId.of("same-dialer");
  @RegisterExtension final EmbeddedLinks net = new EmbeddedLinks(); // closed after each test
  private EmbeddedLinks.Node a;
  private EmbeddedLinks.Node b;

  @BeforeEach
  void twoNodes() throws Exception {
    a = net.frozenNode();
    b = net.frozenNode();
  }

  /** a dials twice (numbers as given): the first ready at b before the second, at a after it. */
  private EmbeddedLinks.Connection[] readyInOppositeOrders(long first, long second) throws Exception {
    Iterator<Long> numbers = List.of(first, second).iterator();
    a.manager.connectionNonces(numbers::next);
    EmbeddedLinks.Connection one = connect();
    net.pumpUntil(one.acceptorLink::ready); // ready at b (it has a's HELLO) ...
    one.heldFrom = one.acceptor; // ... not yet at a (b's HELLO held back)
    net.pump();
    assertThat(one.dialerLink.ready()).as("not ready at a yet").isFalse();
    EmbeddedLinks.Connection two = connect();
    net.pumpUntil(() -> two.dialerLink.ready() && two.acceptorLink.ready());
    one.heldFrom = null;
    net.pump();
    assertThat(one.dialerLink.ready()).as("the first connection is ready at a too, after the second").isTrue();
    return new EmbeddedLinks.Connection[] {one, two};
  }

  private EmbeddedLinks.Connection connect() {
    return net.connect(a, b, b.id()).freezeTime();
  }

  private void afterTheWait() {
    net.afterHandshakeTimeout();
    net.pump();
  }

  /** Both ends on {@code kept}, every other connection closed at both ends, neither core saw the link go, and it carries a message each way. */
  private void settledOn(EmbeddedLinks.Connection kept, EmbeddedLinks.Connection... others) {
    assertThat(a.log).as("a's core never saw the link go").containsExactly("up " + b.id());
    assertThat(b.log).as("b's core never saw the link go").containsExactly("up " + a.id());
    assertThat(a.manager.readyConnection(b.id())).as("a's connection").isSameAs(kept.dialerLink);
    assertThat(b.manager.readyConnection(a.id())).as("b's connection").isSameAs(kept.acceptorLink);
    for (EmbeddedLinks.Connection c : others) {
      assertThat(c.dialer.isActive() || c.acceptor.isActive()).as("the other connection closed at both ends").isFalse();
    }
    send(a, b, 1);
    send(b, a, 2);
    net.pump();
    assertThat(b.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(1L);
    assertThat(a.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(2L);
  }

  @Test
  void theConnectionWithTheSmallerNumberIsKeptAtBothEndsWhenItIsTheFirstReadyAtTheAcceptor() throws Exception {
    EmbeddedLinks.Connection[] c = readyInOppositeOrders(5, 9); // a switches to the first
    afterTheWait();
    settledOn(c[0], c[1]);
  }

  @Test
  void theConnectionWithTheSmallerNumberIsKeptAtBothEndsWhenItIsTheFirstReadyAtTheDialler() throws Exception {
    EmbeddedLinks.Connection[] c = readyInOppositeOrders(9, 5); // b switches to the second
    afterTheWait();
    settledOn(c[1], c[0]);
  }

  @Test
  void numbersCompareUnsigned() throws Exception {
    EmbeddedLinks.Connection[] c = readyInOppositeOrders(-1L, 7); // 2^64 - 1 is the larger
    afterTheWait();
    settledOn(c[1], c[0]);
  }

  @Test
  void aThirdConnectionWithTheSmallestNumberWinsAtBothEnds() throws Exception {
    EmbeddedLinks.Connection[] c = readyInOppositeOrders(5, 9);
    a.manager.connectionNonces(() -> 3);
    EmbeddedLinks.Connection three = connect();
    net.pump();
    afterTheWait();
    settledOn(three, c[0], c[1]);
  }

  @Test
  void onALinkThatSpeaksAVersionWithoutTheNumberEachEndKeepsTheFirstItSawReady() throws Exception {
    // Both advertise version 4, so every connection between them speaks 4 at both ends.
    for (EmbeddedLinks.Node n : List.of(a, b)) {
      Frame hello = n.manager.hello();
      n.manager.hello(hello.toBuilder().setHello(hello.getHello().toBuilder()
          .setProtocolVersion(WireCodec.CONNECTION_NONCE_PROTOCOL_VERSION - 1)).build());
    }
    EmbeddedLinks.Connection[] c = readyInOppositeOrders(5, 9);

    assertThat(a.manager.readyConnection(b.id())).as("a keeps its first, the second").isSameAs(c[1].dialerLink);
    assertThat(b.manager.readyConnection(a.id())).as("b keeps its first, the first").isSameAs(c[0].acceptorLink);
  }

  private static void send(EmbeddedLinks.Node from, EmbeddedLinks.Node to, long seq) {
    EmbeddedLinks.sendData(from, to, STREAM, seq);
  }
}
