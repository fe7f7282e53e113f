package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Addresses given by name are looked up by the link layer's asynchronous resolver (never by a
 * blocking lookup on the node's loop), and the node still gets there.
 */
class NameResolutionTest {

  @Test
  void aSeedGivenByNameIsResolvedAndJoined() throws Exception {
    try (OverlayNode a = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0).build().start();
         OverlayNode b = OverlayNode.builder().identity(NodeIdentity.generate()).listen("127.0.0.1", 0)
             .seeds("localhost:" + a.address().getPort()).build().start()) {
      a.join("named");
      b.join("named");
      assertThat(b.awaitNeighbors("named", 1, Duration.ofSeconds(20))).isTrue();
      dev.overlay.testing.Await.until(Duration.ofSeconds(20), () -> {
        try {
          return a.snapshot().stream("named").active().equals(java.util.List.of(b.peerId()));
        } catch (Exception e) {
          return false;
        }
      }, () -> "the seed to count the named-in node as its neighbour");
    }
  }

  @Test
  void aBadSeedAddressIsRefusedWhenTheNodeIsBuilt() {
    for (String bad : new String[] {"localhost", "localhost:0", "localhost:70000", ":1", "localhost:x"}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> OverlayNode.builder().seeds(bad))
          .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host:port");
    }
  }
}
