package dev.overlay.lan;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The few DNS messages multicast DNS service discovery needs (RFC 1035's format as RFC 6762 and
 * 6763 use it): questions, and PTR, SRV, TXT and A records. Decoding is for hostile input: every
 * read is bounds-checked, a compressed name may jump at most {@link #MAX_JUMPS} times and only
 * backwards, names are at most 255 bytes, at most {@link #MAX_ENTRIES} entries of a message are
 * read, and anything else is a {@link Malformed} with the reason. Encoding writes names uncompressed
 * (allowed; our messages are small).
 */
final class Mdns {

  static final int TYPE_A = 1;
  static final int TYPE_PTR = 12;
  static final int TYPE_TXT = 16;
  static final int TYPE_SRV = 33;
  static final int TYPE_ANY = 255;
  static final int CLASS_IN = 1;
  /** The top bit of a record's class: "cache flush" in answers, "unicast response wanted" in questions. */
  static final int CLASS_FLAG = 0x8000;
  /** Questions plus records read of a message; the rest is ignored. */
  static final int MAX_ENTRIES = 64;
  /** Largest packet read or written (RFC 6762 section 17: 9,000 bytes at most). */
  static final int MAX_PACKET = 9000;
  private static final int MAX_JUMPS = 16;

  private Mdns() {}

  /** A decoding failure, with what was wrong. */
  static final class Malformed extends Exception {
    Malformed(String why) {
      super(why, null, false, false);
    }
  }

  record Question(String name, int type, boolean unicast) {}

  /** A record; {@code data} is the decoded payload: a name (PTR), a {@link Srv}, a list of strings (TXT), 4 address bytes (A), or null. */
  record Record(String name, int type, boolean cacheFlush, long ttl, Object data) {}

  record Srv(int priority, int weight, int port, String target) {}

  record Message(boolean response, List<Question> questions, List<Record> records) {}

  // ---- Decoding -------------------------------------------------------------------------------

  static Message decode(byte[] p, int length) throws Malformed {
    if (length < 12) throw new Malformed("shorter than a header (" + length + " bytes)");
    if (length > MAX_PACKET) throw new Malformed("longer than " + MAX_PACKET + " bytes");
    int flags = u16(p, 2, length);
    // Not a standard query (opcode, RFC 6762 18.3), or an error (rcode, 18.11): nothing for us.
    if ((flags & 0x7800) != 0 || (flags & 0x000F) != 0) return new Message(true, List.of(), List.of());
    // Of a longer message (a querier's long known-answer list) the first MAX_ENTRIES entries are read.
    int qd = Math.min(u16(p, 4, length), MAX_ENTRIES);
    int records = Math.min(u16(p, 6, length) + u16(p, 8, length) + u16(p, 10, length), MAX_ENTRIES - qd);
    int[] at = {12};
    List<Question> questions = new ArrayList<>(qd);
    for (int i = 0; i < qd; i++) {
      String name = name(p, at, length, length);
      int type = u16(p, at[0], length);
      int cls = u16(p, at[0] + 2, length);
      at[0] += 4;
      if ((cls & ~CLASS_FLAG) == CLASS_IN || (cls & ~CLASS_FLAG) == 255) questions.add(new Question(name, type, (cls & CLASS_FLAG) != 0));
    }
    List<Record> out = new ArrayList<>(records);
    for (int i = 0; i < records; i++) {
      String name = name(p, at, length, length);
      int type = u16(p, at[0], length);
      int cls = u16(p, at[0] + 2, length);
      long ttl = u32(p, at[0] + 4, length);
      int rdlength = u16(p, at[0] + 8, length);
      int rdata = at[0] + 10;
      int end = rdata + rdlength;
      if (end > length) throw new Malformed("record data past the end");
      at[0] = end;
      if ((cls & ~CLASS_FLAG) != CLASS_IN) continue;
      Object data = switch (type) {
        case TYPE_PTR -> name(p, new int[] {rdata}, end, length);
        case TYPE_SRV -> {
          if (rdlength < 7) throw new Malformed("SRV of " + rdlength + " bytes");
          yield new Srv(u16(p, rdata, end), u16(p, rdata + 2, end), u16(p, rdata + 4, end), name(p, new int[] {rdata + 6}, end, length));
        }
        case TYPE_TXT -> txt(p, rdata, end);
        case TYPE_A -> {
          if (rdlength != 4) throw new Malformed("A of " + rdlength + " bytes");
          yield new byte[] {p[rdata], p[rdata + 1], p[rdata + 2], p[rdata + 3]};
        }
        default -> null;
      };
      out.add(new Record(name, type, (cls & CLASS_FLAG) != 0, ttl, data));
    }
    return new Message((flags & 0x8000) != 0, questions, out);
  }

  /**
   * A name at {@code at[0]}, which moves past it (past the first pointer, if it jumps), read no
   * further than {@code limit} until a pointer leads elsewhere in the {@code length}-byte message.
   * Names are compared lower-case.
   */
  private static String name(byte[] p, int[] at, int limit, int length) throws Malformed {
    StringBuilder b = new StringBuilder(64);
    int pos = at[0];
    int jumps = 0;
    boolean jumped = false;
    int bytes = 0;
    while (true) {
      if (pos >= limit) throw new Malformed("name past the end");
      int len = p[pos] & 0xFF;
      if ((len & 0xC0) == 0xC0) {
        if (pos + 1 >= limit) throw new Malformed("pointer past the end");
        int target = ((len & 0x3F) << 8) | (p[pos + 1] & 0xFF);
        if (target >= pos || ++jumps > MAX_JUMPS) throw new Malformed("name pointer forward or looping");
        if (!jumped) at[0] = pos + 2;
        jumped = true;
        pos = target;
        limit = length; // a pointer from record data points into the message before it
        continue;
      }
      if ((len & 0xC0) != 0) throw new Malformed("unknown label type");
      if (len == 0) {
        if (!jumped) at[0] = pos + 1;
        break;
      }
      if (pos + 1 + len > limit) throw new Malformed("label past the end");
      bytes += len + 1;
      if (bytes > 255) throw new Malformed("name longer than 255 bytes");
      if (b.length() > 0) b.append('.');
      b.append(new String(p, pos + 1, len, StandardCharsets.UTF_8));
      pos += 1 + len;
    }
    return b.toString().toLowerCase(Locale.ROOT);
  }

  private static List<String> txt(byte[] p, int at, int end) throws Malformed {
    List<String> out = new ArrayList<>();
    while (at < end) {
      int len = p[at] & 0xFF;
      if (at + 1 + len > end) throw new Malformed("TXT string past its record");
      if (len > 0) out.add(new String(p, at + 1, len, StandardCharsets.UTF_8));
      at += 1 + len;
    }
    return out;
  }

  private static int u16(byte[] p, int at, int limit) throws Malformed {
    if (at + 2 > limit) throw new Malformed("truncated at byte " + at);
    return ((p[at] & 0xFF) << 8) | (p[at + 1] & 0xFF);
  }

  private static long u32(byte[] p, int at, int limit) throws Malformed {
    if (at + 4 > limit) throw new Malformed("truncated at byte " + at);
    return ((long) u16(p, at, limit) << 16) | u16(p, at + 2, limit);
  }

  // ---- Encoding -------------------------------------------------------------------------------

  /** A query (id 0, as RFC 6762 asks of multicast queries). */
  static byte[] query(List<Question> questions) {
    ByteArrayOutputStream out = header(0, questions.size(), 0);
    for (Question q : questions) {
      writeName(out, q.name());
      u16(out, q.type());
      u16(out, CLASS_IN | (q.unicast() ? CLASS_FLAG : 0));
    }
    return out.toByteArray();
  }

  /** A response: authoritative, id 0, every record an answer. */
  static byte[] response(List<Record> records) {
    ByteArrayOutputStream out = header(0x8400, 0, records.size());
    for (Record r : records) {
      writeName(out, r.name());
      u16(out, r.type());
      u16(out, CLASS_IN | (r.cacheFlush() ? CLASS_FLAG : 0));
      u16(out, (int) (r.ttl() >>> 16));
      u16(out, (int) r.ttl());
      ByteArrayOutputStream data = new ByteArrayOutputStream();
      switch (r.type()) {
        case TYPE_PTR -> writeName(data, (String) r.data());
        case TYPE_SRV -> {
          Srv s = (Srv) r.data();
          u16(data, s.priority());
          u16(data, s.weight());
          u16(data, s.port());
          writeName(data, s.target());
        }
        case TYPE_TXT -> {
          @SuppressWarnings("unchecked")
          List<String> strings = (List<String>) r.data();
          for (String s : strings) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > 255) throw new IllegalArgumentException("a TXT string is at most 255 bytes: " + s);
            data.write(b.length);
            data.writeBytes(b);
          }
          if (strings.isEmpty()) data.write(0);
        }
        case TYPE_A -> data.writeBytes((byte[]) r.data());
        default -> throw new IllegalArgumentException("cannot write type " + r.type());
      }
      u16(out, data.size());
      out.writeBytes(data.toByteArray());
    }
    return out.toByteArray();
  }

  private static ByteArrayOutputStream header(int flags, int questions, int answers) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    u16(out, 0);
    u16(out, flags);
    u16(out, questions);
    u16(out, answers);
    u16(out, 0);
    u16(out, 0);
    return out;
  }

  private static void writeName(ByteArrayOutputStream out, String name) {
    for (String label : name.split("\\.")) {
      byte[] b = label.getBytes(StandardCharsets.UTF_8);
      if (b.length == 0 || b.length > 63) throw new IllegalArgumentException("a DNS label is 1 to 63 bytes: '" + label + "' in " + name);
      out.write(b.length);
      out.writeBytes(b);
    }
    out.write(0);
  }

  private static void u16(ByteArrayOutputStream out, int v) {
    out.write(v >>> 8);
    out.write(v);
  }
}
