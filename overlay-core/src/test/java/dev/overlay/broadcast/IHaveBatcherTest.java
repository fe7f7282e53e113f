package dev.overlay.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.PlumtreeConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.RecordingOutbox;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Message.Announcement;
import dev.overlay.protocol.Timer;
import dev.overlay.util.PeerSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Lazy push: announcements queued, folded into ranges, sent per lazy peer at the flush. Exact outboxes. */
class IHaveBatcherTest {

  private static final StreamId STREAM = StreamId.of("s");
  private final SplittableRandom rng = new SplittableRandom(2);
  private final PeerId p = PeerId.random(rng); // the publisher
  private final PeerId a = PeerId.random(rng);
  private final PeerId b = PeerId.random(rng);
  private final RecordingOutbox out = new RecordingOutbox();
  private final Map<PeerId, PeerSet> lazy = new HashMap<>();
  private final PlumtreeConfig config = PlumtreeConfig.defaults();
  private final IHaveBatcher batcher = new IHaveBatcher(STREAM, config, out, lazy::get);

  private void lazyPeers(PeerId... peers) {
    PeerSet set = new PeerSet(4);
    for (PeerId q : peers) set.add(q);
    lazy.put(p, set);
  }

  @Test
  void theFirstAnnouncementArmsTheTimerOnceAndTheFlushFoldsConsecutiveNumbersIntoOneRange() {
    lazyPeers(a, b);
    batcher.announce(p, 1, 5, 1, null);
    batcher.announce(p, 1, 6, 2, null);
    batcher.announce(p, 1, 7, 1, null);
    assertThat(out.drain()).containsExactly(new Output.Schedule(new Timer.LazyFlush(STREAM), config.lazyFlushIntervalNanos()));
    batcher.onTimer();
    Message.IHave range = new Message.IHave(STREAM, List.of(new Announcement(p, 1, 5, 3, 2)), false);
    assertThat(out.drain()).containsExactly(new Output.Send(a, range), new Output.Send(b, range));
    assertThat(batcher.sent()).isEqualTo(2);
    assertThat(batcher.pending()).isZero();
  }

  @Test
  void theSenderIsNotToldOfWhatItSentAndAGapStartsANewRange() {
    lazyPeers(a, b);
    batcher.announce(p, 1, 1, 1, a);
    batcher.announce(p, 1, 3, 1, a);
    out.drain();
    batcher.onTimer();
    assertThat(out.drain()).containsExactly(new Output.Send(b,
        new Message.IHave(STREAM, List.of(new Announcement(p, 1, 1, 1, 1), new Announcement(p, 1, 3, 1, 1)), false)));
  }

  @Test
  void whoIsLazyIsAskedAtTheFlushAndAnEvictedTreeAnnouncesNothing() {
    lazyPeers(a);
    batcher.announce(p, 1, 1, 1, null);
    out.drain();
    lazyPeers(b); // a grafted meanwhile (it gets the tree's copy), b pruned
    batcher.flush();
    assertThat(out.drain()).containsExactly(new Output.Send(b, new Message.IHave(STREAM, List.of(new Announcement(p, 1, 1, 1, 1)), false)));
    batcher.announce(p, 1, 2, 1, null);
    lazy.remove(p); // the publisher's tree was evicted: every link is eager again
    batcher.flush();
    assertThat(out.commands(Output.Send.class)).isEmpty();
  }

  @Test
  void aFullQueueIsSentAtOnceRatherThanDropped() {
    PlumtreeConfig small = PlumtreeConfig.builder().maxPendingAnnouncements(2).build();
    IHaveBatcher tiny = new IHaveBatcher(STREAM, small, out, lazy::get);
    lazyPeers(a);
    tiny.announce(p, 1, 1, 1, null);
    tiny.announce(p, 1, 3, 1, null);
    tiny.announce(p, 1, 5, 1, null);
    assertThat(out.commands(Output.Send.class)).as("sent before the timer").isNotEmpty();
    tiny.onTimer();
    long announced = out.commands(Output.Send.class).stream()
        .flatMap(s -> ((Message.IHave) s.message()).announcements().stream()).mapToLong(Announcement::count).sum();
    assertThat(announced).as("nothing dropped").isEqualTo(3);
  }
}
