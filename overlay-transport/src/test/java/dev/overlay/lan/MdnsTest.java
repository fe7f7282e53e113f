package dev.overlay.lan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.overlay.lan.Mdns.Question;
import dev.overlay.lan.Mdns.Record;
import dev.overlay.lan.Mdns.Srv;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MdnsTest {

  private static final String TYPE = "_overlay._tcp.local";
  private static final String INSTANCE = "overlay-0123456789abcdef0123." + TYPE;

  private static List<Record> records() {
    return List.of(
        new Record(TYPE, Mdns.TYPE_PTR, false, 4500, INSTANCE),
        new Record(INSTANCE, Mdns.TYPE_SRV, true, 120, new Srv(0, 0, 7000, "host-1.local")),
        new Record(INSTANCE, Mdns.TYPE_TXT, true, 4500, List.of("id=ab", "v=3", "s=1f,2e")),
        new Record("host-1.local", Mdns.TYPE_A, true, 120, new byte[] {(byte) 192, (byte) 168, 1, 10}));
  }

  @Test
  void aResponseAndAQueryRoundTrip() throws Exception {
    byte[] r = Mdns.response(records());
    Mdns.Message m = Mdns.decode(r, r.length);
    assertThat(m.response()).isTrue();
    assertThat(m.records()).hasSize(4);
    assertThat(m.records().get(0).data()).isEqualTo(INSTANCE);
    assertThat(m.records().get(1).data()).isEqualTo(new Srv(0, 0, 7000, "host-1.local"));
    assertThat(m.records().get(1).cacheFlush()).isTrue();
    assertThat(m.records().get(2).data()).isEqualTo(List.of("id=ab", "v=3", "s=1f,2e"));
    assertThat((byte[]) m.records().get(3).data()).containsExactly(192, 168, 1, 10);

    byte[] q = Mdns.query(List.of(new Question(TYPE, Mdns.TYPE_PTR, true)));
    Mdns.Message mq = Mdns.decode(q, q.length);
    assertThat(mq.response()).isFalse();
    assertThat(mq.questions()).containsExactly(new Question(TYPE, Mdns.TYPE_PTR, true));
  }

  /** Other implementations compress names: a PTR whose target points back into the question. */
  @Test
  void compressedNamesAreFollowedBackwards() throws Exception {
    byte[] p = HexFormat.of().parseHex(
        "000084000001000100000000"
            + "085f6f7665726c6179045f746370056c6f63616c00000c0001" // question _overlay._tcp.local PTR IN (name at 12)
            + "c00c000c000100001194000b" // answer: name -> 12, PTR, IN, ttl 4500, rdlength 11
            + "08696e7374616e6365c00c"); // "instance" + pointer to 12
    Mdns.Message m = Mdns.decode(p, p.length);
    assertThat(m.questions().get(0).name()).isEqualTo(TYPE);
    assertThat(m.records().get(0).name()).isEqualTo(TYPE);
    assertThat(m.records().get(0).data()).isEqualTo("instance." + TYPE);
  }

  @Test
  void ofALongMessageTheFirst64EntriesAreReadAndErrorsAreIgnored() throws Exception {
    List<Record> seventy = new java.util.ArrayList<>();
    for (int i = 0; i < 70; i++) seventy.add(new Record("h" + i + ".local", Mdns.TYPE_A, true, 120, new byte[] {10, 0, 0, (byte) i}));
    byte[] p = Mdns.response(seventy);
    assertThat(Mdns.decode(p, p.length).records()).hasSize(Mdns.MAX_ENTRIES);
    byte[] error = Mdns.response(records());
    error[3] |= 3; // rcode NXDOMAIN
    assertThat(Mdns.decode(error, error.length).records()).isEmpty();
  }

  @Test
  void hostileNamesAreRefusedWithAReason() {
    // A pointer to itself, and one forward.
    byte[] loop = HexFormat.of().parseHex("000084000001000000000000" + "c00c000c0001");
    assertThatThrownBy(() -> Mdns.decode(loop, loop.length)).isInstanceOf(Mdns.Malformed.class).hasMessageContaining("pointer");
    byte[] forward = HexFormat.of().parseHex("000084000001000000000000" + "c0200000000c0001");
    assertThatThrownBy(() -> Mdns.decode(forward, forward.length)).isInstanceOf(Mdns.Malformed.class);
    byte[] truncated = HexFormat.of().parseHex("000084000001000000000000" + "3f6162");
    assertThatThrownBy(() -> Mdns.decode(truncated, truncated.length)).isInstanceOf(Mdns.Malformed.class).hasMessageContaining("past the end");
    byte[] many = HexFormat.of().parseHex("00008400ffff000000000000");
    assertThatThrownBy(() -> Mdns.decode(many, many.length)).as("65,535 questions claimed: the first is read, and is not there")
        .isInstanceOf(Mdns.Malformed.class).hasMessageContaining("past the end");
    assertThatThrownBy(() -> Mdns.decode(new byte[5], 5)).isInstanceOf(Mdns.Malformed.class).hasMessageContaining("header");
  }

  /** Whatever arrives, decoding ends in a message or a Malformed: nothing else escapes to the loop. */
  @Test
  void randomAndMutatedPacketsNeverThrowAnythingElse() {
    SplittableRandom rnd = new SplittableRandom(42);
    byte[] valid = Mdns.response(records());
    int decoded = 0;
    for (int i = 0; i < 200_000; i++) {
      byte[] p;
      if (i % 2 == 0) {
        p = valid.clone();
        for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) p[rnd.nextInt(p.length)] = (byte) rnd.nextInt(256);
      } else {
        p = new byte[rnd.nextInt(12, 300)];
        for (int k = 0; k < p.length; k++) p[k] = (byte) rnd.nextInt(256);
        p[4] = 0; // few entries, so that records get read
        p[5] = (byte) rnd.nextInt(4);
        p[6] = 0;
        p[7] = (byte) rnd.nextInt(4);
      }
      try {
        Mdns.decode(p, p.length);
        decoded++;
      } catch (Mdns.Malformed expected) {
        // refused with a reason
      }
    }
    assertThat(decoded).as("some mutations still decode").isPositive();
  }
}
