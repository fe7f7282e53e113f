package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.TransportEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Dials as the link manager makes them (through its {@link Dialer}), over embedded channels with
 * real TLS: how a dial ends, and that it leaves nothing behind in the link table.
 */
class LinkManagerDialTest {

  @RegisterExtension final EmbeddedLinks net = new EmbeddedLinks(); // closed after each test

  @Test
  void aDialLinksThePeerAndTheDialIsOver() throws Exception {
    EmbeddedLinks.Node a = net.dialling();
    EmbeddedLinks.Node b = net.dialling();

    a.manager.connect(b.info());
    net.pump();

    assertThat(a.log).containsExactly("up " + b.id());
    assertThat(a.manager.isLinked(b.id())).isTrue();
    assertThat(a.manager.counters().dials().inProgress()).isZero();
  }

  @Test
  void anAddressThatProvesAnotherPeerFailsTheDialEvenWhenThatPeerIsAlreadyLinked() throws Exception {
    EmbeddedLinks.Node a = net.dialling();
    EmbeddedLinks.Node b = net.dialling();
    b.manager.connect(a.info()); // b dialled a: a has not yet seen b's address prove anything
    net.pump();
    // A hostile neighbour names a made-up peer at b's address (FORWARD_JOIN, SHUFFLE): the dial
    // reaches b, which proves b. It must fail and free its slot, not wait for ever.
    PeerId madeUp = PeerId.random(new Random(3));

    a.manager.connect(new PeerInfo(madeUp, 1, b.info().candidates()));
    net.pump();

    assertThat(a.log).contains("up " + b.id()).anyMatch(l -> l.startsWith("dial failed " + madeUp + ": peer identity mismatch"));
    PeerId another = PeerId.random(new Random(33));
    a.manager.connect(new PeerInfo(another, 1, b.info().candidates())); // the address is known to be b's now
    net.pump();
    assertThat(a.log).anyMatch(l -> l.startsWith("dial failed " + another + ": not dialled") && l.contains("it proved to be " + b.id()));
    assertThat(a.events).anyMatch(e -> e instanceof TransportEvent.DialFailed f && f.peer().equals(madeUp));
    assertThat(a.manager.counters().links()).as("only b's link").isEqualTo(1);
    assertThat(a.manager.isLinked(b.id())).as("b's own link is untouched").isTrue();
  }

  @Test
  void madeUpIdsAtALinkedPeersAddressCostOneHandshakeAndNeverPutItsAddressInBackoff() throws Exception {
    EmbeddedLinks.Node a = net.dialling();
    EmbeddedLinks.Node b = net.dialling();
    b.manager.connect(a.info()); // linked by b's dial: a learns what b's address is by dialling it
    net.pump();
    int connections = net.connections.size();

    for (int i = 0; i < 5; i++) {
      a.manager.connect(new PeerInfo(PeerId.random(new Random(10 + i)), 1, b.info().candidates()));
      net.pump();
    }

    assertThat(net.connections.size() - connections).as("one TLS handshake at b, not five").isEqualTo(1);
    assertThat(a.log.stream().filter(l -> l.contains("it proved to be " + b.id()))).hasSize(4);
    assertThat(a.manager.counters().dials().refusedProven()).isEqualTo(4);
    // b's own address is not in backoff: when b's link goes, a dials it again at once.
    a.manager.disconnect(b.id());
    net.pump();
    a.manager.connect(b.info());
    net.pump();
    assertThat(a.manager.isLinked(b.id())).isTrue();
  }

  @Test
  void whenALinkWeDialledGoesItsAddressMayBeDialledForAnotherIdAgain() throws Exception {
    EmbeddedLinks.Node a = net.dialling();
    EmbeddedLinks.Node b = net.dialling();
    a.manager.connect(b.info());
    net.pump();
    b.manager.disconnect(a.id()); // b goes (it may come back with a new key at the same address)
    net.pump();
    for (EmbeddedLinks.Connection c : net.connections) { // the FIN reaching a (embedded pairs do not carry closes)
      if (!c.acceptor.isActive()) c.dialer.close();
    }
    net.pump();
    assertThat(a.log).anyMatch(l -> l.startsWith("down " + b.id()));
    int connections = net.connections.size();
    PeerId restarted = PeerId.random(new Random(44));

    a.manager.connect(new PeerInfo(restarted, 1, b.info().candidates()));
    net.pump();

    assertThat(net.connections.size() - connections).as("dialled, not refused from memory").isEqualTo(1);
    assertThat(a.log).anyMatch(l -> l.startsWith("dial failed " + restarted + ": peer identity mismatch"));
  }

  @Test
  void anAddressThatProvesAnotherPeerFailsTheDial() throws Exception {
    EmbeddedLinks.Node a = net.dialling();
    EmbeddedLinks.Node b = net.dialling();
    PeerId madeUp = PeerId.random(new Random(4));

    a.manager.connect(new PeerInfo(madeUp, 1, b.info().candidates()));
    net.pump();

    assertThat(a.log).singleElement().asString().startsWith("dial failed " + madeUp + ": peer identity mismatch");
    assertThat(a.manager.counters().links()).isZero();
  }

  @Test
  void disconnectingCancelsTheDialAndLeavesNoLink() throws Exception {
    EmbeddedLinks.Node a = net.dialling();
    EmbeddedLinks.Node b = net.dialling();

    a.manager.connect(b.info());
    a.manager.disconnect(b.id());
    net.pump();

    assertThat(a.manager.counters().links()).isZero();
    assertThat(a.manager.counters().closes()).containsEntry(CloseReason.DIAL_CANCELLED, 1L);
    assertThat(a.log).as("the core closed it: it hears nothing back").isEmpty();
  }
}
