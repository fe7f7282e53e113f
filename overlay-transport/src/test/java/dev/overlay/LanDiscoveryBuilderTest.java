package dev.overlay;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The builder's LAN discovery settings fail at once, with a reason, and before any thread exists. */
class LanDiscoveryBuilderTest {

  @Test
  void aNodeOnLoopbackCannotBeFoundOnTheLan() {
    for (String host : new String[] {"127.0.0.1", "localhost", "::1", "[::1]", "0:0:0:0:0:0:0:1"}) {
      assertThatThrownBy(() -> OverlayNode.builder().listen(host, 0).lanDiscovery(true).build())
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("LAN address");
    }
  }

  @Test
  void anInterfaceThatDoesNotExistOrDoesNotCarryTheListeningAddressIsRefused() {
    assertThatThrownBy(() -> OverlayNode.builder().listen("0.0.0.0", 0).lanDiscovery(true).lanDiscoveryInterface("no-such-if0").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("no network interface named no-such-if0");
    assertThatThrownBy(() -> OverlayNode.builder().listen("192.0.2.250", 0).lanDiscovery(true).lanDiscoveryInterface("lo").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("not an address of lo");
  }

  @Test
  void serviceTypesFollowRfc6763() {
    for (String ok : new String[] {"_overlay._tcp", "_plant-7._tcp", "_a._tcp", "_abcdefghijklmno._tcp"}) {
      assertThatCode(() -> OverlayNode.builder().lanServiceType(ok)).doesNotThrowAnyException();
    }
    for (String bad : new String[] {"_-._tcp", "_123._tcp", "_a--b._tcp", "_-ab._tcp", "_ab-._tcp", "_abcdefghijklmnop._tcp", "overlay._tcp",
        "_overlay._udp", "_overlay"}) {
      assertThatThrownBy(() -> OverlayNode.builder().lanServiceType(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("RFC 6763");
    }
  }
}
