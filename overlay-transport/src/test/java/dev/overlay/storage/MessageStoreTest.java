package dev.overlay.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.Position;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MessageStoreTest {

  private static final StreamId STREAM = StreamId.of("store");
  private static final StreamId OTHER = StreamId.of("other");
  private static final PeerId PUB = PeerId.random(new SplittableRandom(1));
  private static final long SESSION = 42;
  private static final byte[] KEY = new byte[91];
  private static final MessageStore.Retention KEEP = new MessageStore.Retention(3_600_000, 1L << 40);

  @TempDir
  Path dir;

  /** Messages from..to of PUB's session, sealed in batches of {@code perSeal} (digests made up: the store does not check them). */
  private static List<Message.Data> sealed(StreamId stream, long from, long to, int perSeal) {
    List<Message.Data> out = new ArrayList<>();
    for (long first = from; first <= to; first += perSeal) {
      int count = (int) Math.min(perSeal, to - first + 1);
      byte[] digests = new byte[count * Seal.DIGEST_BYTES];
      new SplittableRandom(first).nextBytes(digests);
      Seal seal = new Seal(first, count, digests, KEY, new byte[64]);
      for (long seq = first; seq < first + count; seq++) {
        out.add(new Message.Data(stream, PUB, SESSION, seq, 3, new byte[] {(byte) seq, 1, 2}, seal, seq == first));
      }
    }
    return out;
  }

  @Test
  void aRangeComesBackInOrderEachMessageWithItsSealOnTheFirstOfEachBatch() throws Exception {
    List<Message.Data> in = sealed(STREAM, 1, 300, 64);
    try (MessageStore store = MessageStore.open(dir, KEEP)) {
      store.append(in.subList(200, 300), 1_000_000);
      store.append(in.subList(0, 200), 1_000_000); // out of order, as repairs arrive
      store.append(sealed(OTHER, 1, 10, 64), 1_000_000);
      List<Message.Data> got = store.read(STREAM, PUB, SESSION, 100, 200, 1_000, 1 << 20);
      assertThat(got).extracting(Message.Data::seq).containsExactlyElementsOf(range(100, 200));
      assertThat(got.get(0).seal()).isEqualTo(in.get(99).seal()).as("covers 65..128");
      assertThat(got.get(0).sealOnWire()).isTrue();
      assertThat(got.get(1).sealOnWire()).isFalse();
      assertThat(got.get(29).seq()).isEqualTo(129);
      assertThat(got.get(29).sealOnWire()).as("first of the next seal").isTrue();
      assertThat(got.get(29).seal()).isEqualTo(in.get(128).seal());
      assertThat(got.get(5).payload()).containsExactly(in.get(104).payload());
      assertThat(got.get(0).hops()).isZero();
    }
  }

  @Test
  void aReadStopsAtItsCountOrItsBytes() throws Exception {
    try (MessageStore store = MessageStore.open(dir, KEEP)) {
      store.append(sealed(STREAM, 1, 100, 10), 1_000_000);
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 7, 1 << 20)).hasSize(7);
      // 3 bytes and 64 of framing each, and the first of each seal carries it (10 digests, key, signature):
      // 67 + 160 + 91 + 64 + 64 = 446, then 67 a message: 3 fit in 600, not 4
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 600)).hasSize(3);
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 10)).as("one, if one alone is more").hasSize(1);
      assertThat(store.read(STREAM, PUB, SESSION, 95, Long.MAX_VALUE, 1_000, 1 << 20)).hasSize(6);
      assertThat(store.read(STREAM, PUB, SESSION + 1, 1, Long.MAX_VALUE, 1_000, 1 << 20)).isEmpty();
    }
  }

  @Test
  void whatWasAppendedIsThereAfterReopening() throws Exception {
    try (MessageStore store = MessageStore.open(dir, KEEP)) {
      store.append(sealed(STREAM, 1, 50, 16), 1_000_000);
    }
    try (MessageStore store = MessageStore.open(dir, KEEP)) {
      List<Message.Data> got = store.read(STREAM, PUB, SESSION, 1, 50, 1_000, 1 << 20);
      assertThat(got).hasSize(50);
      assertThat(got.get(49).seal().firstSeq()).isEqualTo(49);
      assertThat(got.get(49).seal().publicKey()).isEqualTo(KEY);
    }
  }

  @Test
  void theTimeIndexSaysWhereEachSessionStoredFromASecondOn() throws Exception {
    List<Message.Data> in = sealed(STREAM, 1, 30, 8);
    try (MessageStore store = MessageStore.open(dir, KEEP)) {
      store.append(in.subList(0, 10), 10_000);
      store.append(in.subList(10, 20), 11_500);
      store.append(in.subList(20, 30), 13_000);
      assertThat(store.since(STREAM, 11_000, 10)).containsExactly(new Position(PUB, SESSION, 11));
      assertThat(store.since(STREAM, 12_000, 10)).containsExactly(new Position(PUB, SESSION, 21));
      assertThat(store.since(STREAM, 14_000, 10)).isEmpty();
      assertThat(store.since(OTHER, 0, 10)).isEmpty();
    }
  }

  @Test
  void retentionDropsTheSecondsOlderThanItsAgeAndTheirMessages() throws Exception {
    List<Message.Data> in = sealed(STREAM, 1, 300, 64);
    try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(60_000, 1L << 40))) {
      store.append(in.subList(0, 100), 1_000_000);
      store.append(in.subList(100, 300), 1_050_000);
      assertThat(store.enforceRetention(1_070_000)).isEqualTo(1); // 1,000 s is older than 60 s, 1,050 s is not
      List<Message.Data> got = store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20);
      assertThat(got).extracting(Message.Data::seq).containsExactlyElementsOf(range(101, 300));
      assertThat(got.get(0).seal()).as("a seal still covering kept messages stays").isEqualTo(in.get(100).seal());
      assertThat(store.enforceRetention(1_200_000)).isEqualTo(1);
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20)).isEmpty();
    }
  }

  @Test
  void retentionBySizeDropsTheOldestSeconds() throws Exception {
    List<Message.Data> in = sealed(STREAM, 1, 200, 64);
    try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(3_600_000, 1))) {
      for (int i = 0; i < 10; i++) store.append(in.subList(i * 20, i * 20 + 20), 1_000_000 + i * 1_000L);
      store.compact();
      assertThat(store.enforceRetention(1_010_000)).isEqualTo(1); // over its size: the oldest tenth goes
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20).get(0).seq()).isEqualTo(21);
    }
  }

  /** One unsealed message of {@code publisher}'s session. */
  private static Message.Data plain(StreamId stream, PeerId publisher, long session, long seq) {
    return new Message.Data(stream, publisher, session, seq, 3, new byte[] {(byte) seq});
  }

  @Test
  void retentionDropsASessionThatEndedWholeAndKeepsEachRunningOneFromItsFirstKeptSecond() throws Exception {
    PeerId other = PeerId.random(new SplittableRandom(2));
    try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(60_000, 1L << 40))) {
      for (long seq = 1; seq <= 10; seq++) store.append(List.of(plain(STREAM, other, 1, seq)), 1_000_000 + seq * 1_000); // ended at 1,010 s
      for (long seq = 1; seq <= 100; seq++) store.append(List.of(plain(STREAM, PUB, SESSION, seq)), 1_000_000 + seq * 1_000); // to 1,100 s
      store.append(List.of(plain(OTHER, PUB, SESSION, 1)), 1_100_000); // another stream, all kept
      int dropped = store.enforceRetention(1_130_000); // keeps 1,070 s on
      assertThat(dropped).as("seconds 1,001..1,069 of the running session, 1,001..1,010 of the ended one").isEqualTo(69 + 10);
      assertThat(store.read(STREAM, other, 1, 1, Long.MAX_VALUE, 1_000, 1 << 20)).isEmpty();
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20)).extracting(Message.Data::seq)
          .containsExactlyElementsOf(range(70, 100));
      assertThat(store.read(OTHER, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20)).hasSize(1);
      assertThat(store.since(STREAM, 0, 10)).containsExactly(new dev.overlay.core.Position(PUB, SESSION, 70));
      assertThat(store.enforceRetention(1_130_000)).as("nothing more to drop").isZero();
    }
  }

  @Test
  void aRepairStoredAfterHigherNumbersIsKeptAsLongAsItsOwnSecond() throws Exception {
    // After a restart the live numbers are stored first and the caches' older ones later.
    try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(60_000, 1L << 40))) {
      for (long seq = 1; seq <= 10; seq++) store.append(List.of(plain(STREAM, PUB, SESSION, seq)), 990_000);
      for (long seq = 100; seq <= 200; seq++) store.append(List.of(plain(STREAM, PUB, SESSION, seq)), 1_000_000);
      for (long seq = 50; seq < 100; seq++) store.append(List.of(plain(STREAM, PUB, SESSION, seq)), 1_005_000); // repairs
      store.enforceRetention(1_055_000); // second 990 goes; 1,000 and 1,005 stay
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20)).extracting(Message.Data::seq)
          .as("the repairs of second 1,005 stay, though below the first number of second 1,000").containsExactlyElementsOf(range(50, 200));
      store.enforceRetention(1_070_000); // every second goes
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20)).isEmpty();
    }
  }

  @Test
  void aStoreWrittenBeforeTheBySessionIndexGetsItAtOpen() throws Exception {
    try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(60_000, 1L << 40))) {
      for (long seq = 1; seq <= 100; seq++) store.append(List.of(plain(STREAM, PUB, SESSION, seq)), 1_000_000 + seq * 1_000);
    }
    try (org.rocksdb.RocksDB raw = org.rocksdb.RocksDB.open(dir.toString()); org.rocksdb.RocksIterator it = raw.newIterator()) {
      raw.delete(new byte[] {'v'}); // as the earlier layout wrote it: no version, no by-session index
      for (it.seek(new byte[] {'u'}); it.isValid() && it.key()[0] == 'u'; it.next()) raw.delete(it.key());
    }
    try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(60_000, 1L << 40))) {
      store.enforceRetention(1_130_000);
      assertThat(store.read(STREAM, PUB, SESSION, 1, Long.MAX_VALUE, 1_000, 1 << 20)).extracting(Message.Data::seq)
          .as("not dropped whole for want of the index").containsExactlyElementsOf(range(70, 100));
    }
  }

  private static List<Long> range(long from, long to) {
    List<Long> out = new ArrayList<>();
    for (long s = from; s <= to; s++) out.add(s);
    return out;
  }
}
