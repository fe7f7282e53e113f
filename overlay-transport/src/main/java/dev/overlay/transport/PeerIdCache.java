package dev.overlay.transport;

import dev.overlay.core.PeerId;

/**
 * Hands out one {@link PeerId} instance per id seen recently, so that decoding a message does
 * not allocate one per frame, and the core's identity fast paths hit. Direct-mapped, 256 slots;
 * a collision just replaces the slot. Used from one thread (the node's loop).
 */
final class PeerIdCache {

  private final PeerId[] slots = new PeerId[256];

  PeerId intern(long w0, long w1, long w2, long w3) {
    int i = (int) (w0 ^ (w0 >>> 32) ^ w3) & 0xFF;
    PeerId p = slots[i];
    if (p != null && p.w0() == w0 && p.w1() == w1 && p.w2() == w2 && p.w3() == w3) return p;
    p = new PeerId(w0, w1, w2, w3);
    slots[i] = p;
    return p;
  }

  PeerId intern(PeerId id) {
    return intern(id.w0(), id.w1(), id.w2(), id.w3());
  }
}
