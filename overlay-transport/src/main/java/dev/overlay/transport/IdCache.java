package dev.overlay.transport;

import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;

/**
 * Hands out one {@link PeerId} and one {@link StreamId} instance per id seen recently, so that
 * decoding a message allocates neither per frame and the core's identity fast paths hit.
 * Direct-mapped tables (256 peers, 64 streams); a collision just replaces the slot. Used from
 * one thread (the node's loop).
 *
 * <p>Internal, not API: public only so that a JMH benchmark in overlay-bench can measure it.
 */
public final class IdCache {

  private final PeerId[] peers = new PeerId[256];
  private final StreamId[] streams = new StreamId[64];

  PeerId intern(long w0, long w1, long w2, long w3) {
    int i = (int) (w0 ^ (w0 >>> 32) ^ w3) & 0xFF;
    PeerId p = peers[i];
    if (p != null && p.w0() == w0 && p.w1() == w1 && p.w2() == w2 && p.w3() == w3) return p;
    p = new PeerId(w0, w1, w2, w3);
    peers[i] = p;
    return p;
  }

  PeerId intern(PeerId id) {
    return intern(id.w0(), id.w1(), id.w2(), id.w3());
  }

  StreamId stream(long value) {
    int i = (int) (value ^ (value >>> 32)) & 63;
    StreamId s = streams[i];
    if (s != null && s.value() == value) return s;
    s = new StreamId(value);
    streams[i] = s;
    return s;
  }
}
