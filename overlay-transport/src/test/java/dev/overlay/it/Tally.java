package dev.overlay.it;

import dev.overlay.MessageHandler;
import dev.overlay.protocol.Message;
import java.util.BitSet;

/**
 * What one subscriber received of a test stream whose payloads start with the message number
 * (8 bytes, big-endian): which numbers, and how many arrived twice (which must never happen).
 */
public final class Tally implements MessageHandler {

  private final BitSet got = new BitSet();
  private long deliveries;
  private long duplicates;
  private long lagged;

  public static byte[] payload(long number, int size) {
    byte[] p = new byte[Math.max(8, size)];
    for (int i = 7; i >= 0; i--) {
      p[i] = (byte) number;
      number >>>= 8;
    }
    return p;
  }

  static long number(byte[] p) {
    long v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (p[i] & 0xFF);
    return v;
  }

  @Override
  public synchronized void onMessage(dev.overlay.StreamMessage message) {
    int n = (int) number(message.copyPayload());
    if (got.get(n)) duplicates++;
    got.set(n);
    deliveries++;
  }

  @Override
  public synchronized void onLagged(long missed) {
    lagged += missed;
  }

  /** Whether every number in [from, to) arrived. */
  public synchronized boolean hasAll(long from, long to) {
    return got.nextClearBit((int) from) >= to;
  }

  /** The first number in [from, to) that did not arrive, or -1. */
  public synchronized long firstMissing(long from, long to) {
    int m = got.nextClearBit((int) from);
    return m >= to ? -1 : m;
  }

  /** The numbers in [from, to) that did not arrive, as runs ("151-155, 190"), at most {@code max} runs. */
  public synchronized String missingRuns(long from, long to, int max) {
    StringBuilder sb = new StringBuilder();
    int runs = 0;
    int m = got.nextClearBit((int) from);
    while (m < to) {
      int next = got.nextSetBit(m);
      int end = next < 0 || next > to ? (int) to : next; // the run is [m, end)
      if (runs++ == max) return sb.append(", ...").toString();
      sb.append(sb.length() == 0 ? "" : ", ").append(m).append(end - 1 > m ? "-" + (end - 1) : "");
      m = got.nextClearBit(end);
    }
    return sb.toString();
  }

  public synchronized long missingIn(long from, long to) {
    return (to - from) - got.get((int) from, (int) to).cardinality();
  }

  public synchronized long duplicates() {
    return duplicates;
  }

  public synchronized long lagged() {
    return lagged;
  }

  public synchronized long deliveries() {
    return deliveries;
  }
}
