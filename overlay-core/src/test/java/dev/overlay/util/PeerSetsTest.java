package dev.overlay.util;

import static dev.overlay.core.testing.TestNode.id;
import static dev.overlay.core.testing.TestNode.info;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PeerSetsTest {

  @Test
  void aPeerSetKeepsOrderAndFindsEqualIdsThatAreNotTheSameObject() {
    PeerSet s = new PeerSet(1);
    for (int i = 0; i < 5; i++) s.add(id(i));
    assertThat(s.add(id(2))).isFalse();
    PeerId copy = PeerId.fromBytes(id(3).toBytes());
    assertThat(s.contains(copy)).isTrue();
    assertThat(s.remove(copy)).isTrue();
    assertThat(s.toList()).containsExactly(id(0), id(1), id(2), id(4));
  }

  @Test
  void samplesAreDistinctAndFiltered() {
    PeerInfoSet s = new PeerInfoSet(4);
    for (int i = 0; i < 10; i++) s.put(info(i));
    var sample = s.sample(new SplittableRandom(1), 4, p -> !p.id().equals(id(0)));
    assertThat(sample).hasSize(4).doesNotHaveDuplicates().extracting(PeerInfo::id).doesNotContain(id(0));
    assertThat(s.random(new SplittableRandom(2), p -> p.id().equals(id(7)))).isEqualTo(info(7));
    assertThat(s.random(new SplittableRandom(2), p -> false)).isNull();
  }

  @Test
  void stampsUpdateInPlace() {
    PeerStamps s = new PeerStamps(1);
    s.put(id(1), 10);
    s.put(id(2), 20);
    s.put(id(1), 30);
    assertThat(s.size()).isEqualTo(2);
    assertThat(s.stamp(id(1), -1)).isEqualTo(30);
    assertThat(s.stamp(id(3), -1)).isEqualTo(-1);
  }

  @Test
  void peerIdsRoundTripThroughBytesAndOrderUnsigned() {
    PeerId a = new PeerId(-1, 0, 0, 0);
    PeerId b = new PeerId(1, 0, 0, 0);
    assertThat(PeerId.fromBytes(a.toBytes())).isEqualTo(a);
    assertThat(a.compareTo(b)).isPositive(); // 0xFF.. sorts after 0x01..
    assertThat(a.toHex()).hasSize(64).startsWith("ffffffffffffffff");
  }
}
