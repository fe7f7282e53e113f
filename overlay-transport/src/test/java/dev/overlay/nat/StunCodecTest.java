package dev.overlay.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** STUN's wire format: what is written, what is read, and what is refused with a reason. */
class StunCodecTest {

  private static final byte[] TID = HexFormat.of().parseHex("b7e7a701bc34d686fa87dfae");

  private static StunMessage decode(byte[] bytes) throws StunCodec.MalformedException {
    return StunCodec.decode(ByteBuffer.wrap(bytes));
  }

  private static InetSocketAddress at(String ip, int port) throws Exception {
    return new InetSocketAddress(InetAddress.getByName(ip), port);
  }

  @Test
  void aBindingRequestIsAHeaderAndAFingerprint() throws Exception {
    byte[] b = StunCodec.encode(StunMessage.bindingRequest(TID));
    // The FINGERPRINT computed apart from this code (Python's zlib.crc32 of the 20-byte header, XOR 0x5354554e).
    assertThat(HexFormat.of().formatHex(b)).isEqualTo("00010008" + "2112a442" + "b7e7a701bc34d686fa87dfae" + "80280004" + "fdf6ae02");
    assertThat(decode(b)).isEqualTo(StunMessage.bindingRequest(TID));
  }

  @Test
  void ofAnAttributeGivenTwiceTheFirstCountsAndWhatFollowsMessageIntegrityIsIgnored() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(20 + 12 + 12 + 24 + 12);
    b.putShort((short) 0x0101).putShort((short) 60).putInt(StunCodec.MAGIC_COOKIE).put(TID);
    b.putShort((short) 0x0001).putShort((short) 8).put((byte) 0).put((byte) 1).putShort((short) 1).put(new byte[] {10, 0, 0, 1});
    b.putShort((short) 0x0001).putShort((short) 8).put((byte) 0).put((byte) 1).putShort((short) 2).put(new byte[] {10, 0, 0, 2});
    b.putShort((short) 0x0008).putShort((short) 20).put(new byte[20]); // MESSAGE-INTEGRITY
    b.putShort((short) 0x802C).putShort((short) 8).put((byte) 0).put((byte) 1).putShort((short) 3).put(new byte[] {10, 0, 0, 3});
    StunMessage m = decode(b.array());
    assertThat(m.mapped()).isEqualTo(at("10.0.0.1", 1));
    assertThat(m.otherAddress()).isNull();
  }

  @Test
  void xorMappedAddressIsMaskedWithTheCookieAndForIpv6TheTransactionId() throws Exception {
    // RFC 8489 14.2: X-Port is the port XOR the cookie's high 16 bits; X-Address the address XOR the cookie.
    byte[] b = StunCodec.encode(StunMessage.bindingSuccess(TID, at("192.0.2.1", 32853), null, null));
    assertThat(HexFormat.of().formatHex(b, 20, 32)).isEqualTo("00200008" + "0001" + "a147" + "e112a643");
    assertThat(decode(b).reflexive()).isEqualTo(at("192.0.2.1", 32853));

    InetSocketAddress v6 = at("2001:db8:1234:5678:11:2233:4455:6677", 32853);
    assertThat(decode(StunCodec.encode(StunMessage.bindingSuccess(TID, v6, at("192.0.2.2", 3479), "overlay"))))
        .satisfies(m -> {
          assertThat(m.xorMapped()).isEqualTo(v6);
          assertThat(m.otherAddress()).isEqualTo(at("192.0.2.2", 3479));
          assertThat(m.software()).isEqualTo("overlay");
          assertThat(m.isSuccess()).isTrue();
        });
  }

  @Test
  void errorsCarryTheirCodeReasonAndUnknownAttributes() throws Exception {
    StunMessage e = StunMessage.bindingError(TID, 420, "Unknown Attribute", List.of(0x0024, 0x0003), null);
    StunMessage back = decode(StunCodec.encode(e));
    assertThat(back.isError()).isTrue();
    assertThat(back.errorCode()).isEqualTo(420);
    assertThat(back.errorReason()).isEqualTo("Unknown Attribute");
    assertThat(back.unknownAttributes()).containsExactly(0x0024, 0x0003);
  }

  @Test
  void unknownComprehensionRequiredAttributesAreNamedAndOptionalOnesSkipped() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(20 + 8 + 8);
    b.putShort((short) 0x0001).putShort((short) 16).putInt(StunCodec.MAGIC_COOKIE).put(TID);
    b.putShort((short) 0x0024).putShort((short) 4).putInt(7); // PRIORITY (ICE): required, not ours
    b.putShort((short) 0x8029).putShort((short) 4).putInt(9); // ICE-CONTROLLED: optional
    assertThat(decode(b.array()).unknownRequired()).containsExactly(0x0024);
  }

  @Test
  void aCorruptedMessageFailsItsFingerprint() throws Exception {
    byte[] b = StunCodec.encode(StunMessage.bindingSuccess(TID, at("192.0.2.1", 1), null, "x"));
    b[26] ^= 1; // the port: still a well-formed attribute, only the checksum can tell
    assertThatThrownBy(() -> decode(b)).isInstanceOf(StunCodec.MalformedException.class).hasMessageContaining("FINGERPRINT");
  }

  @Test
  void whatIsNotStunIsRefusedWithItsReason() {
    byte[] ok = StunCodec.encode(StunMessage.bindingRequest(TID));
    assertThatThrownBy(() -> decode(new byte[19])).hasMessageContaining("shorter than a STUN header");
    byte[] bits = ok.clone();
    bits[0] = (byte) 0x80;
    assertThatThrownBy(() -> decode(bits)).hasMessageContaining("first two bits");
    byte[] cookie = ok.clone();
    cookie[4] = 0;
    assertThatThrownBy(() -> decode(cookie)).hasMessageContaining("magic cookie");
    byte[] length = ok.clone();
    length[3] = 12;
    assertThatThrownBy(() -> decode(length)).hasMessageContaining("does not match");
    ByteBuffer overrun = ByteBuffer.allocate(24);
    overrun.putShort((short) 1).putShort((short) 4).putInt(StunCodec.MAGIC_COOKIE).put(TID).putShort((short) 0x8022).putShort((short) 200);
    assertThatThrownBy(() -> decode(overrun.array())).hasMessageContaining("overruns");
    ByteBuffer family = ByteBuffer.allocate(32);
    family.putShort((short) 0x0101).putShort((short) 12).putInt(StunCodec.MAGIC_COOKIE).put(TID)
        .putShort((short) 0x0020).putShort((short) 8).put((byte) 0).put((byte) 7).putShort((short) 1).putInt(1);
    assertThatThrownBy(() -> decode(family.array())).hasMessageContaining("unknown family 7");
  }

  @Test
  void tooManyAttributesIsOverTheWorkBudget() {
    int n = StunCodec.MAX_ATTRIBUTES + 1;
    ByteBuffer b = ByteBuffer.allocate(20 + 4 * n);
    b.putShort((short) 1).putShort((short) (4 * n)).putInt(StunCodec.MAGIC_COOKIE).put(TID);
    for (int i = 0; i < n; i++) b.putShort((short) 0x8030).putShort((short) 0);
    assertThatThrownBy(() -> decode(b.array())).hasMessageContaining("more than " + StunCodec.MAX_ATTRIBUTES);
  }

  @Test
  void randomAttributesAfterAValidHeaderNeverThrowAnythingButMalformed() {
    SplittableRandom rng = new SplittableRandom(12);
    int parsed = 0;
    for (int i = 0; i < 20_000; i++) {
      int body = 4 * rng.nextInt(40);
      ByteBuffer b = ByteBuffer.allocate(20 + body);
      b.putShort((short) (rng.nextBoolean() ? 0x0001 : 0x0101)).putShort((short) body).putInt(StunCodec.MAGIC_COOKIE).put(TID);
      while (b.remaining() >= 4) { // attributes of known and unknown types, lengths right or wrong
        int[] types = {0x0001, 0x0020, 0x0009, 0x000A, 0x8022, 0x802C, 0x0003, 0x0008, 0x8028, rng.nextInt(0x10000)};
        int len = Math.min(b.remaining() - 4, rng.nextInt(4) == 0 ? rng.nextInt(0x10000) : rng.nextInt(24));
        b.putShort((short) types[rng.nextInt(types.length)]).putShort((short) len);
        byte[] v = new byte[Math.min((len + 3) & ~3, b.remaining())];
        rng.nextBytes(v);
        b.put(v);
      }
      try {
        decode(b.array());
        parsed++;
      } catch (StunCodec.MalformedException expected) {
        // refused, with a reason
      }
    }
    assertThat(parsed).as("some got through the attribute parser whole").isPositive();
  }

  @Test
  void randomBytesNeverThrowAnythingButMalformed() {
    SplittableRandom rng = new SplittableRandom(11);
    byte[] valid = StunCodec.encode(StunMessage.bindingSuccess(TID, new InetSocketAddress("127.0.0.1", 5), null, "s"));
    for (int i = 0; i < 20_000; i++) {
      byte[] b = i % 2 == 0 ? new byte[rng.nextInt(64)] : valid.clone();
      if (i % 2 == 0) rng.nextBytes(b);
      else b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
      if (i % 4 == 1 && b.length > 24) { // keep the header valid, so the attribute parser is what is tried
        System.arraycopy(valid, 0, b, 0, 20);
      }
      try {
        decode(b);
      } catch (StunCodec.MalformedException expected) {
        // refused, with a reason
      }
    }
  }
}
