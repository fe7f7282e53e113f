package dev.overlay.sim;

import dev.overlay.core.StreamId;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * How a simulated node that asks for introductions learns some members of the stream. The
 * default picks random live members, which is what a tracker does; the tracker module plugs its
 * real state machine in here.
 */
public interface SimIntroducer {

  /** What the simulator lets an introducer see and do. */
  interface Context {
    long now();

    RandomGenerator random();

    /** The live nodes that have joined the stream, in join order. */
    List<Integer> members(StreamId stream);

    /** Node {@code node}'s id, incarnation and address, as it would register with a tracker. */
    dev.overlay.core.PeerInfo info(int node);

    /** Answers node {@code node}'s request after {@code delayNanos}. */
    void answer(int node, StreamId stream, List<Integer> peers, long delayNanos);
  }

  void request(Context ctx, int node, StreamId stream);

  /** Answers with up to {@code count} random live members, after one round trip. */
  static SimIntroducer randomMembers(int count, long roundTripNanos) {
    return (ctx, node, stream) -> {
      List<Integer> members = ctx.members(stream);
      List<Integer> picked = new java.util.ArrayList<>(count);
      if (members.size() <= count + 1) {
        for (Integer m : members) {
          if (m != node) picked.add(m);
        }
      } else {
        // Rejection sampling: cheap, because the stream is much larger than the sample.
        while (picked.size() < count) {
          Integer m = members.get(ctx.random().nextInt(members.size()));
          if (m != node && !picked.contains(m)) picked.add(m);
        }
      }
      ctx.answer(node, stream, picked, roundTripNanos);
    };
  }
}
