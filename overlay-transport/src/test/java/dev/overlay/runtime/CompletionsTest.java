package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.testing.ManualExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Futures the API hands out complete off the loop, a turn at a time, in order. */
class CompletionsTest {

  private final ManualExecutor executor = new ManualExecutor();
  private final Completions completions = new Completions(executor);

  @Test
  void aTurnsCompletionsRunTogetherOnTheExecutorInOrder() {
    List<String> order = new ArrayList<>();
    CompletableFuture<String> a = new CompletableFuture<>();
    CompletableFuture<String> b = new CompletableFuture<>();
    a.thenRun(() -> order.add("a"));
    b.thenRun(() -> order.add("b"));
    completions.complete(a, "x");
    completions.fail(b, new IllegalStateException("no"));
    assertThat(a).isNotDone();

    completions.endOfTurn();
    assertThat(a).as("handed over, not yet run").isNotDone();
    assertThat(executor.tasks).hasSize(1);
    executor.runAll();

    assertThat(a).isCompletedWithValue("x");
    assertThat(b).isCompletedExceptionally();
    assertThat(order).containsExactly("a");
    assertThat(completions.completedOnLoop()).isZero();
  }

  @Test
  void anExecutorThatRefusesStillCompletesThemOnTheLoopAndCountsIt() {
    executor.refuse = true;
    CompletableFuture<String> a = new CompletableFuture<>();
    completions.complete(a, "x");
    completions.endOfTurn();
    assertThat(a).isCompletedWithValue("x");
    assertThat(completions.completedOnLoop()).isEqualTo(1);
  }

  @Test
  void aTurnWithNothingHandsNothingOver() {
    completions.endOfTurn();
    assertThat(executor.tasks).isEmpty();
  }
}
