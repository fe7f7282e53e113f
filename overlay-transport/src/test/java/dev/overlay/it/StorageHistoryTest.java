package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.MessageHandler;
import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.StreamMessage;
import dev.overlay.TransportEvent;
import dev.overlay.core.Position;
import dev.overlay.core.StartAt;
import dev.overlay.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A storage node on real links: it keeps what it delivers, and a node that is in no overlay at
 * all (no seeds, so no neighbour's cache can answer) gets the history its start names from it
 * alone, authenticated, once each.
 */
class StorageHistoryTest {

  private static final String STREAM = "kept";
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private static final class Keeper implements MessageHandler {
    final Tally tally = new Tally();
    final AtomicReference<StreamMessage> first = new AtomicReference<>();
    volatile long lowest = Long.MAX_VALUE;

    @Override
    public void onMessage(StreamMessage m) {
      tally.onMessage(m);
      first.compareAndSet(null, m);
      lowest = Math.min(lowest, Tally.number(m.copyPayload()));
    }
  }

  private static void publish(OverlayNode publisher, long from, long to) throws Exception {
    TestNetwork.publishNumbered(publisher, STREAM, from, to, DEADLINE);
  }

  /** A publisher, and a storage node keeping its stream; {@code since} is a time before the first message. */
  private record Kept(OverlayNode publisher, OverlayNode storage, long session, Instant since) {}

  /** Starts both, and publishes numbers 1 up to {@code to} (exclusive) until the storage node has them all. */
  private Kept keep(TestNetwork net, long to) throws Exception {
    OverlayNode publisher = net.start(null);
    OverlayNode storage = net.start(NodeIdentity.generate(), publisher, null, b -> b.storage(dir.resolve("store"), STREAM));
    Keeper atStorage = new Keeper();
    storage.subscribe(STREAM, atStorage);
    publisher.join(STREAM);
    assertThat(publisher.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
    Instant since = Instant.now().minusSeconds(1);
    publish(publisher, 1, to);
    Await.until(DEADLINE, () -> atStorage.tally.hasAll(1, to), () -> "the storage node has everything");
    return new Kept(publisher, storage, atStorage.first.get().session(), since);
  }

  @Test
  void aNodeInNoOverlayGetsTheHistoryItsStartNamesFromAStorageNode() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      Kept kept = keep(net, 301);
      OverlayNode publisher = kept.publisher();
      OverlayNode storage = kept.storage();
      Instant before = kept.since();
      long session = kept.session();

      TestNetwork.Events events = new TestNetwork.Events();
      OverlayNode byTime = net.start(NodeIdentity.generate(), null, events, b -> b.storageNode(storage.info()));
      Keeper sinceKeeper = new Keeper();
      byTime.subscribe(STREAM, sinceKeeper, null, StartAt.since(before));
      Await.until(DEADLINE, () -> sinceKeeper.tally.hasAll(1, 301), () -> "by time: missing " + sinceKeeper.tally.missingIn(1, 301)
          + "; events " + events.all);
      assertThat(sinceKeeper.tally.duplicates()).isZero();
      Await.until(DEADLINE, () -> !events.of(TransportEvent.HistoryReceived.class).isEmpty(), () -> "the end is reported: " + events.all);
      assertThat(events.of(TransportEvent.HistoryReceived.class).get(0).messages()).isEqualTo(300);

      OverlayNode byPosition = net.start(NodeIdentity.generate(), null, null, b -> b.storageNode(storage.info()));
      Keeper afterKeeper = new Keeper();
      byPosition.subscribe(STREAM, afterKeeper, null, StartAt.after(new Position(publisher.peerId(), session, 200)));
      Await.until(DEADLINE, () -> afterKeeper.tally.hasAll(201, 301), () -> "by position: missing " + afterKeeper.tally.missingIn(201, 301));
      assertThat(afterKeeper.lowest).isEqualTo(201);
      assertThat(afterKeeper.tally.deliveries()).isEqualTo(100);
    }
  }

  /**
   * History and live together, in order: a node that resumes from the start of a session while
   * the publisher goes on publishing gets the history from a storage node and its neighbours'
   * caches and the live messages from the tree, all at once, and its handler sees every number
   * once, ascending.
   */
  @Test
  void historyThenLiveReachTheHandlerInOrder() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      Kept kept = keep(net, 1001);
      OverlayNode publisher = kept.publisher();
      OverlayNode storage = kept.storage();
      long session = kept.session();

      java.util.List<Long> seqs = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      OverlayNode resumer = net.start(NodeIdentity.generate(), publisher, null, b -> b.storageNode(storage.info()));
      resumer.subscribe(STREAM, m -> seqs.add(m.position().seq()), null, StartAt.after(new Position(publisher.peerId(), session, 0)));
      publish(publisher, 1001, 2001); // live while the history is on its way
      Await.until(DEADLINE, () -> seqs.size() >= 2000, () -> "delivered " + seqs.size());
      synchronized (seqs) {
        assertThat(seqs).as("every number once, ascending").hasSize(2000).isSorted().doesNotHaveDuplicates();
        assertThat(seqs.get(0)).isEqualTo(1);
        assertThat(seqs.get(1999)).isEqualTo(2000);
      }
    }
  }

  /**
   * {@code since} in a stream the node already hears live (a second subscription, from a time):
   * the stored part comes first, then live, ascending; what the node delivered before the start
   * is not delivered again and is not waited for. Without the wait for the storage node's answer
   * the live messages went first and the stored ones after them, late.
   */
  @Test
  void sinceGivenWhileLiveDeliversTheStoredPartBeforeTheLiveOne() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      Kept kept = keep(net, 201);
      OverlayNode publisher = kept.publisher();
      OverlayNode listener = net.start(NodeIdentity.generate(), publisher, null, b -> b.storageNode(kept.storage().info()));
      Keeper live = new Keeper();
      listener.subscribe(STREAM, live);
      assertThat(listener.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      publish(publisher, 201, 301);
      // A plain subscription follows the publisher from the first message of it that it gets
      // (docs/architecture.md, known limits): if 202 overtook 201, 201 was never delivered live
      // (a fresh-clone CI run of 2026-12-02), and the start below must deliver it from storage.
      Await.until(DEADLINE, () -> live.lowest <= 300 && live.tally.hasAll(live.lowest, 301),
          () -> "live: from " + live.lowest + ", missing " + live.tally.missingIn(Math.min(live.lowest, 301), 301));
      long firstLive = live.lowest;

      java.util.List<Long> seqs = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      listener.subscribe(STREAM, m -> seqs.add(m.position().seq()), null, StartAt.since(kept.since()));
      publish(publisher, 301, 401); // live while the stored part is on its way
      Await.until(DEADLINE, () -> seqs.size() >= firstLive + 99, () -> "delivered " + seqs.size());
      synchronized (seqs) {
        assertThat(seqs).as("stored 1.." + (firstLive - 1) + ", then live 301..400; " + firstLive + "..300 were delivered before the start")
            .hasSize((int) firstLive + 99).isSorted().doesNotHaveDuplicates().startsWith(1L).endsWith(400L)
            .doesNotContain(firstLive, 300L);
      }
    }
  }

  /**
   * A publisher restarted while the subscriber was away: resuming from its position in the old
   * session, the subscriber hears the new session live, and the new session's start, gone from
   * every cache (16 messages kept here), comes from the storage node. Without asking the storage
   * node for the later session, messages 1..~180 of it were lost (GapUnrecoverable).
   */
  @Test
  void theStartOfAPublishersLaterSessionComesFromTheStorageNodeWhenTheCachesHaveLostIt() throws Exception {
    dev.overlay.config.NodeConfig smallCaches = dev.overlay.config.NodeConfig.builder()
        .broadcast(dev.overlay.config.PlumtreeConfig.builder().messageCacheCapacity(16).build()).build();
    try (TestNetwork net = new TestNetwork()) {
      NodeIdentity publisherKey = NodeIdentity.generate();
      OverlayNode first = net.start(publisherKey, null, null, b -> b.config(smallCaches));
      OverlayNode storage = net.start(NodeIdentity.generate(), first, null, b -> b.storage(dir.resolve("store"), STREAM).config(smallCaches));
      Keeper atStorage = new Keeper();
      storage.subscribe(STREAM, atStorage);
      first.join(STREAM);
      assertThat(first.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      publish(first, 1, 51);
      Await.until(DEADLINE, () -> atStorage.tally.hasAll(1, 51), () -> "stored " + atStorage.tally.missingIn(1, 51));
      long oldSession = atStorage.first.get().session();
      first.close();

      OverlayNode again = net.start(publisherKey, storage, null, b -> b.config(smallCaches)); // a new session
      again.join(STREAM);
      assertThat(again.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      publish(again, 1, 201);
      Await.until(DEADLINE, () -> counters(storage).get("history_stored") >= 250, () -> "stored " + counters(storage));

      java.util.List<StreamMessage> got = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      OverlayNode resumer = net.start(NodeIdentity.generate(), again, null, b -> b.storageNode(storage.info()));
      resumer.subscribe(STREAM, got::add, null, StartAt.after(new Position(publisherKey.peerId(), oldSession, 50)));
      assertThat(resumer.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      publish(again, 201, 221); // heard live: the new session, past its first message
      Await.until(DEADLINE, () -> got.size() >= 220, () -> "delivered " + got.size());
      synchronized (got) {
        assertThat(got).allSatisfy(m -> assertThat(m.session()).isNotEqualTo(oldSession));
        assertThat(got.stream().map(m -> m.position().seq()).toList()).as("the new session, whole, in order")
            .hasSize(220).isSorted().doesNotHaveDuplicates().startsWith(1L).endsWith(220L);
      }
    }
  }

  /** A node that keeps history of a stream it publishes on keeps its own messages too (a gateway's own readings). */
  @Test
  void aStorageNodeKeepsWhatItPublishesItself() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode gateway = net.start(NodeIdentity.generate(), null, null, b -> b.storage(dir.resolve("store"), STREAM));
      Instant before = Instant.now().minusSeconds(1);
      publish(gateway, 1, 101); // alone: no neighbour, kept all the same
      Await.until(DEADLINE, () -> counters(gateway).get("history_stored") == 100, () -> "stored " + counters(gateway));
      java.util.List<Long> seqs = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      OverlayNode asker = net.start(NodeIdentity.generate(), null, null, b -> b.storageNode(gateway.info()));
      asker.subscribe(STREAM, m -> seqs.add(m.position().seq()), null, StartAt.since(before));
      Await.until(DEADLINE, () -> seqs.size() >= 100, () -> "delivered " + seqs.size());
      synchronized (seqs) {
        assertThat(seqs).hasSize(100).isSorted().doesNotHaveDuplicates().startsWith(1L).endsWith(100L);
      }
    }
  }

  /**
   * Reconciliation, per publisher: what each published, what the storage node stored, and what a
   * node asking it for everything delivered, count alike: nothing missing, nothing extra.
   */
  @Test
  void publishedStoredAndDeliveredReconcilePerPublisher() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode first = net.start(null);
      OverlayNode second = net.start(first);
      OverlayNode storage = net.start(NodeIdentity.generate(), first, null, b -> b.storage(dir.resolve("store"), STREAM));
      first.join(STREAM);
      second.join(STREAM);
      assertThat(storage.awaitNeighbors(STREAM, 2, DEADLINE)).as("the storage node hears both publishers directly").isTrue();
      assertThat(first.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      assertThat(second.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      Instant before = Instant.now().minusSeconds(1);
      publish(first, 1, 201);
      publish(second, 1, 151);
      Await.until(DEADLINE, () -> counters(storage).get("history_stored") == 350,
          () -> "stored " + counters(storage));

      java.util.Map<dev.overlay.core.PeerId, Tally> byPublisher = new java.util.concurrent.ConcurrentHashMap<>();
      OverlayNode asker = net.start(NodeIdentity.generate(), null, null, b -> b.storageNode(storage.info()));
      asker.subscribe(STREAM, m -> byPublisher.computeIfAbsent(m.publisher(), p -> new Tally()).onMessage(m), null, StartAt.since(before));
      Await.until(DEADLINE, () -> byPublisher.size() == 2 && byPublisher.get(first.peerId()) != null && byPublisher.get(second.peerId()) != null
          && byPublisher.get(first.peerId()).hasAll(1, 201) && byPublisher.get(second.peerId()).hasAll(1, 151), () -> "delivered " + byPublisher);
      assertThat(byPublisher.get(first.peerId()).deliveries()).isEqualTo(200);
      assertThat(byPublisher.get(second.peerId()).deliveries()).isEqualTo(150);
      assertThat(byPublisher.values()).allSatisfy(t -> assertThat(t.duplicates()).isZero());
      assertThat(counters(storage).get("history_not_stored")).isZero();
      Await.until(DEADLINE, () -> counters(asker).get("history_received") == 350, () -> "received " + counters(asker));
      assertThat(counters(asker).get("history_violations")).isZero();
    }
  }

  private static java.util.Map<String, Long> counters(OverlayNode n) {
    try {
      return n.snapshot().counters();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void withoutAStorageNodeThatKeepsTheStreamTheLossIsReported() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode plain = net.start(null); // keeps nothing
      TestNetwork.Events events = new TestNetwork.Events();
      OverlayNode asker = net.start(NodeIdentity.generate(), null, events, b -> b.storageNode(plain.info()));
      asker.subscribe(STREAM, new Keeper(), null, StartAt.since(Instant.now().minusSeconds(60)));
      Await.until(DEADLINE, () -> !events.of(TransportEvent.HistoryUnavailable.class).isEmpty(), () -> "reported: " + events.all);
      assertThat(events.of(TransportEvent.HistoryUnavailable.class).get(0).what()).contains("NOT_STORED");
    }
  }
}
