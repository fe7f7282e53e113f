package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.OverlayNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subscribers in separate JVMs, each a {@link NodeProcess}; the seed and the publisher in this
 * one. 3,000 messages in bursts; subscriber processes are killed with SIGKILL mid-burst and
 * started again with the same identity. Every running subscriber must get every message
 * published while it was up, none twice, and leak no buffer.
 */
class MultiProcessChurnTest {

  private static final String STREAM = "it/processes";
  private static final int BURSTS = 30;
  private static final int BURST = 100;
  private static final long WAIT_MS = 30_000;

  /** One child JVM: its process, its stdin, its stdout lines, its stderr file. */
  private static final class Child {
    final Path identity;
    final Path stderr;
    Process process;
    PrintWriter stdin;
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    long from;
    int restarts;

    Child(Path dir, int i) {
      identity = dir.resolve("node" + i + ".key");
      stderr = dir.resolve("node" + i + ".err");
    }

    void start(String seed) throws IOException {
      lines.clear();
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      process = new ProcessBuilder(java, "-Xmx256m", "-Dio.netty.leakDetection.level=paranoid",
          "-cp", System.getProperty("java.class.path"), NodeProcess.class.getName(), identity.toString(), seed, STREAM)
          .redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile())).start();
      stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
      Process p = process;
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          for (String l = r.readLine(); l != null; l = r.readLine()) lines.add(l);
        } catch (IOException e) {
          // the process died: its lines end here
        }
      }, "child-stdout");
      reader.setDaemon(true);
      reader.start();
    }

    /** The next line the child prints, within the deadline. */
    String next(long millis) throws Exception {
      String l = lines.poll(millis, TimeUnit.MILLISECONDS);
      if (l == null) throw new AssertionError("no answer from " + identity.getFileName() + " in " + millis + " ms; stderr:\n" + tail());
      return l;
    }

    String ask(String command, long millis) throws Exception {
      stdin.println(command);
      return next(millis);
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }

    boolean up() {
      return process != null && process.isAlive();
    }

    String tail() {
      try {
        List<String> all = Files.readAllLines(stderr);
        return String.join("\n", all.subList(Math.max(0, all.size() - 30), all.size()));
      } catch (IOException e) {
        return "(no stderr: " + e + ")";
      }
    }
  }

  @Test
  void subscribersInOtherProcessesGetEveryMessageWhileTheyAreKilledAndRestarted(@TempDir Path dir) throws Exception {
    List<Child> children = new ArrayList<>();
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode seed = net.start(null);
      seed.join(STREAM);
      OverlayNode publisher = net.start(seed);
      publisher.join(STREAM);
      String seedAddress = seed.address().getHostString() + ":" + seed.address().getPort();
      for (int i = 0; i < 4; i++) {
        Child c = new Child(dir, i);
        c.start(seedAddress);
        children.add(c);
      }
      for (Child c : children) assertThat(c.next(90_000)).startsWith("READY");
      assertThat(publisher.awaitNeighbors(STREAM, 1, Duration.ofSeconds(30))).isTrue();

      long published = 0;
      for (int burst = 0; burst < BURSTS; burst++) {
        for (int k = 0; k < BURST; k++) publisher.publish(STREAM, Tally.payload(published++, 100));
        if (burst == 5 || burst == 17) {
          children.get(burst == 5 ? 1 : 3).kill(); // SIGKILL while the burst is on the wire
        } else if (burst == 10 || burst == 22) {
          Child back = children.get(burst == 10 ? 1 : 3);
          back.start(seedAddress);
          assertThat(back.next(90_000)).startsWith("READY");
          // Back means a message published now reaches it; from then on it must miss none.
          // (Its first neighbour counts it at once, but that neighbour's own neighbours may still
          // be forwarding without it for a moment, and a node that has never heard of the
          // publisher is told of nothing from before.)
          back.from = -1;
          for (int probe = 0; probe < 50 && back.from < 0; probe++) {
            long n = published++;
            publisher.publish(STREAM, Tally.payload(n, 100));
            if (back.ask("WAIT " + n + " " + (n + 1) + " 1000", 30_000).equals("OK")) back.from = n;
          }
          assertThat(back.from).as("a restarted subscriber receives again").isNotNegative();
          back.restarts++;
        }
        for (Child c : children) {
          if (c.up()) assertThat(c.ask("WAIT " + c.from + " " + published + " " + WAIT_MS, WAIT_MS + 30_000))
              .as("subscriber %s after burst %d", c.identity.getFileName(), burst).isEqualTo("OK");
        }
      }
      for (Child c : children) {
        assertThat(c.up()).isTrue();
        assertThat(c.ask("WAIT " + c.from + " " + published + " " + WAIT_MS, WAIT_MS + 30_000)).isEqualTo("OK");
        String bye = c.ask("QUIT", 60_000);
        assertThat(bye).as("leaks, duplicates; stderr:\n" + c.tail()).isEqualTo("BYE 0 0");
      }
      assertThat(children.stream().mapToInt(c -> c.restarts).sum()).isEqualTo(2);
    } finally {
      for (Child c : children) {
        if (c.up()) c.kill();
      }
    }
  }
}
