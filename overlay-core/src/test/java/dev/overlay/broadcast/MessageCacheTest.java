package dev.overlay.broadcast;

import static dev.overlay.testing.TestNode.STREAM;
import static dev.overlay.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Message.Data;
import dev.overlay.core.PeerId;
import java.util.ArrayDeque;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class MessageCacheTest {

  private static Data msg(int publisher, long seq, int size) {
    return new Data(STREAM, id(publisher), 1, seq, 0, new byte[size]);
  }

  @Test
  void findsWhatItHoldsAndForgetsTheOldest() {
    MessageCache c = new MessageCache(3, 1 << 20, Long.MAX_VALUE);
    for (long s = 1; s <= 4; s++) c.put(0, msg(1, s, 10), id(2));
    assertThat(c.find(id(1), 1, 1)).isNegative();
    assertThat(c.message(c.find(id(1), 1, 4)).seq()).isEqualTo(4);
    assertThat(c.from(c.find(id(1), 1, 4))).isEqualTo(id(2));
    assertThat(c.size()).isEqualTo(3);
  }

  @Test
  void boundedByBytes() {
    MessageCache c = new MessageCache(100, 25, Long.MAX_VALUE);
    c.put(0, msg(1, 1, 10), null);
    c.put(0, msg(1, 2, 10), null);
    c.put(0, msg(1, 3, 10), null);
    assertThat(c.bytes()).isLessThanOrEqualTo(25);
    assertThat(c.find(id(1), 1, 1)).isNegative();
    c.put(0, msg(1, 4, 1000), null); // larger than the whole cache: not kept
    assertThat(c.find(id(1), 1, 4)).isNegative();
  }

  @Test
  void boundedByAge() {
    MessageCache c = new MessageCache(100, 1 << 20, 10);
    c.put(0, msg(1, 1, 1), null);
    c.put(5, msg(1, 2, 1), null);
    c.expire(12);
    assertThat(c.find(id(1), 1, 1)).isNegative();
    assertThat(c.find(id(1), 1, 2)).isNotNegative();
  }

  /** Against a FIFO list: every operation sequence leaves the same contents, findable by id. */
  @Property
  void matchesAFifoModel(@ForAll @Size(max = 400) List<@IntRange(min = 0, max = 5000) Integer> ops,
      @ForAll @IntRange(min = 1, max = 40) int capacity) {
    MessageCache cache = new MessageCache(capacity, Long.MAX_VALUE, Long.MAX_VALUE);
    ArrayDeque<Data> model = new ArrayDeque<>();
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int op : ops) {
      Data d = msg(op % 3, op, 0); // three publishers, mixed sequence numbers
      String key = d.publisher().toHex() + "/" + d.seq();
      if (ids.contains(key)) continue; // the cache only ever sees new messages
      cache.put(0, d, null);
      model.addLast(d);
      ids.add(key);
      if (model.size() > capacity) {
        Data evicted = model.removeFirst();
        ids.remove(evicted.publisher().toHex() + "/" + evicted.seq());
      }
    }
    assertThat(cache.size()).isEqualTo(model.size());
    for (Data d : model) {
      int slot = cache.find(d.publisher(), d.session(), d.seq());
      assertThat(slot).isNotNegative();
      assertThat(cache.message(slot)).isSameAs(d);
    }
    for (int p = 0; p < 3; p++) {
      PeerId pub = id(p);
      for (int s = 0; s <= 5000; s += 97) {
        boolean held = ids.contains(pub.toHex() + "/" + s);
        assertThat(cache.find(pub, 1, s) >= 0).isEqualTo(held);
      }
    }
  }
}
