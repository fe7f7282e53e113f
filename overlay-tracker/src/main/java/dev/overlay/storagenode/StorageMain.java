package dev.overlay.storagenode;

import dev.overlay.NodeIdentity;
import dev.overlay.OverlayListener;
import dev.overlay.OverlayNode;
import dev.overlay.TransportEvent;
import dev.overlay.core.Candidate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar overlay-tracker.jar storage --streams a,b --data-dir DIR}: a storage node. It
 * is a node like any other (it joins the streams, through trackers or seeds), which keeps every
 * message it delivers in RocksDB and answers resend requests (docs/operations.md, "Storage
 * nodes"). Every flag has an environment variable; a flag on the command line wins. Stops cleanly
 * on SIGTERM: writes already handed to the store finish, then the store closes.
 */
@Command(
    name = "storage",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Runs a storage node: joins --streams, keeps every message it delivers (with its publisher's seal) in",
      "RocksDB under --data-dir, and answers other nodes' requests for history. Subscribers name it with",
      "OverlayNode.Builder.storageNodes(\"<id>@host:port\"), as printed at start.",
      "Every option can also be set through the environment variable shown in brackets."
    })
public final class StorageMain implements Callable<Integer> {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(StorageMain.class);

  @Option(names = "--streams", required = true, split = ",", defaultValue = "${env:OVERLAY_STORAGE_STREAMS}",
      description = "Streams kept, comma-separated [OVERLAY_STORAGE_STREAMS].")
  List<String> streams;

  @Option(names = "--data-dir", defaultValue = "${env:OVERLAY_STORAGE_DATA_DIR:-overlay-storage}",
      description = "Where the store lives (created if missing; one process at a time) [OVERLAY_STORAGE_DATA_DIR] (default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--port", defaultValue = "${env:OVERLAY_STORAGE_PORT:-30310}",
      description = "Port for nodes (TLS) [OVERLAY_STORAGE_PORT] (default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "${env:OVERLAY_STORAGE_HOST:-0.0.0.0}",
      description = "Address to listen on [OVERLAY_STORAGE_HOST] (default ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--advertise", defaultValue = "${env:OVERLAY_STORAGE_ADVERTISE}",
      description = "Address other nodes dial [OVERLAY_STORAGE_ADVERTISE] (default: the listen address; on a wildcard, the host's addresses).")
  String advertise;

  @Option(names = "--trackers", split = ",", defaultValue = "${env:OVERLAY_STORAGE_TRACKERS}",
      description = "Trackers, host:port or <id>@host:port, comma-separated [OVERLAY_STORAGE_TRACKERS].")
  List<String> trackers;

  @Option(names = "--seeds", split = ",", defaultValue = "${env:OVERLAY_STORAGE_SEEDS}",
      description = "Seeds when there is no tracker, comma-separated [OVERLAY_STORAGE_SEEDS].")
  List<String> seeds;

  @Option(names = "--identity", defaultValue = "${env:OVERLAY_STORAGE_IDENTITY:-overlay-storage.key}",
      description = "Key file, loaded or created, so that subscribers can pin this node [OVERLAY_STORAGE_IDENTITY] (default ${DEFAULT-VALUE}).")
  Path identityFile;

  @Option(names = "--retention-age", defaultValue = "${env:OVERLAY_STORAGE_RETENTION_AGE:-P7D}",
      description = "Oldest history kept, ISO-8601 (P7D, PT12H) [OVERLAY_STORAGE_RETENTION_AGE] (default ${DEFAULT-VALUE}).")
  Duration retentionAge;

  @Option(names = "--retention-bytes", defaultValue = "${env:OVERLAY_STORAGE_RETENTION_BYTES:-10737418240}",
      description = "Most bytes the store may take [OVERLAY_STORAGE_RETENTION_BYTES] (default ${DEFAULT-VALUE}, 10 GiB).")
  long retentionBytes;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (retentionAge.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new ParameterException(spec.commandLine(), "--retention-age must be at least 1 s, got " + retentionAge);
    }
    if (retentionBytes < (1 << 20)) {
      throw new ParameterException(spec.commandLine(), "--retention-bytes must be at least 1 MiB (1048576), got " + retentionBytes);
    }
    if ((trackers == null || trackers.isEmpty()) && (seeds == null || seeds.isEmpty())) {
      System.err.println("overlay storage: no --trackers and no --seeds: this node will store only what nodes that dial it send");
    }
    NodeIdentity identity = NodeIdentity.loadOrCreate(identityFile);
    OverlayNode.Builder b = OverlayNode.builder().identity(identity).listen(host, port)
        .storage(dataDir, streams.toArray(String[]::new)).storageRetention(retentionAge, retentionBytes);
    b.listener(new OverlayListener() {
      @Override
      public void onTransportEvent(TransportEvent e) {
        if (e instanceof TransportEvent.HistoryNotStored h) {
          log.warn("{} messages of {} were not stored: {}", h.messages(), h.stream(), h.reason());
        }
      }
    });
    if (advertise != null) b.advertise(advertise);
    if (trackers != null && !trackers.isEmpty()) b.trackers(trackers.toArray(String[]::new));
    if (seeds != null && !seeds.isEmpty()) b.seeds(seeds.toArray(String[]::new));
    OverlayNode node = b.build().start();
    Candidate at = node.info().candidates().get(0);
    System.out.println("overlay storage node " + identity.peerId().toHex() + "@" + at.host() + ":" + at.port()
        + " keeping " + String.join(",", streams) + " in " + dataDir.toAbsolutePath()
        + (node.info().candidates().size() > 1 ? " (it advertises " + node.info().candidates() + "; --advertise names one)" : ""));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } finally {
        stopped.countDown();
      }
    }, "overlay-storage-shutdown"));
    stopped.await();
    return 0;
  }
}
