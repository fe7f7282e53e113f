package dev.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The BOM (overlay-transport/bom/pom.xml) has no parent, so nothing but this keeps it in step with
 * the build: it must carry the build's version, pin every module at its own version, and pin
 * every module an application can depend on (all but the benchmarks, which are no library).
 */
class BomTest {

  private static final Path PARENT = Paths.get("../pom.xml");
  private static final Path BOM = Paths.get("bom/pom.xml");

  @Test
  void theBomPinsEveryLibraryModuleAtTheBuildsVersion() throws Exception {
    String parent = Files.readString(PARENT);
    String bom = Files.readString(BOM);
    String version = first(parent, "<artifactId>overlay-parent</artifactId>\\s*<version>([^<]+)</version>");
    assertThat(first(bom, "<artifactId>overlay-bom</artifactId>\\s*<version>([^<]+)</version>")).isEqualTo(version);
    assertThat(bom).doesNotContain("<parent>");

    List<String> modules = new ArrayList<>();
    Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(parent);
    while (m.find()) {
      String dir = m.group(1);
      if (dir.equals("overlay-bench") || dir.endsWith("/bom")) continue;
      modules.add(first(Files.readString(Paths.get("..", dir, "pom.xml")), "</parent>\\s*<artifactId>([^<]+)</artifactId>"));
    }
    List<String> pinned = new ArrayList<>();
    Matcher d = Pattern.compile("<dependency>\\s*<groupId>dev\\.overlay</groupId>\\s*<artifactId>([^<]+)</artifactId>\\s*<version>([^<]+)</version>")
        .matcher(bom);
    while (d.find()) {
      pinned.add(d.group(1));
      assertThat(d.group(2)).as("%s's version: the BOM's own", d.group(1)).isEqualTo("${project.version}");
    }
    assertThat(pinned).containsExactlyInAnyOrderElementsOf(modules).contains("overlay-transport", "overlay-core");
  }

  @Test
  void theBomBuildsWithTheParentsPluginVersions() throws Exception {
    String parent = Files.readString(PARENT);
    String bom = Files.readString(BOM);
    Matcher p = Pattern.compile("<artifactId>maven-([a-z]+)-plugin</artifactId>\\s*<version>([^<]+)</version>").matcher(bom);
    int n = 0;
    while (p.find()) {
      assertThat(p.group(2)).as("maven-%s-plugin", p.group(1)).isEqualTo(first(parent, "<" + p.group(1) + "-plugin.version>([^<]+)<"));
      n++;
    }
    assertThat(n).isEqualTo(4);
  }

  private static String first(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as("%s in the pom", regex).isTrue();
    return m.group(1);
  }
}
