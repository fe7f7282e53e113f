package dev.overlay.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.overlay.config.HyParViewConfig;
import dev.overlay.config.NodeConfig;
import dev.overlay.config.PlumtreeConfig;
import dev.overlay.config.SeenConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConfigValidationTest {

  @Test
  void theDefaultsAreThePapers() {
    HyParViewConfig h = HyParViewConfig.defaults();
    assertThat(h.activeViewCapacity()).isEqualTo(5);
    assertThat(h.passiveViewCapacity()).isEqualTo(30);
    assertThat(h.activeRandomWalkLength()).isEqualTo(6);
    assertThat(h.passiveRandomWalkLength()).isEqualTo(3);
    assertThat(h.shuffleActiveCount()).isEqualTo(3);
    assertThat(h.shufflePassiveCount()).isEqualTo(4);
  }

  @Test
  void badValuesAreRefusedWithTheirName() {
    assertThatThrownBy(() -> HyParViewConfig.builder().activeViewCapacity(0).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activeViewCapacity");
    assertThatThrownBy(() -> HyParViewConfig.builder().passiveRandomWalkLength(7).build())
        .hasMessageContaining("passiveRandomWalkLength");
    assertThatThrownBy(() -> HyParViewConfig.builder().activeViewMinimum(6).build())
        .hasMessageContaining("activeViewMinimum");
    assertThatThrownBy(() -> PlumtreeConfig.builder().graftTimeout1(Duration.ofMillis(50)).build())
        .hasMessageContaining("lazyFlushInterval must be shorter than graftTimeout1");
    assertThatThrownBy(() -> PlumtreeConfig.builder().messageCacheCapacity(0).build())
        .hasMessageContaining("messageCacheCapacity");
    assertThatThrownBy(() -> SeenConfig.builder().maxIntervalsPerSession(1).build())
        .hasMessageContaining("maxIntervalsPerSession");
    assertThatThrownBy(() -> NodeConfig.builder().maxLinks(2).build())
        .hasMessageContaining("maxLinks");
    assertThatThrownBy(() -> NodeConfig.builder().seen(SeenConfig.builder().publisherTtl(Duration.ofSeconds(1)).build()).build())
        .hasMessageContaining("publisherTtl");
  }

  @Test
  void aConfigRoundTripsThroughItsBuilder() {
    NodeConfig c = NodeConfig.builder().maxStreams(7).build();
    assertThat(c.toBuilder().build()).isEqualTo(c);
    PlumtreeConfig p = PlumtreeConfig.builder().optimizationThreshold(3).build();
    assertThat(p.toBuilder().build()).isEqualTo(p);
  }
}
