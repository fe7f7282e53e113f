package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.testing.ManualExecutor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The core's commands carried out: frames to links (encoded once), counters, results, events. */
class CoreOutboxTest {

  private static final StreamId S = StreamId.of("s");
  private static final SplittableRandom IDS = new SplittableRandom(5);
  private static final PeerId A = PeerId.random(IDS);
  private static final PeerId B = PeerId.random(IDS);
  private static final PeerId NOBODY = PeerId.random(IDS);

  private record Sent(PeerId to, ByteBuf frame, boolean control) {}

  private final List<Sent> sent = new ArrayList<>();
  private final List<Object> events = new ArrayList<>();
  private final ManualExecutor executor = new ManualExecutor();
  private final Completions completions = new Completions(executor);
  private final StreamRegistry streams = new StreamRegistry(completions);
  private final EventDispatcher<Object> dispatcher = new EventDispatcher<>(64, executor, events::add, lost -> {});
  private final CoreOutbox outbox = new CoreOutbox(new CoreOutbox.Links() {
    @Override
    public boolean send(PeerId to, ByteBuf frame, boolean control) {
      if (to.equals(NOBODY)) return false;
      sent.add(new Sent(to, frame, control));
      return true;
    }

    @Override
    public void connect(PeerInfo peer) {}

    @Override
    public void disconnect(PeerId peer) {}
  }, streams, null, dispatcher, completions, s -> {}, UnpooledByteBufAllocator.DEFAULT);

  @AfterEach
  void tearDown() {
    outbox.release();
  }

  @Test
  void aMessageIsEncodedOnceForAllItsRecipientsAndCountedPerStreamAndKind() {
    streams.add(S, "s");
    Message.Data d = new Message.Data(S, A, 1, 1, 0, new byte[100]);
    outbox.send(A, d);
    int dataBytes = sent.get(0).frame().readableBytes(); // before the PRUNE reuses the buffer
    outbox.send(B, d);
    outbox.send(NOBODY, d);
    outbox.send(A, new Message.Prune(S, A));

    assertThat(sent.get(0).frame()).as("one encoding, shared").isSameAs(sent.get(1).frame());
    assertThat(sent.get(0).control()).isFalse();
    assertThat(sent.get(2).control()).as("a PRUNE goes in the control lane").isTrue();
    var c = streams.counters(S);
    assertThat(c.dataOut()).as("three sends, one without a link").isEqualTo(3);
    assertThat(c.controlOut()).isEqualTo(1);
    assertThat(outbox.sendsWithoutLink()).isEqualTo(1);
    assertThat(c.dataOutBytes()).isEqualTo(3L * dataBytes);
  }

  @Test
  void aPublishResultCompletesTheWaitingFutureOnceOffTheLoop() {
    streams.add(S, "s");
    CompletableFuture<PublishResult> f = new CompletableFuture<>();
    outbox.expectPublish(f);
    PublishResult r = new PublishResult(S, 1, 7, PublishResult.Status.SENT, 2, 3);
    outbox.published(r);
    outbox.published(new PublishResult(S, 1, 8, PublishResult.Status.SENT, 2, 3)); // answers nothing
    outbox.checkPublishAnswered();
    assertThat(f).as("completed at the end of the turn, not inside it").isNotDone();

    completions.endOfTurn();
    executor.runAll();
    assertThat(f).isCompletedWithValue(r);
    assertThat(streams.counters(S).published()).isEqualTo(1);
  }

  @Test
  void aPublishTheCoreLeftUnansweredFailsRatherThanWaitingForEver() {
    CompletableFuture<PublishResult> f = new CompletableFuture<>();
    outbox.expectPublish(f);
    outbox.checkPublishAnswered();
    completions.endOfTurn();
    executor.runAll();
    assertThat(f).isCompletedExceptionally();
  }

  @Test
  void eventsCountNeighboursAndDropsAndReachTheListener() {
    streams.add(S, "s");
    outbox.emit(new OverlayEvent.NeighborUp(S, A));
    outbox.emit(new OverlayEvent.Dropped(S, A, OverlayEvent.DropReason.CAPACITY, "full"));
    outbox.emit(new OverlayEvent.Dropped(S, A, OverlayEvent.DropReason.CAPACITY, "full"));
    executor.runAll();

    assertThat(streams.neighbors(S)).isEqualTo(1);
    assertThat(outbox.drops()).containsEntry(OverlayEvent.DropReason.CAPACITY, 2L);
    assertThat(events).hasSize(3);
  }
}
