package dev.overlay.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Candidate;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.testing.Output;
import dev.overlay.core.testing.RecordingOutbox;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The node's shared links: counted by the streams using them, bounded, idle ones closed. */
class LinkTableTest {

  private static final long IDLE = 1_000;
  private final SplittableRandom rng = new SplittableRandom(11);
  private final RecordingOutbox out = new RecordingOutbox();

  private PeerInfo peer() {
    return new PeerInfo(PeerId.random(rng), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "10.0.0.1", 4000)));
  }

  private final LinkTable table = new LinkTable(8, IDLE, out);
  private final PeerInfo a = peer();

  /** Two streams take a link to {@code a}. */
  private void twoUsers() {
    table.acquire(0, a);
    table.acquire(1, a);
  }

  @Test
  void theFirstUserDialsAndLaterUsersShareTheLink() {
    twoUsers();
    assertThat(out.commands()).containsExactly(new Output.Connect(a));
    assertThat(table.size()).isEqualTo(1);
  }

  @Test
  void aLinkIsClosedOnlyOnceNoStreamHasUsedItForTheIdleTimeout() {
    LinkTable t = table;
    twoUsers();
    t.release(10, a.id());
    t.closeIdle(10 + IDLE);
    assertThat(t.size()).as("one stream still uses it").isEqualTo(1);
    t.release(20, a.id());
    t.closeIdle(20 + IDLE - 1);
    assertThat(t.size()).as("not idle long enough").isEqualTo(1);
    t.closeIdle(20 + IDLE);
    assertThat(t.size()).isZero();
    assertThat(out.commands()).endsWith(new Output.Disconnect(a.id()));
  }

  @Test
  void aReleaseTooManyNeverGoesBelowZero() {
    LinkTable t = new LinkTable(8, IDLE, out);
    PeerInfo a = peer();
    t.acquire(0, a);
    t.release(1, a.id());
    t.release(2, a.id()); // a stream's late release, after the count reached zero
    t.acquire(3, a);
    t.closeIdle(3 + IDLE - 1);
    assertThat(t.size()).as("the new user holds it").isEqualTo(1);
  }

  @Test
  void whenFullTheLongestIdleUnusedLinkMakesRoomAndAFullTableOfUsedLinksRefusesWithAnEvent() {
    LinkTable t = new LinkTable(2, IDLE, out);
    PeerInfo a = peer();
    PeerInfo b = peer();
    PeerInfo c = peer();
    PeerInfo d = peer();
    t.acquire(0, a);
    t.acquire(5, b);
    t.release(6, a.id()); // a is unused since 6, b is used
    t.acquire(7, c);
    assertThat(t.peers()).containsExactlyInAnyOrder(b.id(), c.id());
    assertThat(out.commands()).contains(new Output.Disconnect(a.id()));
    out.drain();
    t.acquire(8, d); // b and c are both used: no room
    assertThat(t.peers()).containsExactlyInAnyOrder(b.id(), c.id());
    assertThat(t.refused()).isEqualTo(1);
    assertThat(out.commands()).singleElement().satisfies(o ->
        assertThat(((Output.Emit) o).event()).isInstanceOfSatisfying(OverlayEvent.Dropped.class,
            e -> assertThat(e.reason()).isEqualTo(OverlayEvent.DropReason.CAPACITY)));
  }

  @Test
  void anInboundLinkBeyondTheLimitIsClosedAndReported() {
    LinkTable t = new LinkTable(1, IDLE, out);
    PeerInfo a = peer();
    t.acquire(0, a);
    PeerId stranger = PeerId.random(rng);
    assertThat(t.onConnected(1, stranger)).isFalse();
    assertThat(out.commands()).contains(new Output.Disconnect(stranger));
    assertThat(out.commands()).anySatisfy(o -> assertThat(o).isInstanceOfSatisfying(Output.Emit.class,
        e -> assertThat(e.event()).isInstanceOf(OverlayEvent.PeerRefused.class)));
  }

  @Test
  void aSendToAPeerWithoutALinkIsDroppedWithAReason() {
    LinkTable t = new LinkTable(8, IDLE, out);
    PeerId nobody = PeerId.random(rng);
    t.send(0, nobody, new dev.overlay.protocol.Message.Prune(dev.overlay.core.StreamId.of("s"), nobody));
    assertThat(out.commands()).singleElement().satisfies(o ->
        assertThat(((Output.Emit) o).event()).isInstanceOfSatisfying(OverlayEvent.Dropped.class,
            e -> assertThat(e.reason()).isEqualTo(OverlayEvent.DropReason.NO_LINK)));
  }
}
