package dev.overlay.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An application on the module path, as docs/api.md tells one to be: a module that only
 * {@code requires dev.overlay.transport} compiles against the library's descriptors, then two
 * nodes of it meet and deliver a message. The descriptors are otherwise only checked by the
 * library's own compile, which cannot see a missing {@code requires} that shows only at run
 * time (a reflective lookup, a service, a package a dependency does not export).
 */
class ModulePathSmokeTest {

  /** The library and its dependencies, from this test's own class path: what a modular application would list. */
  private static String modulePath() {
    List<String> out = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String p = e.replace(File.separatorChar, '/');
      // target/ in a reactor build, the local repository when this module is built alone
      boolean library = (p.contains("/overlay-core/") || p.contains("/overlay-transport/"))
          && !p.endsWith("/test-classes") && !p.endsWith("-tests.jar");
      boolean dependency = p.contains("/io/netty/") || p.contains("/com/google/protobuf/") || p.contains("/org/bouncycastle/")
          || p.contains("/org/jctools/") || p.contains("/org/slf4j/");
      if (library || dependency) out.add(e);
    }
    return String.join(File.pathSeparator, out);
  }

  private static final String MODULE_INFO = """
      module smoke {
        requires dev.overlay.transport;
      }
      """;

  private static final String MAIN = """
      package smoke;

      import dev.overlay.OverlayNode;
      import java.time.Duration;
      import java.util.concurrent.CountDownLatch;
      import java.util.concurrent.TimeUnit;

      public class Main {
        public static void main(String[] args) throws Exception {
          try (OverlayNode a = OverlayNode.builder().build().start();
               OverlayNode b = OverlayNode.builder().seed(a.info()).build().start()) {
            CountDownLatch got = new CountDownLatch(1);
            b.subscribe("smoke", m -> got.countDown());
            a.join("smoke");
            // Both ends: the subscriber may count the publisher before the publisher has taken its JOIN.
            if (!b.awaitNeighbors("smoke", 1, Duration.ofSeconds(20))) throw new AssertionError("no neighbour at b");
            if (!a.awaitNeighbors("smoke", 1, Duration.ofSeconds(20))) throw new AssertionError("no neighbour at a");
            System.out.println("published: " + a.publish("smoke", new byte[] {1, 2, 3}).get(20, TimeUnit.SECONDS));
            if (!got.await(20, TimeUnit.SECONDS)) throw new AssertionError("not delivered");
            Module m = OverlayNode.class.getModule();
            System.out.println("delivered on the module path: " + m.getName() + (m.getDescriptor().isAutomatic() ? " (automatic)" : ""));
          }
        }
      }
      """;

  @Test
  void aModularApplicationRequiringOnlyTheTransportModuleRunsANode(@TempDir Path dir) throws Exception {
    Path src = dir.resolve("src/smoke");
    Files.createDirectories(src.resolve("smoke"));
    Files.writeString(src.resolve("module-info.java"), MODULE_INFO);
    Files.writeString(src.resolve("smoke/Main.java"), MAIN);
    Path classes = dir.resolve("classes");
    String modulePath = modulePath();

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    java.io.ByteArrayOutputStream diagnostics = new java.io.ByteArrayOutputStream();
    int compiled = javac.run(null, diagnostics, diagnostics, "-d", classes.toString(), "--module-path", modulePath,
        src.resolve("module-info.java").toString(), src.resolve("smoke/Main.java").toString());
    assertThat(compiled).as("the module compiles against the library's descriptors:\n" + diagnostics + "\nmodule path: "
        + modulePath).isZero();

    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = new ProcessBuilder(java.toString(), "--module-path", modulePath + File.pathSeparator + classes,
        "-m", "smoke/smoke.Main").redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile()).start();
    boolean exited;
    try {
      exited = p.waitFor(120, TimeUnit.SECONDS); // a deadline, not a wait: it returns when the process ends
    } finally {
      if (p.isAlive()) p.destroyForcibly().waitFor(); // never leave a JVM behind, whatever happened here
    }
    String output = Files.readString(dir.resolve("out.txt"), StandardCharsets.UTF_8);
    assertThat(exited).as("exited within 120 s; output:\n" + output).isTrue();
    assertThat(p.exitValue()).as("exit status; output:\n" + output).isZero();
    assertThat(output).contains("delivered on the module path: dev.overlay.transport\n"); // an explicit module, not automatic
  }
}
