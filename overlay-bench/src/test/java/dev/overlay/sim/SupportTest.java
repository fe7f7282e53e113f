package dev.overlay.sim;

import dev.overlay.report.Json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class SupportTest {

  @Test
  void latencyModelsParseAndAreSymmetricAndInRange() {
    LatencyModel u = LatencyModel.parse("uniform:10-100", 1, 100);
    for (int a = 0; a < 50; a++) {
      for (int b = 0; b < 50; b++) {
        assertThat(u.latencyNanos(a, b)).isEqualTo(u.latencyNanos(b, a)).isBetween(10_000_000L, 100_000_000L);
      }
    }
    assertThat(LatencyModel.parse("const:50", 1, 10).latencyNanos(1, 2)).isEqualTo(50_000_000L);
    LatencyModel geo = LatencyModel.parse("geo", 3, 1000);
    assertThat(geo.latencyNanos(5, 9)).isEqualTo(geo.latencyNanos(9, 5)).isBetween(1_000_000L, 180_000_000L);
    assertThat(u.describe()).isEqualTo("uniform:10-100");
  }

  @Test
  void aBadLatencySpecSaysWhatIsWrong() {
    assertThatThrownBy(() -> LatencyModel.parse("normal:5", 1, 10)).hasMessageContaining("use geo, uniform:MIN-MAX or const:MS");
    assertThatThrownBy(() -> LatencyModel.parse("uniform:a-b", 1, 10)).hasMessageContaining("not a number");
  }

  @Property
  void selectionAgreesWithSorting(@ForAll @Size(min = 1, max = 500) List<@DoubleRange(min = -1e6, max = 1e6) Double> values,
      @ForAll @DoubleRange(min = 0.01, max = 1.0) double q) {
    double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
    double[] sorted = a.clone();
    Arrays.sort(sorted);
    double expected = sorted[Select.rank(q, a.length)];
    assertThat(Select.percentiles(a, q)[0]).isEqualTo(expected);
  }

  @Test
  void jsonIsStable() {
    String j = Json.object().put("a", 1).put("b", 0.5).put("c", List.of("x\"y")).put("d", Json.object()).toString();
    assertThat(j).isEqualTo("{\n  \"a\": 1,\n  \"b\": 0.5,\n  \"c\": [\n    \"x\\\"y\"\n  ],\n  \"d\": {}\n}\n");
    assertThat(Json.object().put("nan", Double.NaN).toString()).contains("\"nan\": null");
  }
}
