package dev.overlay.bench.store;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.report.Json;
import dev.overlay.storage.MessageStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What a storage node's retention pass costs when it keeps many sessions (issue 14): a store of
 * {@code --sessions} publisher sessions, one message each per second for {@code --seconds}
 * seconds, kept for exactly that long; then the pass that runs every 10 s, dropping the ten
 * oldest seconds. Beside it, reading the whole time index once, which is what every pass did
 * before retention looked up each session's kept part by session.
 */
@Command(
    name = "retention",
    mixinStandardHelpOptions = true,
    description = {
      "Times a storage node's retention pass on a store of --sessions sessions, one message each per second",
      "for --seconds, against reading the whole time index once (what each pass read before).",
      "Example: java -jar overlay-bench.jar retention --sessions 1000 --seconds 600 --runs 3 --json out.json"
    })
public final class RetentionCommand implements Callable<Integer> {

  @Option(names = "--sessions", defaultValue = "1000", description = "Publisher sessions kept (default ${DEFAULT-VALUE}).")
  int sessions;

  @Option(names = "--seconds", defaultValue = "600", description = "Seconds kept, one message per session each (default ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--runs", defaultValue = "3", description = "Fresh stores (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--json", description = "Write the results as JSON to this file.")
  Path json;

  private static final long BASE_MILLIS = 1_800_000_000_000L;
  private static final int PASSES = 3;

  @Override
  public Integer call() throws Exception {
    if (sessions <= 0 || seconds <= 10 || runs <= 0) throw new IllegalArgumentException("--sessions, --runs positive; --seconds over 10");
    StreamId stream = StreamId.of("retention");
    SplittableRandom rng = new SplittableRandom(1);
    PeerId[] publishers = new PeerId[sessions];
    for (int i = 0; i < sessions; i++) publishers[i] = PeerId.random(rng);
    byte[] payload = new byte[100];
    List<Double> passes = new ArrayList<>();
    List<Double> scans = new ArrayList<>();
    List<Object> results = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      Path dir = Files.createTempDirectory("overlay-retention-");
      try (MessageStore store = MessageStore.open(dir, new MessageStore.Retention(seconds * 1_000L, Long.MAX_VALUE))) {
        List<Message.Data> batch = new ArrayList<>(sessions);
        for (int s = 0; s < seconds; s++) {
          batch.clear();
          for (int i = 0; i < sessions; i++) batch.add(new Message.Data(stream, publishers[i], 1, s + 1, 0, payload));
          store.append(batch, BASE_MILLIS + s * 1_000L);
        }
        long t0 = System.nanoTime();
        int sessionsSeen = store.since(stream, 0, Integer.MAX_VALUE).size(); // reads every entry of the time index
        double scanMs = (System.nanoTime() - t0) / 1e6;
        List<Double> runPasses = new ArrayList<>();
        int dropped = 0;
        for (int p = 1; p <= PASSES; p++) { // each pass ten seconds later, as StorageService runs it
          long now = BASE_MILLIS + (seconds - 1 + 10L * p) * 1_000L;
          long p0 = System.nanoTime();
          dropped += store.enforceRetention(now);
          runPasses.add((System.nanoTime() - p0) / 1e6);
        }
        runPasses.sort(Comparator.naturalOrder());
        double pass = runPasses.get(runPasses.size() / 2);
        passes.add(pass);
        scans.add(scanMs);
        System.out.printf(Locale.ROOT, "run %d: %,d time-index entries; reading them all %.1f ms (%d sessions); a pass dropping 10 s"
            + " (%,d entries) %.1f ms (median of %d), %,d entries dropped in all%n", run, (long) sessions * seconds, scanMs,
            sessionsSeen, 10L * sessions, pass, PASSES, dropped);
        results.add(Json.object().put("run", run).put("index_entries", (long) sessions * seconds).put("full_read_ms", scanMs)
            .put("pass_ms", pass).put("dropped", dropped));
      } finally {
        try (Stream<Path> files = Files.walk(dir)) {
          for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
        }
      }
    }
    passes.sort(Comparator.naturalOrder());
    scans.sort(Comparator.naturalOrder());
    System.out.printf(Locale.ROOT, "retention pass: median %.1f ms [%.1f - %.1f]; reading the whole time index: median %.1f ms [%.1f - %.1f]%n",
        passes.get(passes.size() / 2), passes.get(0), passes.get(passes.size() - 1), scans.get(scans.size() / 2), scans.get(0),
        scans.get(scans.size() - 1));
    if (json != null) {
      Files.writeString(json, Json.object().put("sessions", sessions).put("seconds", seconds).put("runs", results)
          .put("pass_ms_median", passes.get(passes.size() / 2)).put("pass_ms_min", passes.get(0)).put("pass_ms_max", passes.get(passes.size() - 1))
          .put("full_read_ms_median", scans.get(scans.size() / 2)).put("full_read_ms_min", scans.get(0))
          .put("full_read_ms_max", scans.get(scans.size() - 1)).toString());
    }
    return 0;
  }
}
