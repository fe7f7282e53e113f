package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import dev.overlay.storage.MessageStore;
import dev.overlay.storage.StorageService;
import dev.overlay.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage node's side of resends, with a real store and a hand-driven loop: what any
 * authenticated peer can make it do is bounded (slots, credit, idle requests), and it keeps the
 * asker's link only while it serves it.
 */
class ResendServerTest {

  private static final StreamId STREAM = StreamId.of("kept");
  private static final PeerId PUB = PeerId.random(new SplittableRandom(1));
  private static final PeerId ASKER = PeerId.random(new SplittableRandom(2));
  private static final long SESSION = 7;

  @TempDir
  Path dir;

  /** The loop, by hand: tasks from the storage thread and timers wait here until run. */
  private final ConcurrentLinkedQueue<Runnable> loop = new ConcurrentLinkedQueue<>();
  private final List<Runnable> timers = new ArrayList<>();
  private final List<Message> sent = new ArrayList<>();
  private final List<String> holds = new ArrayList<>();
  private boolean writable = true;
  private StorageService storage;
  private ResendServer server;

  @BeforeEach
  void setUp() throws Exception {
    storage = new StorageService(dir, new MessageStore.Retention(3_600_000, 1L << 40), Set.of(STREAM), () -> 1_000_000L,
        (s, n, why) -> { });
    for (long first = 1; first <= 3_000; first += 100) {
      Seal seal = new Seal(first, 100, new byte[100 * Seal.DIGEST_BYTES], new byte[91], new byte[64]);
      for (long seq = first; seq < first + 100; seq++) {
        storage.delivered(new Message.Data(STREAM, PUB, SESSION, seq, 1, new byte[100]), seal);
      }
    }
    storage.endOfTurn();
    server = new ResendServer(storage, new ResendServer.Host() {
      @Override
      public void send(PeerId to, Message message) {
        sent.add(message);
      }

      @Override
      public boolean writable(PeerId peer) {
        return writable;
      }

      @Override
      public void hold(PeerId peer, boolean hold) {
        holds.add((hold ? "hold " : "release ") + (peer.equals(ASKER) ? "asker" : peer));
      }

      @Override
      public void schedule(Runnable task, long millis) {
        timers.add(task);
      }

      @Override
      public void execute(Runnable task) {
        loop.add(task);
      }
    });
  }

  @AfterEach
  void tearDown() {
    storage.close();
  }

  private Message.ResendRequest ask(long request, long from, int credit) {
    return new Message.ResendRequest(STREAM, request, PUB, SESSION, from, 0, 0, credit);
  }

  /** Runs what the storage thread handed back until {@code done} holds (reads are on another thread). */
  private void runLoopUntil(java.util.function.BooleanSupplier done) {
    Await.until(Duration.ofSeconds(10), () -> {
      Runnable r;
      while ((r = loop.poll()) != null) r.run();
      return done.getAsBoolean();
    }, () -> "sent " + sent);
  }

  private long messagesSent() {
    return sent.stream().filter(m -> m instanceof Message.ResendBatch).mapToLong(m -> ((Message.ResendBatch) m).messages().size()).sum();
  }

  private Message.ResendEnd end() {
    return (Message.ResendEnd) sent.stream().filter(m -> m instanceof Message.ResendEnd).findFirst().orElse(null);
  }

  @Test
  void aRangeStreamsInOrderWithinTheCreditThenEndsAndReleasesTheLink() {
    server.onRequest(ASKER, ask(1, 101, (int) ResendServer.MAX_CREDIT));
    runLoopUntil(() -> end() != null);
    assertThat(messagesSent()).isEqualTo(2_900);
    long expect = 101;
    for (Message m : sent) {
      if (!(m instanceof Message.ResendBatch b)) continue;
      for (Message.Data d : b.messages()) assertThat(d.seq()).isEqualTo(expect++);
    }
    assertThat(end().outcome()).isEqualTo(Message.ResendOutcome.COMPLETE);
    assertThat(holds).containsExactly("hold asker", "release asker");
  }

  @Test
  void withoutMoreCreditItStopsAndAnIdleRequestEndsAndFreesItsSlot() {
    server.onRequest(ASKER, ask(1, 1, ResendServer.MAX_BATCH_BYTES)); // one batch's worth
    runLoopUntil(() -> !sent.isEmpty() && server.open() == 1 && loop.isEmpty());
    long first = messagesSent();
    assertThat(first).isPositive().isLessThan(3_000);
    assertThat(end()).isNull();
    // The idle check: nothing sent and no credit since it was armed (the first timer is the idle check).
    timers.get(0).run();
    assertThat(end()).as("still moving when the first check came").isNull();
    Runnable second = timers.get(timers.size() - 1);
    second.run();
    assertThat(end().outcome()).isEqualTo(Message.ResendOutcome.FAILED);
    assertThat(server.open()).isZero();
    assertThat(holds).containsExactly("hold asker", "release asker");
  }

  @Test
  void aPeerHasTwoSlotsAndTooLittleCreditIsRefused() {
    server.onRequest(ASKER, ask(1, 1, ResendServer.MAX_BATCH_BYTES - 1));
    assertThat(end().outcome()).isEqualTo(Message.ResendOutcome.REFUSED);
    sent.clear();
    writable = false; // nothing goes out: the two stay open
    server.onRequest(ASKER, ask(2, 1, (int) ResendServer.MAX_CREDIT));
    server.onRequest(ASKER, ask(3, 1, (int) ResendServer.MAX_CREDIT));
    server.onRequest(ASKER, ask(4, 1, (int) ResendServer.MAX_CREDIT));
    assertThat(end().request()).isEqualTo(4);
    assertThat(end().outcome()).isEqualTo(Message.ResendOutcome.REFUSED);
    assertThat(server.open()).isEqualTo(2);
    assertThat(messagesSent()).as("an unwritable link gets nothing").isZero();
    server.linkDown(ASKER);
    assertThat(server.open()).isZero();
    assertThat(holds).containsExactly("hold asker", "release asker");
  }

  @Test
  void aStreamNotKeptIsSaidSo() {
    server.onRequest(ASKER, new Message.ResendRequest(StreamId.of("other"), 1, PUB, SESSION, 1, 0, 0, (int) ResendServer.MAX_CREDIT));
    assertThat(end().outcome()).isEqualTo(Message.ResendOutcome.NOT_STORED);
    assertThat(holds).isEmpty();
  }
}
