package dev.overlay.auth;

import static dev.overlay.core.testing.TestNode.KEYS;
import static dev.overlay.core.testing.TestNode.MS;
import static dev.overlay.core.testing.TestNode.STREAM;
import static dev.overlay.core.testing.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.config.AuthConfig;
import dev.overlay.core.PeerId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import org.junit.jupiter.api.Test;

/** How long seals are held, and how many. */
class SealBookTest {

  private static final PeerId NEIGHBOUR = id(2);
  private final SealFormat format = new SealFormat();
  private final SealBook book = new SealBook(STREAM, AuthConfig.defaults(), KEYS.of(id(1)), format, null);

  private Message.Data message(PeerId publisher, long seq) {
    return new Message.Data(STREAM, publisher, 7, seq, 1, new byte[] {(byte) seq});
  }

  /** {@code m} carrying a seal over itself alone. */
  private Message.Data sealedAlone(Message.Data m) {
    byte[] digests = new byte[Seal.DIGEST_BYTES];
    format.digest(m, digests, 0);
    Signatures key = KEYS.of(m.publisher());
    Seal seal = new Seal(m.seq(), 1, digests, key.publicKey(),
        key.sign(SealFormat.signedDigest(STREAM, m.publisher(), m.session(), m.seq(), 1, digests)));
    return m.withSeal(seal, true);
  }

  @Test
  void aCopyArrivingASecondAfterItsSealIsStillAuthenticated() {
    PeerId pub = id(40);
    long now = 0;
    assertThat(book.authenticate(now, NEIGHBOUR, sealedAlone(message(pub, 1)))).isNotNull();
    // The publisher seals every 2 ms for a second; the copy of message 1 by a slow path comes last.
    for (long seq = 2; seq <= 500; seq++) {
      now += 2 * MS;
      assertThat(book.authenticate(now, NEIGHBOUR, sealedAlone(message(pub, seq)))).isNotNull();
    }
    assertThat(book.authenticate(now, id(3), message(pub, 1))).as("held 1 s later (64 seals held 128 ms)").isNotNull();
  }

  @Test
  void aStreamHoldsAtMostMaxSealsOverAllItsPublishers() {
    long now = 0;
    for (int p = 0; p < 12; p++) {
      PeerId pub = id(100 + p);
      for (long seq = 1; seq <= 1_024; seq++) {
        now += MS; // within the verification budgets
        assertThat(book.authenticate(now, NEIGHBOUR, sealedAlone(message(pub, seq)))).isNotNull();
        assertThat(book.heldSeals()).isLessThanOrEqualTo(SealBook.MAX_SEALS);
      }
    }
    assertThat(book.heldSeals()).isGreaterThan(SealBook.MAX_SEALS - 1_024);
    // The busiest, newest publisher's seals are all still there.
    assertThat(book.authenticate(now, id(3), message(id(111), 1))).isNotNull();
  }
}
