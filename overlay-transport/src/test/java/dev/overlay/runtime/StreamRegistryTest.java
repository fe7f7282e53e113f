package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.testing.ManualExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The runtime's per-stream table: subscriptions, neighbour waits, counters, and forgetting what nobody uses. */
class StreamRegistryTest {

  private static final StreamId S = StreamId.of("s");
  private static final PeerId PUBLISHER = PeerId.random(new SplittableRandom(1));
  private final ManualExecutor executor = new ManualExecutor();
  private final Completions completions = new Completions(executor);
  private final StreamRegistry streams = new StreamRegistry(completions);

  private static Message.Data message(long seq) {
    return new Message.Data(S, PUBLISHER, 1, seq, 0, new byte[] {1});
  }

  @Test
  void aWaitForNeighboursCompletesAfterTheTurnInWhichTheyArrive() {
    CompletableFuture<Void> two = new CompletableFuture<>();
    streams.awaitNeighbors(S, "s", 2, two);
    streams.neighborsChanged(S, +1);
    completions.endOfTurn();
    executor.runAll();
    assertThat(two).isNotDone();

    streams.neighborsChanged(S, +1);
    assertThat(two).as("completed off the loop, after the turn").isNotDone();
    completions.endOfTurn();
    executor.runAll();
    assertThat(two).isCompleted();
  }

  @Test
  void waitsArePerStreamBoundedAndCancelledOnesMakeRoom() {
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    for (int i = 0; i < StreamRegistry.MAX_WAITERS; i++) {
      CompletableFuture<Void> f = new CompletableFuture<>();
      streams.awaitNeighbors(S, "s", 1, f);
      waits.add(f);
    }
    CompletableFuture<Void> oneTooMany = new CompletableFuture<>();
    streams.awaitNeighbors(S, "s", 1, oneTooMany);
    assertThat(oneTooMany).isCompletedExceptionally();

    waits.get(0).cancel(false);
    CompletableFuture<Void> next = new CompletableFuture<>();
    streams.awaitNeighbors(S, "s", 1, next);
    assertThat(next).isNotDone();
  }

  @Test
  void neighboursNeverCountBelowZeroAndLeavingResetsThem() {
    streams.add(S, "s");
    streams.neighborsChanged(S, -1);
    assertThat(streams.neighbors(S)).isZero();
    streams.neighborsChanged(S, +1);
    streams.neighborsChanged(S, +1);
    streams.left(S);
    assertThat(streams.neighbors(S)).isZero();
  }

  @Test
  void aStreamNobodyUsesLeavesTheTableAndItsNameGoesBackToTheId() {
    SubscriptionQueue q = new SubscriptionQueue(4, executor, m -> {}, n -> {}, e -> {});
    streams.subscribe(S, "name", q);
    streams.forgetIfUnused(S, s -> false);
    assertThat(streams.name(S)).as("still subscribed").isEqualTo("name");

    streams.unsubscribe(S, q);
    streams.forgetIfUnused(S, s -> true);
    assertThat(streams.name(S)).as("still joined").isEqualTo("name");

    streams.forgetIfUnused(S, s -> false);
    assertThat(streams.name(S)).isEqualTo(S.toString());
  }

  @Test
  void aStreamSomeoneWaitsOnStays() {
    streams.awaitNeighbors(S, "name", 1, new CompletableFuture<>());
    streams.forgetIfUnused(S, s -> false);
    assertThat(streams.name(S)).isEqualTo("name");
  }

  @Test
  void deliveriesWakeEachSubscriptionOncePerTurnAndAFullQueueCountsAsMissed() {
    List<Long> got = new ArrayList<>();
    SubscriptionQueue q = new SubscriptionQueue(4, executor, m -> got.add(m.seq()), n -> {}, e -> {});
    streams.subscribe(S, "s", q);
    for (long seq = 1; seq <= 5; seq++) streams.deliver(message(seq));
    assertThat(executor.tasks).isEmpty();

    streams.wakeSubscribers();
    assertThat(executor.tasks).hasSize(1);
    executor.runAll();

    assertThat(got).containsExactly(1L, 2L, 3L, 4L);
    assertThat(streams.counters(S).delivered()).isEqualTo(5);
    assertThat(streams.counters(S).missedBySubscribers()).isEqualTo(1);
  }

  @Test
  void trafficIsCountedPerStreamAndKindOnlyForStreamsInTheTable() {
    streams.add(S, "s");
    streams.countIn(S, true, 100);
    streams.countIn(S, false, 10);
    streams.countOut(S, true, 200);
    streams.countOut(S, false, 20);
    streams.countPublished(S);
    streams.countIn(StreamId.of("other"), true, 1_000);

    var c = streams.counters(S);
    assertThat(List.of(c.dataIn(), c.dataInBytes(), c.controlIn(), c.controlInBytes(), c.dataOut(), c.dataOutBytes(),
        c.controlOut(), c.controlOutBytes(), c.published())).containsExactly(1L, 100L, 1L, 10L, 1L, 200L, 1L, 20L, 1L);
    assertThat(streams.counters(StreamId.of("other")).dataIn()).isZero();
  }
}
