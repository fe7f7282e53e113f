package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.wire.proto.Frame;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A relayed link replaced by a direct one (a punch that worked later): the two ends switch at
 * different moments, and the relay closes one end's half as soon as the other end closes its
 * own. The NAT lab caught the end that switched second seeing its link go down in between: its
 * core dropped the neighbour while the other end's core kept it, and the stream stopped between
 * them (issue 12). The switch must be invisible to both cores, and lose nothing in flight.
 * Embedded time stands still here: the managers' waits run only when a test moves it.
 */
class LinkSwitchTest {

  private static final StreamId STREAM = StreamId.of("switch");
  @RegisterExtension final EmbeddedLinks net = new EmbeddedLinks(); // closed after each test
  private EmbeddedLinks.Node a;
  private EmbeddedLinks.Node b;
  private EmbeddedLinks.Connection relay;
  private EmbeddedLinks.Connection direct;
  /** The end that switched to the direct connection, and the one that has not yet. */
  private EmbeddedLinks.Node first;
  private EmbeddedLinks.Node second;

  @BeforeEach
  void relayedThenADirectConnectionHalfWayUp() throws Exception {
    a = net.frozenNode();
    b = net.frozenNode();
    relay = net.connectRelayed(a, b).freezeTime();
    net.pump();
    assertThat(a.log).containsExactly("up " + b.id());
    assertThat(b.log).containsExactly("up " + a.id());
    direct = net.connect(a, b, b.id()).freezeTime();
    // One end has the direct connection ready (it waits to hear the peer on it), the other not yet.
    net.pumpUntil(() -> direct.dialerLink.ready() != direct.acceptorLink.ready());
    first = direct.dialerLink.ready() ? a : b;
    second = first == a ? b : a;
  }

