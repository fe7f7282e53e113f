package dev.overlay.delivery;

import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.SeenConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.testing.RecordingOutbox;
import dev.overlay.protocol.MessageRef;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SeenMessagesTest {

  private final RecordingOutbox out = new RecordingOutbox();

  @Test
  void sessionsAreSeparateChains() {
    SeenMessages seen = new SeenMessages(STREAM, SeenConfig.defaults(), out);
    seen.record(0, id(1), 100, 1);
    assertThat(seen.contains(id(1), 100, 1)).isTrue();
    assertThat(seen.contains(id(1), 200, 1)).as("a restart's first message is new").isFalse();
    assertThat(seen.record(0, id(1), 200, 1)).isEqualTo(SeqIntervalSet.NEW);
    assertThat(seen.contains(id(1), 100, 1)).as("the old session is still remembered").isTrue();
    assertThat(seen.newest(id(1))).isEqualTo(new MessageRef(id(1), 200, 1));
  }

  @Test
  void onlyTheNewestSessionsAreKept() {
    SeenMessages seen = new SeenMessages(STREAM, SeenConfig.builder().maxSessionsPerPublisher(2).build(), out);
    seen.record(0, id(1), 100, 1);
    seen.record(0, id(1), 200, 1);
    seen.record(0, id(1), 300, 1);
    assertThat(seen.contains(id(1), 100, 1)).isFalse();
    assertThat(seen.contains(id(1), 200, 1)).isTrue();
    assertThat(seen.contains(id(1), 300, 1)).isTrue();
  }

  @Test
  void atTheCapTheLongestSilentPublisherIsForgottenWithAnEvent() {
    SeenMessages seen = new SeenMessages(STREAM, SeenConfig.builder().maxPublishers(2).build(), out);
    seen.record(1, id(1), 1, 1);
    seen.record(2, id(2), 1, 1);
    seen.record(3, id(1), 1, 2); // 1 is active again; 2 is now the longest silent
    seen.record(4, id(3), 1, 1);
    assertThat(seen.publisherCount()).isEqualTo(2);
    assertThat(seen.contains(id(2), 1, 1)).isFalse();
    assertThat(seen.contains(id(1), 1, 1)).isTrue();
    assertThat(out.events(OverlayEvent.Dropped.class)).singleElement()
        .satisfies(d -> assertThat(d.peer()).isEqualTo(id(2)));
  }

  @Test
  void silentPublishersExpire() {
    SeenMessages seen = new SeenMessages(STREAM, SeenConfig.builder().publisherTtl(Duration.ofSeconds(10)).build(), out);
    seen.record(0, id(1), 1, 1);
    seen.record(8_000_000_000L, id(2), 1, 1);
    seen.expire(10_000_000_000L);
    assertThat(seen.publisherCount()).isEqualTo(1);
    assertThat(seen.contains(id(2), 1, 1)).isTrue();
  }

  @Test
  void theFrontRunnerIsWhoeverBroughtTheNewestFirst() {
    SeenMessages seen = new SeenMessages(STREAM, SeenConfig.defaults(), out);
    seen.record(0, id(1), 5, 1, id(7));
    seen.record(0, id(1), 5, 3, id(8));
    seen.record(0, id(1), 5, 2, id(7)); // fills a hole: not the newest
    assertThat(seen.frontRunner(id(1), 5)).isEqualTo(id(8));
    assertThat(seen.dropFrontRunner(id(8))).containsExactly(id(1));
    assertThat(seen.frontRunner(id(1), 5)).isNull();
  }
}
