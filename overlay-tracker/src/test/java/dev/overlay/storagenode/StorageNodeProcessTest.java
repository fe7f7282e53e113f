package dev.overlay.storagenode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.Candidate;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StartAt;
import dev.overlay.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A storage node as a separate process, started through the tracker jar's main class ({@code storage}) and killed with SIGKILL
 * while it ingests (issue 14, "A multi-process test"): every message it had acknowledged is
 * there after its restart, and it stores again. Its acknowledgement, seen from outside, is an
 * answer: what it sent to a node asking for everything, just before the kill, it had stored.
 */
class StorageNodeProcessTest {

  private static final String STREAM = "kept";
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final Pattern STARTED = Pattern.compile("overlay storage node ([0-9a-f]{64})@([^:\\s]+):(\\d+)");

  @TempDir
  Path dir;

  private final List<Process> processes = new ArrayList<>();
  private final List<AutoCloseable> open = new ArrayList<>();
  private ScheduledExecutorService publishing;
  /** What the last asker heard when it got no history: for the failure message. */
  private volatile String lastRefusal = "";

  @AfterEach
  void cleanUp() throws Exception {
    if (publishing != null) publishing.shutdownNow();
    for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    for (Process p : processes) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts the storage node process; returns "id@host:port" once it says it is up. */
  private String startStorageNode(String seed, int run) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        dev.overlay.tracker.TrackerMain.class.getName(), "storage", "--streams", STREAM, "--data-dir", dir.resolve("store").toString(),
        "--identity", dir.resolve("storage.key").toString(), "--host", "127.0.0.1", "--port", "0", "--seeds", seed);
    pb.redirectErrorStream(true);
    Path output = dir.resolve("storage-" + run + ".log");
    pb.redirectOutput(output.toFile());
    Process p = pb.start();
    processes.add(p);
    String[] at = new String[1];
    Await.until(DEADLINE, () -> {
      Matcher m = STARTED.matcher(read(output));
      if (m.find()) at[0] = m.group(1) + "@" + m.group(2) + ":" + m.group(3);
      return at[0] != null || !p.isAlive();
    }, () -> "the storage node says it is up: " + read(output));
    if (at[0] == null) throw new IllegalStateException("the storage node exited with " + p.exitValue() + ": " + read(output));
    return at[0];
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (java.io.IOException e) {
      return "";
    }
  }

  /**
   * A node in no overlay asks the storage node for everything since {@code since}; returns the
   * sequence numbers it delivered once the storage node said it sent all it had, or null if it could not.
   */
  private List<Long> everythingStored(String storageNode, Instant since) throws Exception {
    List<TransportEvent> events = Collections.synchronizedList(new ArrayList<>());
    List<Long> got = Collections.synchronizedList(new ArrayList<>());
    try (OverlayNode asker = OverlayNode.builder().identity(NodeIdentity.generate()).storageNodes(storageNode)
        .listener(new OverlayListener() {
          @Override
          public void onTransportEvent(TransportEvent e) {
            events.add(e);
          }
        }).build().start()) {
      asker.subscribe(STREAM, m -> got.add(m.position().seq()), null, StartAt.since(since));
      // The end: all sent, or given up. (A report of messages the storage node lacks, those
      // published while it was down, comes on the way and is no end.)
      Await.until(DEADLINE, () -> events.stream().anyMatch(e -> e instanceof TransportEvent.HistoryReceived
          || e instanceof TransportEvent.HistoryUnavailable u && u.what().startsWith("history since")), () -> "an answer from " + storageNode);
      if (events.stream().noneMatch(e -> e instanceof TransportEvent.HistoryReceived)) {
        lastRefusal = events.toString();
        return null;
      }
      long expected = ((TransportEvent.HistoryReceived) events.stream().filter(e -> e instanceof TransportEvent.HistoryReceived)
          .findFirst().orElseThrow()).messages();
      // HistoryReceived comes on the listener's thread: the last messages may still be on their way to the handler.
      Await.until(DEADLINE, () -> got.size() >= expected, () -> "the handler got " + got.size() + " of " + expected);
      synchronized (got) {
        return new ArrayList<>(got);
      }
    }
  }

  @Test
  void aStorageNodeKilledWhileIngestingKeepsEverythingItAcknowledgedAndStoresAgainAfterItsRestart() throws Exception {
    OverlayNode publisher = OverlayNode.builder().identity(NodeIdentity.generate()).build().start();
    open.add(publisher);
    Candidate c = publisher.info().candidates().get(0);
    String seed = c.host() + ":" + c.port();
    publisher.join(STREAM);
    String first = startStorageNode(seed, 1);
    assertThat(publisher.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();

    // 500 messages a second throughout; the highest sequence number sent to a neighbour is kept.
    Instant since = Instant.now().minusSeconds(1);
    AtomicLong lastSent = new AtomicLong();
    publishing = Executors.newSingleThreadScheduledExecutor();
    publishing.scheduleAtFixedRate(() -> publisher.publish(STREAM, new byte[100]).thenAccept(r -> {
      if (r.status() == PublishResult.Status.SENT) lastSent.accumulateAndGet(r.seq(), Math::max);
    }), 0, 2, TimeUnit.MILLISECONDS);
    Await.until(DEADLINE, () -> lastSent.get() >= 1_000, () -> "1,000 published: " + lastSent.get());

    List<Long> acknowledged = everythingStored(first, since);
    assertThat(acknowledged).as("the storage node answered while ingesting").isNotNull().isNotEmpty();
    Process victim = processes.get(0);
    victim.destroyForcibly(); // SIGKILL, while the publisher goes on
    assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(victim.exitValue()).as("killed by SIGKILL").isEqualTo(137);
    long publishedBeforeRestart = lastSent.get();

    String second = startStorageNode(seed, 2);
    assertThat(second.substring(0, 64)).as("the same key").isEqualTo(first.substring(0, 64));
    long target = publishedBeforeRestart + 1_000;
    Await.until(DEADLINE, () -> lastSent.get() >= target, () -> "1,000 more published: " + lastSent.get());
    publishing.shutdownNow();
    assertThat(publishing.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

    List<Long>[] after = new List[1];
    Await.until(DEADLINE, () -> {
      try {
        after[0] = everythingStored(second, since);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return after[0] != null && !after[0].isEmpty() && after[0].get(after[0].size() - 1) >= lastSent.get();
    }, () -> "the restarted storage node stores again, up to " + lastSent.get() + ": it has " + (after[0] == null ? "nothing"
        : after[0].size() + " up to " + after[0].get(after[0].size() - 1)) + "; last refusal " + lastRefusal
        + "; its log: " + read(dir.resolve("storage-2.log")));
    Set<Long> kept = new HashSet<>(after[0]);
    List<Long> lost = acknowledged.stream().filter(n -> !kept.contains(n)).toList();
    assertThat(lost).as("acknowledged before the kill and gone after it").isEmpty();
    assertThat(after[0]).as("in order, once each").isSorted().doesNotHaveDuplicates();
  }
}
