package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.TransportEvent;
import dev.overlay.config.TransportConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.proto.Frame;
import dev.overlay.wire.proto.Hello;
import dev.overlay.wire.proto.Ping;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The link handshake and frame handling, over real TLS between embedded channels. */
class LinkHandlerTest {

  private static final StreamId STREAM = StreamId.of("links");
  @RegisterExtension final EmbeddedLinks net = new EmbeddedLinks(); // closed after each test

  private static ByteBuf frame(Message m) {
    ByteBuf b = Unpooled.buffer();
    WireFrames.encodeInto(b, m);
    return b;
  }

  /** Writes raw bytes into the dialler's side of the connection, under TLS, as a broken peer would. */
  private static void sendRaw(EmbeddedLinks.Connection c, byte[] bytes) {
    c.dialer.writeAndFlush(Unpooled.wrappedBuffer(bytes));
  }

  @Test
  void bothEndsProveWhoTheyAreAndExchangeFrames() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    assertThat(a.log).containsExactly("up " + b.id());
    assertThat(b.log).containsExactly("up " + a.id());
    assertThat(c.dialerLink.ready()).isTrue();

    Message.Data d = new Message.Data(STREAM, a.id(), 1, 1, 0, new byte[] {1, 2, 3});
    ByteBuf f = frame(d);
    a.manager.send(b.id(), f, false);
    f.release();
    net.pump();
    assertThat(b.received).containsExactly(d);
  }

  @Test
  void aPeerWithAnotherIdentityIsRefused() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    PeerId someoneElse = PeerId.random(new Random(1));
    EmbeddedLinks.Connection c = net.connect(a, b, someoneElse);
    net.pump();
    assertThat(c.dialer.isActive()).isFalse();
    assertThat(c.dialerLink.closeReason()).startsWith("peer identity mismatch")
        .contains(someoneElse.toHex()).contains(b.id().toHex());
    assertThat(a.events).anyMatch(e -> e instanceof TransportEvent.ConnectionRejected r && r.reason().startsWith("peer identity mismatch"));
    assertThat(a.log).isEmpty();
  }

  @Test
  void aMalformedFrameClosesThatConnectionWithItsReason() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    sendRaw(c, new byte[] {3, 1 << 3 | 2, 100, 0}); // a Data frame whose length runs past the frame
    net.pump();
    assertThat(c.acceptor.isActive()).isFalse();
    assertThat(c.acceptorLink.closeReason()).startsWith("malformed frame");
    assertThat(b.manager.counters().framesRejected()).isEqualTo(1);
    assertThat(b.log).containsExactly("up " + a.id(), "down " + a.id() + ": " + c.acceptorLink.closeReason());
  }

  @Test
  void anOversizedFrameIsRefusedFromItsLengthAlone() throws Exception {
    EmbeddedLinks.Node a = net.node();
    int limit = WireCodec.MIN_FRAME_LIMIT;
    EmbeddedLinks.Node b = net.node(TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).maxFrameBytes(limit).build());
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    sendRaw(c, new byte[] {(byte) 0x81, (byte) 0x80, 0x10}); // a length of 262,145, and nothing after it
    net.pump();
    assertThat(c.acceptor.isActive()).isFalse();
    assertThat(c.acceptorLink.closeReason()).startsWith("bad frame").contains("262145").contains(String.valueOf(limit));
    assertThat(c.acceptorLink.closeKind()).isEqualTo(CloseReason.MALFORMED_FRAME);
  }

  @Test
  void garbageBeforeHelloIsAProtocolError() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    a.manager.hello(Frame.newBuilder().setPing(Ping.newBuilder().setNonce(1)).build()); // not a HELLO
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    assertThat(c.acceptorLink.closeReason()).contains("expected HELLO first");
    assertThat(b.log).isEmpty();
  }

  @Test
  void noCommonVersionIsRefusedWithBothRanges() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    Hello h = a.manager.hello().getHello().toBuilder()
        .setMinProtocolVersion(WireCodec.PROTOCOL_VERSION + 1).setProtocolVersion(WireCodec.PROTOCOL_VERSION + 2).build();
    a.manager.hello(Frame.newBuilder().setHello(h).build());
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    assertThat(c.acceptorLink.closeReason()).startsWith("no common protocol version")
        .contains((WireCodec.PROTOCOL_VERSION + 1) + ".." + (WireCodec.PROTOCOL_VERSION + 2));
  }

  @Test
  void aHelloThatNamesSomeoneElseIsRefused() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Node c3 = net.node();
    a.manager.hello(c3.manager.hello()); // claims to be c3, but TLS proves a
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    assertThat(c.acceptorLink.closeReason()).startsWith("HELLO names");
  }

  @Test
  void aNewPeerBeyondTheLinkLimitIsRefusedAndTheTableStaysAtItsCap() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node(TransportConfig.builder().maxLinks(1).build());
    EmbeddedLinks.Node c = net.node();
    net.connect(a, b, b.id());
    net.pump();
    EmbeddedLinks.Connection refused = net.connect(c, b, b.id());
    net.pump();
    assertThat(refused.acceptor.isActive()).isFalse();
    assertThat(refused.acceptorLink.closeReason()).isEqualTo("link limit reached (1 links)");
    assertThat(b.log).containsExactly("up " + a.id());
    assertThat(b.events).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(TransportEvent.ConnectionRejected.class,
        r -> assertThat(r.reason()).isEqualTo("link limit reached (1 links)")));
    assertThat(b.manager.counters().byName()).containsEntry("links", 1L).containsEntry("links_refused", 1L);
  }

  @Test
  void aSilentHandshakeTimesOut() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id()); // never pumped: nothing reaches b
    c.dialer.advanceTimeBy(a.manager.config().handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
    c.dialer.runScheduledPendingTasks();
    assertThat(c.dialer.isActive()).isFalse();
    assertThat(c.dialerLink.closeReason()).startsWith("handshake timed out");
  }

  @Test
  void aQuietLinkPingsAndThePeerAnswers() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    c.acceptorFrames.clear();
    c.dialerFrames.clear();
    for (int period = 0; period < 2; period++) { // the handshake's own flushes count for the first period
      c.dialer.advanceTimeBy(a.manager.config().keepAliveIntervalNanos(), TimeUnit.NANOSECONDS);
      c.dialer.runScheduledPendingTasks();
    }
    net.pump();
    assertThat(c.acceptorFrames).containsExactly(Frame.PING_FIELD_NUMBER);
    assertThat(c.dialerFrames).containsExactly(Frame.PONG_FIELD_NUMBER);
  }

  @Test
  void ourPingsTimeTheLinkAtOnceAndWhenQuietAndAPongNobodyAskedForTimesNothing() throws Exception {
    java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong(5_000_000_000L);
    TransportConfig config = TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).build();
    EmbeddedLinks.Node a = net.node(config, clock::get);
    EmbeddedLinks.Node b = net.node(config, clock::get);
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    assertThat(a.roundTrips).as("timed as the link came up").containsExactly(b.id() + " 0");
    assertThat(b.roundTrips).containsExactly(a.id() + " 0");

    a.roundTrips.clear();
    b.roundTrips.clear();
    for (int period = 0; period < 2; period++) { // the dialler's keep-alive PING goes out unanswered yet
      c.dialer.advanceTimeBy(a.manager.config().keepAliveIntervalNanos(), TimeUnit.NANOSECONDS);
      c.dialer.runScheduledPendingTasks();
    }
    clock.addAndGet(42_000_000);
    net.pump();
    assertThat(a.roundTrips).containsExactly(b.id() + " 42000000");
    assertThat(b.roundTrips).as("answering times nothing").isEmpty();

    // A PONG to no PING of ours (a peer making itself look near): not a sample.
    b.manager.sendKeepAlive(c.acceptorLink,
        Frame.newBuilder().setPong(dev.overlay.wire.proto.Pong.newBuilder().setNonce(12345)).build());
    net.pump();
    assertThat(a.roundTrips).hasSize(1);
    assertThat(c.dialer.isActive()).isTrue();
  }

  @Test
  void aLinkThatHearsNothingIsClosedAsHalfOpen() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    long step = a.manager.config().keepAliveIntervalNanos();
    for (long t = 0; t <= a.manager.config().idleTimeoutNanos(); t += step) { // b's replies are never delivered
      c.dialer.advanceTimeBy(step, TimeUnit.NANOSECONDS);
      c.dialer.runScheduledPendingTasks();
      c.dialer.runPendingTasks();
      a.loop.runPendingTasks();
    }
    assertThat(c.dialer.isActive()).isFalse();
    assertThat(c.dialerLink.closeReason()).startsWith("keep-alive timeout");
  }

  @Test
  void aSimultaneousDialKeepsTheConnectionDialledByTheSmallerIdAtBothEnds() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection ab = net.connect(a, b, b.id());
    EmbeddedLinks.Connection ba = net.connect(b, a, a.id());
    net.pump();
    EmbeddedLinks.Connection kept = a.id().compareTo(b.id()) < 0 ? ab : ba;
    EmbeddedLinks.Connection closed = kept == ab ? ba : ab;
    // An end that had linked over the other connection first keeps it open while the peer may
    // still use it (make before break), for the handshake timeout.
    for (EmbeddedLinks.Node n : net.nodes) n.loop.advanceTimeBy(a.manager.config().handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
    for (EmbeddedLinks.Node n : net.nodes) n.loop.runScheduledPendingTasks();
    net.pump();
    assertThat(kept.dialer.isActive() && kept.acceptor.isActive()).isTrue();
    assertThat(closed.dialer.isActive() || closed.acceptor.isActive()).isFalse();
    assertThat(closed.dialerLink.closeReason() + " / " + closed.acceptorLink.closeReason()).contains("superseded");
    assertThat(a.log).containsExactly("up " + b.id()); // one link up, never down
    assertThat(b.log).containsExactly("up " + a.id());

    Message.Data d = new Message.Data(STREAM, a.id(), 1, 1, 0, new byte[] {9});
    ByteBuf f = frame(d);
    a.manager.send(b.id(), f, false);
    f.release();
    net.pump();
    assertThat(b.received).containsExactly(d);
  }

  // ---- Hostile peers: bounded writes, handshakes, frame limits (issue 9, section 3) -------------

  @Test
  void pingsFromAPeerThatNeverReadsDoNotGrowOurOutboundBuffer() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    c.dialerFrames.clear();
    // b's channel stops being writable, as it would once a peer stops reading and its socket fills.
    c.acceptor.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
    for (int i = 0; i < 1000; i++) {
      ByteBuf ping = Unpooled.buffer();
      WireFrames.encodeInto(ping, Frame.newBuilder().setPing(Ping.newBuilder().setNonce(i)).build());
      c.dialer.writeAndFlush(ping);
    }
    net.pump();
    assertThat(c.dialerFrames).doesNotContain(Frame.PONG_FIELD_NUMBER);
    assertThat(b.manager.counters().byName()).containsEntry("keepalives_dropped", 1000L);
    assertThat(c.acceptor.isActive()).isTrue();
  }

  /** As when the socket fills or drains; Netty reports the change in a later task. */
  /** The slow-peer tests' node config: every write flushed at once, so writability follows each write. */
  private static final TransportConfig UNCOALESCED = TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).build();

  private static void writable(io.netty.channel.embedded.EmbeddedChannel ch, boolean writable) {
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, writable);
    ch.runPendingTasks();
  }

  @Test
  void aPeerThatStopsReadingIsDemotedAtMaxPauseAndClosedAfterSlowPeerTimeout() throws Exception {
    long[] now = {0};
    TransportConfig config = UNCOALESCED;
    EmbeddedLinks.Node a = net.node(config, () -> now[0]);
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    // b stops reading: a's socket towards it fills, and a's channel stops being writable.
    writable(c.dialer, false);
    assertThat(a.manager.congested()).as("publishes refused while the backlog is fresh").isTrue();
    assertThat(a.log).contains("saturated");
    assertThat(c.dialer.config().isAutoRead()).as("still reading the peer it is congested towards").isTrue();

    now[0] += config.maxPauseNanos() - 1;
    a.manager.checkSlowPeers();
    assertThat(a.manager.congested()).isTrue();
    assertThat(a.log).doesNotContain("slow " + b.id());

    now[0] += 1;
    a.manager.checkSlowPeers();
    assertThat(a.log).as("off the eager path").contains("slow " + b.id());
    assertThat(a.manager.congested()).as("still backpressured: going on would only make repair traffic").isTrue();
    assertThat(a.events).filteredOn(e -> e instanceof TransportEvent.SlowPeerDemoted).hasSize(1);
    now[0] += config.maxPauseNanos();
    a.manager.checkSlowPeers();
    assertThat(a.events).as("demoted once per episode").filteredOn(e -> e instanceof TransportEvent.SlowPeerDemoted).hasSize(1);
    assertThat(c.dialer.isActive()).isTrue();

    now[0] = config.slowPeerTimeoutNanos();
    a.manager.checkSlowPeers();
    assertThat(c.dialer.isActive()).as("closed after slowPeerTimeout without reading").isFalse();
    assertThat(c.dialerLink.closeReason()).startsWith("slow peer: did not read for " + TimeUnit.NANOSECONDS.toMillis(config.slowPeerTimeoutNanos()) + " ms");
    net.pump();
    assertThat(a.manager.congested()).as("a peer that never reads holds the node for slowPeerTimeout at most").isFalse();
    assertThat(a.log).containsSubsequence("saturated", "slow " + b.id(), "unsaturated");
    assertThat(a.manager.counters().byName()).containsEntry("slow_peer_disconnects", 1L).containsEntry("slow_peer_demotions", 1L);
  }

  @Test
  void whenSeveralPeersLagAtOnceThatIsOverloadAndThePublisherStaysRefused() throws Exception {
    long[] now = {0};
    TransportConfig config = UNCOALESCED;
    EmbeddedLinks.Node a = net.node(config, () -> now[0]);
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Node c = net.node();
    EmbeddedLinks.Connection ab = net.connect(a, b, b.id());
    EmbeddedLinks.Connection ac = net.connect(a, c, c.id());
    net.pump();
    writable(ab.dialer, false);
    writable(ac.dialer, false);
    now[0] += 2 * config.maxPauseNanos();
    a.manager.checkSlowPeers();
    assertThat(a.manager.congested()).as("demoting every peer would leave no tree; the publisher waits").isTrue();
    assertThat(a.events).noneMatch(e -> e instanceof TransportEvent.SlowPeerDemoted);

    writable(ac.dialer, true); // c drains; b alone holds the node from now on
    a.manager.checkSlowPeers();
    assertThat(a.log).contains("slow " + b.id()).doesNotContain("slow " + c.id());
  }

  /**
   * A neighbour that reads a trickle: its backlog drains just before each check would call it
   * stuck, and fills again at once. It is never closed for not reading, and before the pause
   * budget it held the node's publishes refused for as long as it kept this up.
   */
  @Test
  void aPeerThatReadsATrickleHoldsTheNodeForItsPauseBudgetAMinuteThenNoLonger() throws Exception {
    long[] now = {0};
    TransportConfig config = UNCOALESCED;
    EmbeddedLinks.Node a = net.node(config, () -> now[0]);
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    long episode = config.maxPauseNanos() - 1;
    int episodes = 0;
    while (a.manager.counters().byName().get("slow_peer_exemptions") == 0) {
      writable(c.dialer, false);
      assertThat(a.manager.congested()).as("publishes refused, episode " + episodes).isTrue();
      now[0] += episode;
      a.manager.checkSlowPeers();
      writable(c.dialer, true); // a trickle: just enough
      episodes++;
      assertThat(episodes).as("held no longer than the budget").isLessThanOrEqualTo((int) (config.slowPeerTimeoutNanos() / episode) + 1);
    }
    assertThat(episodes * episode).as("the budget: slowPeerTimeout of holding the node alone").isGreaterThanOrEqualTo(config.slowPeerTimeoutNanos());
    writable(c.dialer, false);
    assertThat(a.manager.congested()).as("spent: it no longer pauses the node").isFalse();
    assertThat(c.dialer.isActive()).as("not closed: it does read").isTrue();
    assertThat(a.manager.counters().byName()).containsEntry("slow_peer_exemptions", 1L).containsEntry("slow_peer_disconnects", 0L);

    writable(c.dialer, true);
    now[0] += LinkManager.PAUSE_WINDOW_NANOS; // the minute ends
    a.manager.checkSlowPeers();
    writable(c.dialer, false);
    assertThat(a.manager.congested()).as("a new minute, a new budget").isTrue();
  }

  /**
   * Overload, not one slow peer: two links congested together spend no pause budget, and the
   * last of them to drain is charged only for the time it was alone, not for the others' (as it
   * was when the budget was sampled at each check: 18 s charged here, and b exempted).
   */
  @Test
  void linksCongestedTogetherSpendNoPauseBudget() throws Exception {
    long[] now = {0};
    TransportConfig config = UNCOALESCED;
    EmbeddedLinks.Node a = net.node(config, () -> now[0]);
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Node c = net.node();
    EmbeddedLinks.Connection ab = net.connect(a, b, b.id());
    EmbeddedLinks.Connection ac = net.connect(a, c, c.id());
    net.pump();
    long together = config.maxPauseNanos() / 2;
    long alone = config.maxPauseNanos() * 2 / 5;
    for (int i = 0; i < 20; i++) { // 18 s of pauses, 8 s of them b's alone
      writable(ab.dialer, false);
      writable(ac.dialer, false);
      now[0] += together;
      writable(ac.dialer, true); // c drains first
      now[0] += alone;
      a.manager.checkSlowPeers(); // b alone now: charged from when c drained, not from the pause's start
      writable(ab.dialer, true);
    }
    assertThat(a.manager.counters().byName()).containsEntry("slow_peer_exemptions", 0L);
    writable(ab.dialer, false);
    assertThat(a.manager.congested()).as("b still counts: it was charged its own milliseconds only").isTrue();
  }

  @Test
  void aPeerThatDrainsInTimeIsNeitherDemotedNorClosed() throws Exception {
    long[] now = {0};
    TransportConfig config = UNCOALESCED;
    EmbeddedLinks.Node a = net.node(config, () -> now[0]);
    EmbeddedLinks.Node b = net.node();
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    for (int round = 0; round < 10; round++) { // unwritable just under maxPause each time
      writable(c.dialer, false);
      now[0] += config.maxPauseNanos() - 1;
      a.manager.checkSlowPeers();
      writable(c.dialer, true);
      assertThat(a.manager.congested()).isFalse();
    }
    assertThat(a.events).noneMatch(e -> e instanceof TransportEvent.SlowPeerDemoted || e instanceof TransportEvent.SlowPeerDisconnected);
    assertThat(c.dialer.isActive()).isTrue();
  }

  @Test
  void handshakesBeyondTheCapAreRefusedBeforeTls() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node c3 = net.node();
    EmbeddedLinks.Node b = net.node(TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO).maxHandshakes(1).build());
    EmbeddedLinks.Connection first = net.connect(a, b, b.id()); // not pumped: still in its handshake
    EmbeddedLinks.Connection second = net.connect(c3, b, b.id());
    assertThat(second.acceptor.isActive()).isFalse();
    assertThat(b.manager.counters().byName()).containsEntry("closed_handshake_limit", 1L).containsEntry("handshakes_in_progress", 1L);
    assertThat(b.events).anyMatch(e -> e instanceof TransportEvent.ConnectionRejected r && r.reason().startsWith("handshake limit"));
    net.pump();
    assertThat(first.acceptorLink.ready()).isTrue();
    assertThat(b.manager.counters().byName()).containsEntry("handshakes_in_progress", 0L);
  }

  @Test
  void aHelloOfferingATinyFrameLimitIsRefused() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    a.manager.hello(Frame.newBuilder().setHello(a.manager.hello().getHello().toBuilder().setMaxFrameBytes(100)).build());
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    assertThat(c.acceptorLink.closeKind()).isEqualTo(CloseReason.BAD_HELLO);
    assertThat(c.acceptorLink.closeReason()).contains("100");
    assertThat(b.log).isEmpty();
  }

  @Test
  void aFrameOverThePeersLimitIsNotSent() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node(TransportConfig.builder().flushCoalescing(java.time.Duration.ZERO)
        .maxFrameBytes(WireCodec.MIN_FRAME_LIMIT).build());
    EmbeddedLinks.Connection c = net.connect(a, b, b.id());
    net.pump();
    ByteBuf big = Unpooled.buffer();
    WireFrames.encodeInto(big, new Message.Data(STREAM, a.id(), 1, 1, 0, new byte[WireCodec.MIN_FRAME_LIMIT]));
    a.manager.send(b.id(), big, false);
    big.release();
    net.pump();
    assertThat(b.received).isEmpty();
    assertThat(c.acceptor.isActive()).isTrue(); // b never saw a frame it would have to refuse
    assertThat(a.manager.counters().byName()).containsEntry("frames_over_peer_limit", 1L);
  }

  @Test
  void everyCloseIsCountedByItsReason() throws Exception {
    EmbeddedLinks.Node a = net.node();
    EmbeddedLinks.Node b = net.node();
    net.connect(a, b, PeerId.random(new Random(2)));
    net.pump();
    assertThat(a.manager.counters().byName()).containsEntry("closed_identity_mismatch", 1L);
  }

  @Test
  void aNodeRunningPastItsCertificatesLifetimeIsStillAccepted() throws Exception {
    EmbeddedLinks.Node old = net.nodeWithExpiredCertificate();
    EmbeddedLinks.Node b = net.node();
    net.connect(old, b, b.id());
    net.connect(b, old, old.id());
    net.pump();
    assertThat(b.log).containsExactly("up " + old.id());
    assertThat(old.log).containsExactly("up " + b.id());
  }
}
