package dev.overlay.core;

import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StartAtTest {

  @Test
  void theLastPositionGivenForASessionWins() {
    Position a = new Position(id(1), 7, 10);
    Position b = new Position(id(2), 7, 3);
    Position a2 = new Position(id(1), 7, 20);
    assertThat(StartAt.after(a, b, a2).positions()).containsExactly(b, a2);
    assertThat(StartAt.after(a, new Position(id(1), 8, 1)).positions()).hasSize(2); // another session
  }

  @Test
  void boundsAreCheckedWhenTheStartIsMade() {
    assertThatThrownBy(() -> StartAt.latest(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> StartAt.latest(StartAt.MAX_LATEST + 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Position(id(1), 7, -1)).isInstanceOf(IllegalArgumentException.class);
    List<Position> many = new ArrayList<>();
    for (int i = 0; i <= StartAt.MAX_POSITIONS; i++) many.add(new Position(id(1), i, 1));
    assertThatThrownBy(() -> StartAt.after(many)).hasMessageContaining("at most 1024 positions");
    assertThat(StartAt.after(many.subList(0, StartAt.MAX_POSITIONS)).positions()).hasSize(StartAt.MAX_POSITIONS);
  }

  @Test
  void liveAsksForNothing() {
    assertThat(StartAt.live().isLive()).isTrue();
    assertThat(StartAt.after(List.of()).isLive()).isTrue();
    assertThat(StartAt.latest(5).isLive()).isFalse();
    assertThat(StartAt.after(new Position(id(1), 7, 0)).orLatest(5).latest()).isEqualTo(5);
  }
}
