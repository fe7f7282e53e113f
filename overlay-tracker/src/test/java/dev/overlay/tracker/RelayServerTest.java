package dev.overlay.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.PeerId;
import dev.overlay.nat.RelayPreface;
import dev.overlay.tracker.TrackerState.Relay.Offer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The tracker's relay on loopback, with plain sockets standing in for two nodes. */
class RelayServerTest {

  private static final SplittableRandom IDS = new SplittableRandom(3);
  private RelayServer relay;

  @AfterEach
  void stop() {
    if (relay != null) relay.close();
  }

  private RelayServer start(RelayServer.Limits limits) throws Exception {
    relay = new RelayServer(limits).start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "127.0.0.1");
    return relay;
  }

  private Socket connect(Offer offer, byte[] token) throws Exception {
    Socket s = new Socket("127.0.0.1", offer.port());
    s.setSoTimeout((int) Duration.ofSeconds(20).toMillis());
    OutputStream out = s.getOutputStream();
    out.write(RelayPreface.MAGIC);
    out.write(token);
    out.flush();
    return s;
  }

  private static String read(Socket s, int n) throws Exception {
    InputStream in = s.getInputStream();
    return new String(in.readNBytes(n), StandardCharsets.UTF_8);
  }

  @Test
  void twoConnectionsWithOneTokenAreJoinedAndBytesSentBeforeTheSecondArrivesAreKept() throws Exception {
    start(RelayServer.Limits.DEFAULTS);
    Offer offer = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    assertThat(offer.refused()).isNull();
    assertThat(offer.host()).isEqualTo("127.0.0.1");
    assertThat(offer.tokenA()).hasSize(RelayPreface.TOKEN_BYTES).isNotEqualTo(offer.tokenB());

    try (Socket a = connect(offer, offer.tokenA())) {
      a.getOutputStream().write("early".getBytes(StandardCharsets.UTF_8)); // a TLS hello, before b is there
      a.getOutputStream().flush();
      try (Socket b = connect(offer, offer.tokenB())) {
        assertThat(read(b, 5)).isEqualTo("early");
        b.getOutputStream().write("back".getBytes(StandardCharsets.UTF_8));
        b.getOutputStream().flush();
        assertThat(read(a, 4)).isEqualTo("back");
      }
      assertThat(a.getInputStream().read()).as("one side gone: the other is closed").isEqualTo(-1);
    }
    assertThat(relay.stats().linked()).isEqualTo(1);
    assertThat(relay.stats().bytesRelayed()).isEqualTo(9);
  }

  @Test
  void aWrongTokenAReusedOneAndGarbageAreClosedAndCounted() throws Exception {
    start(RelayServer.Limits.DEFAULTS);
    Offer offer = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket f = connect(offer, new byte[RelayPreface.TOKEN_BYTES])) {
      assertThat(f.getInputStream().read()).isEqualTo(-1);
    }
    try (Socket a = connect(offer, offer.tokenA()); Socket twice = connect(offer, offer.tokenA())) {
      assertThat(twice.getInputStream().read()).as("a token opens its holder's end once: no one fills both ends").isEqualTo(-1);
    }
    try (Socket g = new Socket("127.0.0.1", offer.port())) {
      g.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.UTF_8));
      assertThat(g.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(relay.stats().badPrefaces()).isEqualTo(3);
  }

  @Test
  void theRelaysLimitsRefuseTicketsPerNodeAndInAll() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(3, 2, 1 << 20, 1 << 20));
    PeerId busy = PeerId.random(IDS);
    PeerId other = PeerId.random(IDS);
    assertThat(relay.open(0, busy, other).refused()).isNull();
    assertThat(relay.open(0, other, busy).refused()).as("one link per pair").contains("between these two nodes");
    assertThat(relay.open(0, busy, PeerId.random(IDS)).refused()).isNull();
    assertThat(relay.open(0, busy, PeerId.random(IDS)).refused()).contains("maximum of relayed links (2)");
    assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).isNull();
    assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).contains("maximum of links (3)");
    assertThat(relay.stats().ticketsRefused()).isEqualTo(3);
  }

  @Test
  void anUnusedTicketExpiresAndTakesItsHalfConnectionWithIt() throws Exception {
    start(new RelayServer.Limits(1, 1, 1 << 20, 1 << 20, Duration.ofMillis(200), Duration.ofSeconds(120), 1024, 16, BIG, BIG, BIG, BIG));
    PeerId a = PeerId.random(IDS);
    Offer offer = relay.open(0, a, PeerId.random(IDS));
    try (Socket half = connect(offer, offer.tokenA())) {
      assertThat(half.getInputStream().read()).as("closed when the ticket expires").isEqualTo(-1);
    }
    TrackerNetworkTest.await(() -> relay.stats().links() == 0, "the expired ticket forgotten");
    assertThat(relay.stats().ticketsExpired()).isEqualTo(1);
    assertThat(relay.open(0, a, PeerId.random(IDS)).refused()).as("its slots are free again").isNull();
  }

  @Test
  void aLinkIsClosedAtItsByteLimit() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(4, 4, 1 << 20, 1_000));
    Offer offer = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket a = connect(offer, offer.tokenA()); Socket b = connect(offer, offer.tokenB())) {
      a.getOutputStream().write(new byte[600]);
      a.getOutputStream().flush();
      assertThat(b.getInputStream().readNBytes(600)).hasSize(600);
      a.getOutputStream().write(new byte[600]);
      a.getOutputStream().flush();
      assertThat(b.getInputStream().readAllBytes().length).as("nothing beyond the 1,000 bytes, then the end")
          .isLessThanOrEqualTo(400);
    }
    assertThat(relay.stats().closedOverBytes()).isEqualTo(1);
  }

  @Test
  void connectionsYetToPresentATokenAreCappedPerSourceAddress() throws Exception {
    start(new RelayServer.Limits(4, 4, 1 << 20, 1 << 20, Duration.ofSeconds(10), Duration.ofSeconds(120), 1024, 2, BIG, BIG, BIG, BIG));
    try (Socket one = new Socket("127.0.0.1", relay.address().getPort()); Socket two = new Socket("127.0.0.1", relay.address().getPort());
        Socket three = new Socket("127.0.0.1", relay.address().getPort())) {
      three.setSoTimeout(20_000);
      assertThat(three.getInputStream().read()).as("the third silent connection from one address is refused").isEqualTo(-1);
    }
    assertThat(relay.stats().refusedPending()).isEqualTo(1);
  }

  @Test
  void aLinkWithoutTrafficIsClosedAfterItsIdleTimeout() throws Exception {
    start(new RelayServer.Limits(4, 4, 1 << 20, 1 << 20, Duration.ofSeconds(10), Duration.ofMillis(300), 1024, 16, BIG, BIG, BIG, BIG));
    Offer offer = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket a = connect(offer, offer.tokenA()); Socket b = connect(offer, offer.tokenB())) {
      assertThat(a.getInputStream().read()).isEqualTo(-1);
      assertThat(b.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(relay.stats().closedIdle()).isPositive();
  }

  // ---- Budgets per identity and for the whole relay ---------------------------------------------

  private static final long BIG = 1L << 40;

  /** Sends {@code n} bytes from {@code from}, and reads at {@code to} what arrives until the link closes. */
  private static int sendAndReadToEnd(Socket from, Socket to, int n) throws Exception {
    from.getOutputStream().write(new byte[n]);
    from.getOutputStream().flush();
    return to.getInputStream().readAllBytes().length;
  }

  @Test
  void aNodesRelayedBytesAreCappedPerHourAcrossItsLinksAndItsNextTicketIsRefused() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, BIG, 64 << 10, BIG));
    PeerId a = PeerId.random(IDS);
    Offer first = relay.open(0, a, PeerId.random(IDS));
    try (Socket x = connect(first, first.tokenA()); Socket y = connect(first, first.tokenB())) {
      x.getOutputStream().write(new byte[40 << 10]);
      x.getOutputStream().flush();
      assertThat(y.getInputStream().readNBytes(40 << 10)).hasSize(40 << 10);
    }
    Offer second = relay.open(0, a, PeerId.random(IDS));
    assertThat(second.refused()).as("24 KiB of its hour left").isNull();
    try (Socket x = connect(second, second.tokenA()); Socket y = connect(second, second.tokenB())) {
      assertThat(sendAndReadToEnd(x, y, 40 << 10)).as("closed when the node's hour is spent").isLessThan(40 << 10);
    }
    assertThat(relay.stats().closedOverBytes()).isEqualTo(1);
    assertThat(relay.open(0, PeerId.random(IDS), a).refused()).contains("relayed bytes for this hour");
    assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).as("others are not held back").isNull();
  }

  @Test
  void theRelaysBytesAreCappedPerHourInAll() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, BIG, BIG, 64 << 10));
    Offer first = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket x = connect(first, first.tokenA()); Socket y = connect(first, first.tokenB())) {
      x.getOutputStream().write(new byte[40 << 10]);
      x.getOutputStream().flush();
      assertThat(y.getInputStream().readNBytes(40 << 10)).hasSize(40 << 10);
    }
    Offer second = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket x = connect(second, second.tokenA()); Socket y = connect(second, second.tokenB())) {
      assertThat(sendAndReadToEnd(x, y, 40 << 10)).isLessThan(40 << 10);
    }
    assertThat(relay.stats().closedOverBytes()).isEqualTo(1);
    assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).contains("its bytes for this hour");
  }

  /** A relay whose clock stands still: a rate budget, once spent, does not refill, whatever the machine's speed. */
  private RelayServer startStill(RelayServer.Limits limits) throws Exception {
    relay = new RelayServer(limits, () -> 1_000_000_000L).start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "127.0.0.1");
    return relay;
  }

  @Test
  void aNodesRateAcrossItsLinksPausesReadingThoughNoLinksOwnRateIsReached() throws Exception {
    startStill(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(16 << 10, BIG, BIG, BIG));
    PeerId a = PeerId.random(IDS);
    Offer one = relay.open(0, a, PeerId.random(IDS));
    Offer two = relay.open(0, a, PeerId.random(IDS));
    try (Socket x1 = connect(one, one.tokenA()); Socket y1 = connect(one, one.tokenB());
         Socket x2 = connect(two, two.tokenA()); Socket y2 = connect(two, two.tokenB())) {
      x1.getOutputStream().write(new byte[12 << 10]);
      x1.getOutputStream().flush();
      assertThat(y1.getInputStream().readNBytes(12 << 10)).hasSize(12 << 10);
      assertThat(relay.stats().pausesForRate()).as("12 of its 16 KiB a second").isZero();
      x2.getOutputStream().write(new byte[12 << 10]);
      x2.getOutputStream().flush();
      TrackerNetworkTest.await(() -> relay.stats().pausesForRate() > 0, "reading paused for the node's rate over its two links");
    }
  }

  @Test
  void bytesSentBeforeTheOtherSideJoinedAreChargedToo() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, BIG, 256, BIG));
    PeerId a = PeerId.random(IDS);
    Offer offer = relay.open(0, a, PeerId.random(IDS));
    try (Socket x = new Socket("127.0.0.1", offer.port())) {
      // The preface and what follows in one write: what the relay read with it is held for the other end.
      java.io.ByteArrayOutputStream first = new java.io.ByteArrayOutputStream();
      first.write(RelayPreface.MAGIC);
      first.write(offer.tokenA());
      first.write(new byte[4 << 10]);
      x.getOutputStream().write(first.toByteArray());
      x.getOutputStream().flush();
      TrackerNetworkTest.await(() -> relay.heldEarlyBytes() > 256, "more than the sender's hour held for the other end");
      try (Socket y = connect(offer, offer.tokenB())) {
        y.setSoTimeout(20_000);
        assertThat(y.getInputStream().readAllBytes()).as("closed as it joined: nothing carried").isEmpty();
      }
    }
    assertThat(relay.stats().closedOverBytes()).isEqualTo(1);
    TrackerNetworkTest.await(() -> relay.stats().links() == 0, "the ticket closed as it joined forgotten");
    assertThat(relay.open(0, a, PeerId.random(IDS)).refused()).contains("relayed bytes for this hour");
  }

  @Test
  void theTableOfIdentitiesShrinksAgainOnceItsOldestIsPinnedAndTheRestAreDone() throws Exception {
    start(new RelayServer.Limits(5000, 1, 1 << 20, 1 << 20, Duration.ofMillis(300), Duration.ofSeconds(120), 1024, 16,
        BIG, BIG, BIG, BIG));
    Offer pinned = relay.open(0, PeerId.random(IDS), PeerId.random(IDS)); // the oldest two identities, linked throughout
    try (Socket x = connect(pinned, pinned.tokenA()); Socket y = connect(pinned, pinned.tokenB())) {
      x.getOutputStream().write(1);
      x.getOutputStream().flush();
      assertThat(y.getInputStream().read()).isEqualTo(1);
      for (int i = 0; i < 2048; i++) assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).isNull();
      assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).as("4,098 identities held")
          .contains("maximum of identities");

      // The 2,048 tickets expire unused: their identities hold nothing any more.
      TrackerNetworkTest.await(() -> relay.stats().links() == 1, "the unused tickets expired");
      assertThat(relay.open(0, PeerId.random(IDS), PeerId.random(IDS)).refused()).as("room again").isNull();
    }
  }

  @Test
  void anIdentityIsChargedForWhatItSendsNotForWhatItIsSent() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, BIG, 64 << 10, BIG));
    PeerId flooder = PeerId.random(IDS);
    PeerId victim = PeerId.random(IDS);
    Offer offer = relay.open(0, flooder, victim);
    try (Socket x = connect(offer, offer.tokenA()); Socket y = connect(offer, offer.tokenB())) {
      assertThat(sendAndReadToEnd(x, y, 100 << 10)).isLessThan(100 << 10);
    }
    assertThat(relay.open(0, flooder, PeerId.random(IDS)).refused()).contains("relayed bytes for this hour");
    assertThat(relay.open(0, victim, PeerId.random(IDS)).refused()).as("the victim's hour is its own").isNull();
  }

  @Test
  void aSpentHourIsOverAnHourAfterTheIdentitysFirstTicket() throws Exception {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000_000_000L);
    relay = new RelayServer(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, BIG, 16 << 10, BIG), now::get)
        .start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "127.0.0.1");
    PeerId a = PeerId.random(IDS);
    Offer offer = relay.open(0, a, PeerId.random(IDS));
    try (Socket x = connect(offer, offer.tokenA()); Socket y = connect(offer, offer.tokenB())) {
      assertThat(sendAndReadToEnd(x, y, 40 << 10)).isLessThan(40 << 10);
    }
    assertThat(relay.open(0, a, PeerId.random(IDS)).refused()).contains("relayed bytes for this hour");

    now.addAndGet(java.util.concurrent.TimeUnit.MINUTES.toNanos(59));
    assertThat(relay.open(0, a, PeerId.random(IDS)).refused()).contains("relayed bytes for this hour");
    now.addAndGet(java.util.concurrent.TimeUnit.MINUTES.toNanos(1));
    assertThat(relay.open(0, a, PeerId.random(IDS)).refused()).isNull();
  }

  @Test
  void aLinkPausedForTheRelaysRateBothWaysAtOnceCarriesEverythingBothWays() throws Exception {
    start(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, 64 << 10, BIG, BIG));
    Offer offer = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket x = connect(offer, offer.tokenA()); Socket y = connect(offer, offer.tokenB())) {
      Thread other = new Thread(() -> {
        try {
          y.getOutputStream().write(new byte[128 << 10]);
          y.getOutputStream().flush();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      other.start();
      x.getOutputStream().write(new byte[128 << 10]);
      x.getOutputStream().flush();
      assertThat(y.getInputStream().readNBytes(128 << 10)).as("x to y, through the pauses").hasSize(128 << 10);
      assertThat(x.getInputStream().readNBytes(128 << 10)).as("y to x, through the pauses").hasSize(128 << 10);
      other.join();
    }
  }

  @Test
  void theRelaysRateInAllPausesReading() throws Exception {
    startStill(RelayServer.Limits.DEFAULTS.with(8, 8, 1 << 20, 1 << 20).withBudgets(BIG, 16 << 10, BIG, BIG));
    Offer offer = relay.open(0, PeerId.random(IDS), PeerId.random(IDS));
    try (Socket x = connect(offer, offer.tokenA()); Socket y = connect(offer, offer.tokenB())) {
      x.getOutputStream().write(new byte[40 << 10]);
      x.getOutputStream().flush();
      TrackerNetworkTest.await(() -> relay.stats().pausesForRate() > 0, "reading paused for the relay's rate");
    }
  }
}
