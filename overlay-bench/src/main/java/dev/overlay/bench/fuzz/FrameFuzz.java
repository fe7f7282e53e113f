package dev.overlay.bench.fuzz;

import dev.overlay.protocol.Message;
import dev.overlay.transport.FrameDecoderProbe;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;

/**
 * Fuzz target: any bytes a peer sends. The framing decoder either yields frames or refuses the
 * stream; each frame either decodes (on the hand-written fast path and through protobuf, to the
 * same message) or is refused with a {@link WireException}. Nothing else may happen: no other
 * exception, no hang, no leaked buffer. A decoded message survives encoding again.
 */
public final class FrameFuzz {

  private FrameFuzz() {}

  public static void fuzzerTestOneInput(byte[] input) {
    for (byte[] frame : FrameDecoderProbe.frames(input)) check(frame);
    check(input); // the bytes as one frame body, as well
  }

  private static void check(byte[] body) {
    Message slow;
    try {
      slow = WireCodec.decode(body);
    } catch (WireException e) {
      slow = null;
    }
    Message fast = FrameDecoderProbe.decodeFast(body);
    if (slow != null && fast != null && !slow.equals(fast)) {
      throw new IllegalStateException("fast path and protobuf disagree: " + fast + " / " + slow);
    }
    if (slow != null) {
      Message again;
      try {
        again = WireCodec.decode(WireCodec.encode(slow));
      } catch (WireException e) {
        throw new IllegalStateException("a decoded message does not survive encoding: " + slow, e);
      }
      if (!again.equals(slow)) throw new IllegalStateException("round trip changed " + slow + " into " + again);
    }
  }
}