  /** Neither core saw the link go, and a message each way arrives. */
  private void stillLinkedBothWays(EmbeddedLinks.Node x, EmbeddedLinks.Node y, long xy, long yx) {
    assertThat(a.log).as("a's core never saw the link go").containsExactly("up " + b.id());
    assertThat(b.log).as("b's core never saw the link go").containsExactly("up " + a.id());
    send(x, y, xy);
    send(y, x, yx);
    net.pump();
    assertThat(y.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(xy);
    assertThat(x.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(yx);
  }

  /** The managers' waits (handshakeTimeout) run out. */
  private void afterTheWait() {
    net.afterHandshakeTimeout();
  }

  private static void send(EmbeddedLinks.Node from, EmbeddedLinks.Node to, long seq) {
    EmbeddedLinks.sendData(from, to, STREAM, seq);
  }

  @Test
  void neitherCoreSeesTheLinkGoAndBothEndUpOnTheDirectConnection() {
    net.pump();

    assertThat(a.log).as("a's core never saw the link go").containsExactly("up " + b.id());
    assertThat(b.log).as("b's core never saw the link go").containsExactly("up " + a.id());
    int overRelay = relay.dialerFrames.size() + relay.acceptorFrames.size();
    send(a, b, 1);
    send(b, a, 2);
    net.pump();
    assertThat(direct.acceptorFrames).as("b got a's message over the direct connection").contains(Frame.DATA_FIELD_NUMBER);
    assertThat(direct.dialerFrames).as("a got b's message over the direct connection").contains(Frame.DATA_FIELD_NUMBER);
    assertThat(relay.dialerFrames.size() + relay.acceptorFrames.size()).as("nothing more over the relay").isEqualTo(overRelay);
    assertThat(b.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(1L);
    assertThat(a.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(2L);
  }

  @Test
  void whatTheSecondEndSentOverTheRelayBeforeItSwitchedIsDeliveredAfterBothSwitched() {
    relay.held = true; // the relay is the slow path: this frame arrives after both ends switched
    send(second, first, 7);
    net.pump();
    send(first, second, 8);
    net.pump();
    assertThat(second.received).as("the first end uses the direct connection now").hasSize(1);

    relay.held = false;
    net.pump();

    assertThat(first.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(7L);
    assertThat(first.manager.counters().framesDropped()).isZero();
  }

  @Test
  void aThirdConnectionWhileTheDirectOneIsPendingLosesAtBothEnds() {
    // The second end hears the first on the direct connection and switches; the first does not
    // hear the second yet. Then a second punch (an upgrade tick, a late signal) connects again.
    direct.heldFrom = second == a ? direct.dialer : direct.acceptor;
    LinkHandler secondsEnd = second == a ? direct.dialerLink : direct.acceptorLink;
    net.pumpUntil(() -> second.manager.readyConnection(first.id()) == secondsEnd);
    EmbeddedLinks.Connection third = net.connect(a, b, b.id()).freezeTime();
    LinkHandler thirdAtFirst = first == a ? third.dialerLink : third.acceptorLink;
    net.pumpUntil(thirdAtFirst::ready);
    assertThat(first.manager.readyConnection(second.id())).as("the first end still on the relay")
        .isSameAs(first == a ? relay.dialerLink : relay.acceptorLink);

    direct.heldFrom = null;
    net.pump();

    stillLinkedBothWays(a, b, 9, 10);
  }

  @Test
  void aPendingConnectionThePeerNeverSpeaksOnGoesAndTheLinkStaysOnTheRelay() {
    EmbeddedLinks.Connection d = direct;
    d.held = true; // the second end's HELLO, and so its PING, never arrive

    afterTheWait();
    net.pump();

    assertThat((first == a ? d.dialer : d.acceptor).isActive()).as("the first end gave up on it").isFalse();
    assertThat(a.log).containsExactly("up " + b.id());
    assertThat(b.log).containsExactly("up " + a.id());
    send(first, second, 11);
    net.pump();
    assertThat(second.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(11L);
  }

  @Test
  void theFirstEndSendsOverTheRelayUntilItHearsThePeerOnTheDirectConnection() {
    int before = relay.dialerFrames.size() + relay.acceptorFrames.size();
    send(first, second, 5);
    // Moved one frame at a time: it must not take the direct connection, whose far end is not ready.
    net.pumpUntil(() -> !second.received.isEmpty());
    assertThat(relay.dialerFrames.size() + relay.acceptorFrames.size()).as("it went over the relay").isEqualTo(before + 1);
  }

  @Test
  void whenThePeerClosesTheRelayedConnectionBeforeItIsHeardOnTheDirectOneTheDirectOneTakesOver() {
    // A peer that switched without waiting: its close reaches us through the relay first.
    (first == a ? relay.acceptor : relay.dialer).close();

    net.pumpUntil(() -> !(first == a ? relay.dialer : relay.acceptor).isActive());
    net.pump();

    assertThat(first.log).as("the first end's core never saw the link go").containsExactly("up " + second.id());
    send(first, second, 6);
    net.pump();
    assertThat(second.received).extracting(m -> ((Message.Data) m).seq()).containsExactly(6L);
  }

  @Test
  void ifTheDirectConnectionFailsBeforeBothEndsAreReadyTheLinkStaysOnTheRelay() {
    direct.dialer.close(); // a path that breaks, or the other end refusing the connection
    direct.acceptor.close();

    net.pump();

    assertThat(relay.dialer.isActive() && relay.acceptor.isActive()).as("the relayed connection carries on").isTrue();
    stillLinkedBothWays(first, second, 3, 4);
  }

  @Test
  void theRelayedConnectionIsClosedOnceTheOtherEndHadTimeToSwitch() {
    net.pump();
    assertThat(relay.dialer.isActive()).as("kept while the other end may still use it").isTrue();

    afterTheWait();
    net.pump();

    assertThat(relay.dialer.isActive() || relay.acceptor.isActive()).as("the relay's connection is closed").isFalse();
    assertThat(a.log).containsExactly("up " + b.id());
    assertThat(b.log).containsExactly("up " + a.id());
    assertThat(a.manager.isLinked(b.id()) && b.manager.isLinked(a.id())).isTrue();
  }
}
