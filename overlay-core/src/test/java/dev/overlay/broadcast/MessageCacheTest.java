package dev.overlay.broadcast;

import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.protocol.Message.Data;
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
    MessageCache c = new MessageCache(STREAM, 3, 1 << 20, Long.MAX_VALUE, false);
    for (long s = 1; s <= 4; s++) c.put(0, msg(1, s, 10), id(2));
    assertThat(c.find(id(1), 1, 1)).isNegative();
    assertThat(c.message(c.find(id(1), 1, 4)).seq()).isEqualTo(4);
    assertThat(c.from(c.find(id(1), 1, 4))).isEqualTo(id(2));
    assertThat(c.size()).isEqualTo(3);
  }

  @Test
  void boundedByBytes() {
    MessageCache c = new MessageCache(STREAM, 100, 25, Long.MAX_VALUE, false);
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
    MessageCache c = new MessageCache(STREAM, 100, 1 << 20, 10, false);
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
    MessageCache cache = new MessageCache(STREAM, capacity, Long.MAX_VALUE, Long.MAX_VALUE, false);
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

  @Test
  void arenaModeRebuildsTheMessageWithItsPayload() {
    MessageCache c = new MessageCache(STREAM, 8, 1 << 20, Long.MAX_VALUE, true);
    Data d = new Data(STREAM, id(1), 7, 42, 3, new byte[] {1, 2, 3, 4, 5});
    c.put(0, d, id(2));
    int slot = c.find(id(1), 7, 42);
    assertThat(c.message(slot)).isEqualTo(d).isNotSameAs(d);
    assertThat(c.hops(slot)).isEqualTo(3);
    c.reroute(slot, id(3), 1);
    assertThat(c.from(slot)).isEqualTo(id(3));
    assertThat(c.message(slot).hops()).isEqualTo(1);
  }

  /**
   * Arena mode under a byte cap, with payloads of every size: what it holds is always the newest
   * run of what it was given, within both caps, the newest message always among it, and every
   * payload comes back byte for byte.
   */
  @Property
  void arenaKeepsTheNewestSuffixWithExactPayloads(@ForAll @Size(max = 300) List<@IntRange(min = 0, max = 300) Integer> sizes,
      @ForAll @IntRange(min = 1, max = 50) int capacity, @ForAll @IntRange(min = 300, max = 3000) int maxBytes) {
    MessageCache cache = new MessageCache(STREAM, capacity, maxBytes, Long.MAX_VALUE, true);
    List<Data> given = new java.util.ArrayList<>();
    for (int k = 0; k < sizes.size(); k++) {
      byte[] payload = new byte[sizes.get(k)];
      for (int b = 0; b < payload.length; b++) payload[b] = (byte) (k * 31 + b);
      Data d = new Data(STREAM, id(1), 1, k, k % 5, payload);
      cache.put(k, d, id(2));
      given.add(d);
      assertThat(cache.size()).isLessThanOrEqualTo(capacity);
      assertThat(cache.bytes()).isLessThanOrEqualTo(maxBytes);
      assertThat(cache.find(id(1), 1, k)).isNotNegative(); // the newest is always kept (every size fits)
    }
    int held = cache.size();
    for (int k = 0; k < given.size(); k++) {
      int slot = cache.find(id(1), 1, k);
      boolean inSuffix = k >= given.size() - held;
      assertThat(slot >= 0).as("message %d", k).isEqualTo(inSuffix);
      if (slot >= 0) assertThat(cache.message(slot)).isEqualTo(given.get(k));
    }
  }
}
