package dev.overlay.nat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * STUN's wire format (RFC 8489 section 5 and 14; RFC 5389 compatible): a 20-byte header with
 * the magic cookie, then type-length-value attributes padded to 4 bytes.
 *
 * <p>Every input is hostile until checked: the decoder refuses, with a reason, anything that is
 * not exactly a STUN message (bits, cookie, lengths, attribute bounds, address families,
 * a FINGERPRINT that is not last or does not match), caps the message at {@link #MAX_BYTES} and
 * its attributes at {@link #MAX_ATTRIBUTES}, and never throws anything else.
 */
public final class StunCodec {

  /** The fixed value in every RFC 5389/8489 header; also what XOR-MAPPED-ADDRESS is masked with. */
  public static final int MAGIC_COOKIE = 0x2112A442;
  public static final int HEADER_BYTES = 20;
  /** Larger than any Binding message needs; a UDP datagram beyond it is not ours to parse. */
  public static final int MAX_BYTES = 1280;
  /** A work budget: a Binding message has a handful. */
  public static final int MAX_ATTRIBUTES = 32;

  static final int MAPPED_ADDRESS = 0x0001;
  static final int CHANGE_REQUEST = 0x0003;
  static final int USERNAME = 0x0006;
  static final int MESSAGE_INTEGRITY = 0x0008;
  static final int ERROR_CODE = 0x0009;
  static final int UNKNOWN_ATTRIBUTES = 0x000A;
  static final int REALM = 0x0014;
  static final int NONCE = 0x0015;
  static final int MESSAGE_INTEGRITY_SHA256 = 0x001C;
  static final int XOR_MAPPED_ADDRESS = 0x0020;
  static final int SOFTWARE = 0x8022;
  static final int FINGERPRINT = 0x8028;
  static final int RESPONSE_ORIGIN = 0x802B;
  static final int OTHER_ADDRESS = 0x802C;
  private static final int FINGERPRINT_XOR = 0x5354554E;
  /** SOFTWARE and a reason phrase: at most 128 characters, 763 bytes (RFC 8489 14.9, 14.14). */
  private static final int MAX_TEXT_BYTES = 763;

  /** Input that is not a well-formed STUN message, with why. */
  public static final class MalformedException extends Exception {
    MalformedException(String reason) {
      super(reason);
    }
  }

  private StunCodec() {}

  /** Whether a datagram looks like STUN at all (first two bits zero, the cookie): cheap, for demultiplexing. */
  public static boolean looksLikeStun(ByteBuffer b) {
    return b.remaining() >= HEADER_BYTES && (b.get(b.position()) & 0xC0) == 0 && b.getInt(b.position() + 4) == MAGIC_COOKIE;
  }

  /** Encodes {@code m}, with a FINGERPRINT last. */
  public static byte[] encode(StunMessage m) {
    ByteBuffer b = ByteBuffer.allocate(MAX_BYTES);
    b.putShort((short) m.type()).putShort((short) 0).putInt(MAGIC_COOKIE).put(m.transactionId());
    if (m.xorMapped() != null) address(b, XOR_MAPPED_ADDRESS, m.xorMapped(), m.transactionId(), true);
    if (m.mapped() != null) address(b, MAPPED_ADDRESS, m.mapped(), m.transactionId(), false);
    if (m.otherAddress() != null) address(b, OTHER_ADDRESS, m.otherAddress(), m.transactionId(), false);
    if (m.changeRequest() != 0) {
      b.putShort((short) CHANGE_REQUEST).putShort((short) 4).putInt(m.changeRequest());
    }
    if (m.errorCode() != 0) {
      byte[] reason = text(m.errorReason() == null ? "" : m.errorReason());
      b.putShort((short) ERROR_CODE).putShort((short) (4 + reason.length)).putShort((short) 0)
          .put((byte) (m.errorCode() / 100)).put((byte) (m.errorCode() % 100)).put(reason);
      pad(b, reason.length);
    }
    if (!m.unknownAttributes().isEmpty()) {
      b.putShort((short) UNKNOWN_ATTRIBUTES).putShort((short) (2 * m.unknownAttributes().size()));
      for (int t : m.unknownAttributes()) b.putShort((short) t);
      pad(b, 2 * m.unknownAttributes().size());
    }
    if (m.software() != null) {
      byte[] s = text(m.software());
      b.putShort((short) SOFTWARE).putShort((short) s.length).put(s);
      pad(b, s.length);
    }
    // FINGERPRINT: the CRC covers the header with a length that already counts the fingerprint.
    b.putShort(2, (short) (b.position() - HEADER_BYTES + 8));
    CRC32 crc = new CRC32();
    crc.update(b.array(), 0, b.position());
    b.putShort((short) FINGERPRINT).putShort((short) 4).putInt((int) crc.getValue() ^ FINGERPRINT_XOR);
    byte[] out = new byte[b.position()];
    System.arraycopy(b.array(), 0, out, 0, out.length);
    return out;
  }

  /** Decodes one whole message (a datagram, or one frame of a TCP stream). */
  public static StunMessage decode(ByteBuffer in) throws MalformedException {
    try {
      return decodeChecked(in.slice());
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MalformedException("truncated or invalid: " + e.getClass().getSimpleName());
    }
  }

  private static StunMessage decodeChecked(ByteBuffer b) throws MalformedException {
    int total = b.remaining();
    if (total < HEADER_BYTES) throw new MalformedException(total + " bytes: shorter than a STUN header");
    if (total > MAX_BYTES) throw new MalformedException(total + " bytes: over the " + MAX_BYTES + "-byte limit");
    int type = b.getShort() & 0xFFFF;
    if ((type & 0xC000) != 0) throw new MalformedException("not STUN: the first two bits are not zero");
    int length = b.getShort() & 0xFFFF;
    if (b.getInt() != MAGIC_COOKIE) throw new MalformedException("no magic cookie (RFC 3489 and other protocols are not served)");
    if (length % 4 != 0) throw new MalformedException("length " + length + " is not a multiple of 4");
    if (length != total - HEADER_BYTES) {
      throw new MalformedException("length " + length + " does not match the " + (total - HEADER_BYTES) + " bytes after the header");
    }
    byte[] tid = new byte[12];
    b.get(tid);
    InetSocketAddress xorMapped = null;
    InetSocketAddress mapped = null;
    InetSocketAddress other = null;
    String software = null;
    int errorCode = 0;
    String errorReason = null;
    List<Integer> unknownAttributes = List.of();
    int changeRequest = 0;
    List<Integer> unknownRequired = new ArrayList<>();
    int count = 0;
    boolean afterIntegrity = false; // RFC 8489 14.5: what follows MESSAGE-INTEGRITY is ignored, FINGERPRINT aside
    while (b.hasRemaining()) {
      if (++count > MAX_ATTRIBUTES) throw new MalformedException("more than " + MAX_ATTRIBUTES + " attributes");
      int start = b.position();
      if (b.remaining() < 4) throw new MalformedException("an attribute header is cut short");
      int at = b.getShort() & 0xFFFF;
      int len = b.getShort() & 0xFFFF;
      int padded = (len + 3) & ~3;
      if (padded > b.remaining()) throw new MalformedException(String.format("attribute 0x%04x overruns the message", at));
      ByteBuffer v = b.slice(b.position(), len);
      b.position(b.position() + padded);
      if (afterIntegrity && at != FINGERPRINT) continue;
      // Of an attribute given twice, the first counts (RFC 8489 14).
      switch (at) {
        case XOR_MAPPED_ADDRESS -> {
          if (xorMapped == null) xorMapped = address(v, tid, true, "XOR-MAPPED-ADDRESS");
        }
        case MAPPED_ADDRESS -> {
          if (mapped == null) mapped = address(v, tid, false, "MAPPED-ADDRESS");
        }
        case OTHER_ADDRESS -> {
          if (other == null) other = address(v, tid, false, "OTHER-ADDRESS");
        }
        case SOFTWARE -> {
          if (software == null) software = text(v, "SOFTWARE");
        }
        case ERROR_CODE -> {
          if (errorCode != 0) continue;
          if (len < 4) throw new MalformedException("ERROR-CODE of " + len + " bytes");
          v.getShort();
          int cls = v.get() & 0x07;
          int number = v.get() & 0xFF;
          if (cls < 3 || cls > 6 || number > 99) throw new MalformedException("ERROR-CODE " + cls + "/" + number + " is out of range");
          errorCode = cls * 100 + number;
          errorReason = text(v, "ERROR-CODE reason");
        }
        case UNKNOWN_ATTRIBUTES -> {
          if (len % 2 != 0) throw new MalformedException("UNKNOWN-ATTRIBUTES of odd length " + len);
          List<Integer> list = new ArrayList<>();
          while (v.hasRemaining()) list.add(v.getShort() & 0xFFFF);
          unknownAttributes = list;
        }
        case CHANGE_REQUEST -> {
          if (len != 4) throw new MalformedException("CHANGE-REQUEST of " + len + " bytes");
          changeRequest = v.getInt();
        }
        case FINGERPRINT -> {
          if (len != 4) throw new MalformedException("FINGERPRINT of " + len + " bytes");
          if (b.hasRemaining()) throw new MalformedException("FINGERPRINT is not the last attribute");
          CRC32 crc = new CRC32();
          ByteBuffer covered = b.duplicate().position(0).limit(start);
          crc.update(covered);
          if (((int) crc.getValue() ^ FINGERPRINT_XOR) != v.getInt()) throw new MalformedException("FINGERPRINT does not match");
        }
        // Understood, not used: Overlay runs no authenticated STUN (no credentials, no integrity to check).
        case MESSAGE_INTEGRITY, MESSAGE_INTEGRITY_SHA256 -> afterIntegrity = true;
        case USERNAME, REALM, NONCE, RESPONSE_ORIGIN -> { }
        default -> {
          if (at < 0x8000) unknownRequired.add(at); // comprehension-required
        }
      }
    }
    return new StunMessage(type, tid, xorMapped, mapped, other, software, errorCode, errorReason, unknownAttributes,
        changeRequest, unknownRequired);
  }

  private static void address(ByteBuffer b, int type, InetSocketAddress a, byte[] tid, boolean xor) {
    byte[] addr = a.getAddress().getAddress();
    int port = a.getPort();
    if (xor) {
      port ^= MAGIC_COOKIE >>> 16;
      mask(addr, tid);
    }
    b.putShort((short) type).putShort((short) (4 + addr.length)).put((byte) 0).put((byte) (addr.length == 4 ? 1 : 2))
        .putShort((short) port).put(addr);
  }

  private static InetSocketAddress address(ByteBuffer v, byte[] tid, boolean xor, String name) throws MalformedException {
    if (v.remaining() != 8 && v.remaining() != 20) throw new MalformedException(name + " of " + v.remaining() + " bytes");
    v.get();
    int family = v.get() & 0xFF;
    int port = v.getShort() & 0xFFFF;
    int n = family == 1 ? 4 : family == 2 ? 16 : -1;
    if (n < 0) throw new MalformedException(name + " of unknown family " + family);
    if (v.remaining() != n) throw new MalformedException(name + ": family " + family + " with " + v.remaining() + " address bytes");
    byte[] addr = new byte[n];
    v.get(addr);
    if (xor) {
      port ^= MAGIC_COOKIE >>> 16;
      mask(addr, tid);
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(addr), port); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new MalformedException(name + ": " + e.getMessage());
    }
  }

  /** XOR with the cookie, then (IPv6) the transaction id. */
  private static void mask(byte[] addr, byte[] tid) {
    for (int i = 0; i < addr.length; i++) {
      int k = i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xFF : tid[i - 4] & 0xFF;
      addr[i] ^= (byte) k;
    }
  }

  private static byte[] text(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > MAX_TEXT_BYTES) throw new IllegalArgumentException("over " + MAX_TEXT_BYTES + " bytes of text");
    return bytes;
  }

  private static String text(ByteBuffer v, String name) throws MalformedException {
    if (v.remaining() > MAX_TEXT_BYTES) throw new MalformedException(name + " over " + MAX_TEXT_BYTES + " bytes");
    byte[] bytes = new byte[v.remaining()];
    v.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static void pad(ByteBuffer b, int written) {
    for (int i = written; i % 4 != 0; i++) b.put((byte) 0);
  }
}
