package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeSnapshot;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.PeerInfo;
import dev.overlay.spi.Introducer;
import dev.overlay.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.RepeatedTest;

/**
 * Two nodes that dial each other at the same instant end with exactly one link, and neither
 * loses a link on the way: each end keeps the connection dialled by the smaller id, also while
 * its own dial is still in its handshake (issue 9, section 5).
 */
class SimultaneousDialTest {

  private static final String STREAM = "crossing";

  /** Introduces each node to the other, once both exist. */
  private static Introducer introduceTo(AtomicReference<PeerInfo> other) {
    return (stream, answer) -> answer.accept(other.get() == null ? List.of() : List.of(other.get()));
  }

  @RepeatedTest(10)
  void crossingDialsLeaveOneLinkAndNoneLost() throws Exception {
    AtomicReference<PeerInfo> infoA = new AtomicReference<>();
    AtomicReference<PeerInfo> infoB = new AtomicReference<>();
    TestNetwork.Events eventsA = new TestNetwork.Events();
    TestNetwork.Events eventsB = new TestNetwork.Events();
    try (OverlayNode a = OverlayNode.builder().listener(eventsA).introducer(rt -> introduceTo(infoB)).build().start();
        OverlayNode b = OverlayNode.builder().listener(eventsB).introducer(rt -> introduceTo(infoA)).build().start()) {
      infoA.set(a.info());
      infoB.set(b.info());
      CountDownLatch go = new CountDownLatch(1);
      Thread t = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        b.join(STREAM);
      });
      t.start();
      go.countDown();
      a.join(STREAM);
      t.join();
      Duration deadline = Duration.ofSeconds(30);
      assertThat(a.awaitNeighbors(STREAM, 1, deadline)).as(() -> "no neighbour; a=" + snap(a) + " b=" + snap(b) + " evA=" + eventsA.all + " evB=" + eventsB.all).isTrue();
      assertThat(b.awaitNeighbors(STREAM, 1, deadline)).isTrue();
      Await.until(deadline, () -> links(a).size() == 1 && links(b).size() == 1, () -> "one link each");
      NodeSnapshot.Stream sa = a.snapshot().stream(STREAM);
      assertThat(sa.active()).containsExactly(b.peerId());
      // The link is timed as it comes up: each neighbour's score carries its round trip.
      Await.until(deadline, () -> {
        var scores = streamOf(a).scores();
        return scores.size() == 1 && scores.get(0).peer().equals(b.peerId()) && scores.get(0).roundTrip() != null;
      }, () -> "a's score of b has no round trip: " + snap(a));
      var la = links(a).get(0);
      var lb = links(b).get(0);
      assertThat(port(la.local())).isEqualTo(port(lb.remote())); // the same connection, seen from both ends
      assertThat(port(la.remote())).isEqualTo(port(lb.local()));
      assertThat(eventsA.of(TransportEvent.LinkDown.class)).isEmpty();
      assertThat(eventsB.of(TransportEvent.LinkDown.class)).isEmpty();
    }
  }

  private static String snap(OverlayNode n) {
    try {
      return n.snapshot().toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static NodeSnapshot.Stream streamOf(OverlayNode n) {
    try {
      return n.snapshot().stream(STREAM);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String port(String address) {
    return address.substring(address.lastIndexOf(':') + 1);
  }

  private static List<dev.overlay.NodeSnapshot.Link> links(OverlayNode n) {
    try {
      return n.snapshot().links();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
