package dev.overlay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.MessageHandler;
import dev.overlay.NodeIdentity;
import dev.overlay.OverlayNode;
import dev.overlay.StreamMessage;
import dev.overlay.core.Position;
import dev.overlay.core.StartAt;
import dev.overlay.testing.Await;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Subscriptions that start from a position, on real nodes: a subscriber killed and restarted with
 * its key resumes after the last message it processed and gets what was published while it was
 * down from its neighbour's cache, once each; a newcomer asks for the latest messages.
 */
class StartPositionTest {

  private static final String STREAM = "resume";
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  /** A tally that also keeps the position of the message with the highest number it processed. */
  private static final class Keeper implements MessageHandler {
    final Tally tally = new Tally();
    final AtomicReference<Position> last = new AtomicReference<>();
    volatile long lowest = Long.MAX_VALUE;

    @Override
    public void onMessage(StreamMessage m) {
      tally.onMessage(m);
      long n = Tally.number(m.copyPayload());
      if (n < lowest) lowest = n;
      last.accumulateAndGet(m.position(), (a, b) -> a == null || b.seq() > a.seq() ? b : a);
    }
  }

  /** What a node knows of the stream, for a failure's message. */
  private static String describe(String who, OverlayNode n) {
    try {
      var snap = n.snapshot();
      var st = snap.stream(STREAM);
      return String.format("%n  %s %s: active %s, broadcast %s, counters %s", who, n.peerId(), st == null ? "-" : st.active(),
          st == null ? "-" : st.broadcast(), snap.counters());
    } catch (Exception e) {
      return String.format("%n  %s: %s", who, e);
    }
  }

  private static void publish(OverlayNode publisher, long from, long to) throws Exception {
    TestNetwork.publishNumbered(publisher, STREAM, from, to, DEADLINE);
  }

  @Test
  void aSubscriberKilledAndRestartedWithItsKeyResumesAfterItsLastPositionWithNothingLostOrTwice() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode publisher = net.start(null);
      OverlayNode relay = net.start(publisher);
      Keeper relayKeeper = new Keeper();
      relay.subscribe(STREAM, relayKeeper);
      NodeIdentity key = NodeIdentity.generate();
      OverlayNode subscriber = net.start(key, relay, null);
      Keeper before = new Keeper();
      subscriber.subscribe(STREAM, before);
      publisher.join(STREAM);
      assertThat(subscriber.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      assertThat(publisher.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();

      publish(publisher, 1, 101);
      Await.until(DEADLINE, () -> before.tally.hasAll(1, 101), () -> "first 100 at the subscriber: missing " + before.tally.firstMissing(1, 101));
      Position kept = before.last.get();
      assertThat(kept.seq()).isEqualTo(100);

      subscriber.abort(); // as kill -9: no goodbye to anyone
      publish(publisher, 101, 301); // while it is down
      Await.until(DEADLINE, () -> relayKeeper.tally.hasAll(1, 301), () -> "the relay has everything");

      OverlayNode restarted = net.start(key, relay, null);
      Keeper after = new Keeper();
      restarted.subscribe(STREAM, after, null, StartAt.after(kept));
      assertThat(restarted.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      publish(publisher, 301, 401);
      Await.until(DEADLINE, () -> after.tally.hasAll(101, 401),
          () -> "after the restart: missing " + after.tally.missingIn(101, 401) + ", first " + after.tally.firstMissing(101, 401));
      assertThat(after.lowest).as("nothing at or before the kept position").isEqualTo(101);
      assertThat(after.tally.duplicates()).isZero();
      assertThat(after.tally.deliveries()).isEqualTo(300);
    }
  }

  @Test
  void aNewcomerAskingForTheLatestGetsThemThenTheLiveStream() throws Exception {
    try (TestNetwork net = new TestNetwork()) {
      OverlayNode publisher = net.start(null);
      OverlayNode relay = net.start(publisher);
      Keeper relayKeeper = new Keeper();
      relay.subscribe(STREAM, relayKeeper);
      publisher.join(STREAM);
      assertThat(publisher.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      publish(publisher, 1, 201);
      Await.until(DEADLINE, () -> relayKeeper.tally.hasAll(1, 201), () -> "the relay has everything");

      OverlayNode newcomer = net.start(relay);
      Keeper keeper = new Keeper();
      newcomer.subscribe(STREAM, keeper, null, StartAt.latest(50));
      assertThat(newcomer.awaitNeighbors(STREAM, 1, DEADLINE)).isTrue();
      // "Latest 50" counts from the newest the newcomer first hears of: wait for them before
      // publishing more, or a first catch-up sent after 201-205 went out names 205, and 151-155
      // are rightly not asked for. One full build failed with "missing 5" here, without saying
      // which; this ordering gives exactly that, and the messages now say which are missing.
      Await.until(DEADLINE, () -> keeper.tally.hasAll(151, 201), () -> "the latest 50: missing "
          + keeper.tally.missingRuns(151, 201, 10) + describe("newcomer", newcomer) + describe("relay", relay));
      publish(publisher, 201, 251);
      Await.until(DEADLINE, () -> keeper.tally.hasAll(151, 251), () -> "newcomer: missing " + keeper.tally.missingIn(151, 251)
          + " (" + keeper.tally.missingRuns(151, 251, 10) + "), lagged " + keeper.tally.lagged()
          + describe("newcomer", newcomer) + describe("relay", relay) + describe("publisher", publisher));
      assertThat(keeper.lowest).as("no more history than asked for").isEqualTo(151);
      assertThat(keeper.tally.duplicates()).isZero();
      assertThat(keeper.tally.deliveries()).isEqualTo(100);
    }
  }
}
