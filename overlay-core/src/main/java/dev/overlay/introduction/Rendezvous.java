package dev.overlay.introduction;

import dev.overlay.core.StreamId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which tracker serves which stream: rendezvous (highest random weight) hashing. Every node
 * ranks the configured trackers for a stream by a hash of (tracker, stream) and uses the first
 * that answers, so trackers need no coordination, each serves about 1/n of the streams, and
 * when one goes down only its streams move, each to its own next tracker.
 *
 * <p>Trackers are named by the string a node is configured with (e.g. {@code "10.0.0.1:30300"}):
 * every node must be given the same names for the same trackers.
 */
public final class Rendezvous {

  private Rendezvous() {}

  /** The trackers in the order a node tries them for {@code stream}. */
  public static <T> List<T> order(List<T> trackers, StreamId stream, java.util.function.Function<T, String> name) {
    List<T> sorted = new ArrayList<>(trackers);
    sorted.sort(Comparator.comparingLong((T t) -> weight(name.apply(t), stream)).reversed()
        .thenComparing(t -> name.apply(t)));
    return sorted;
  }

  /** The string list's order for {@code stream}. */
  public static List<String> order(List<String> trackers, StreamId stream) {
    return order(trackers, stream, s -> s);
  }

  /** The weight of a (tracker, stream) pair: a 64-bit hash, the same on every JVM. */
  public static long weight(String tracker, StreamId stream) {
    long h = 0xcbf29ce484222325L; // FNV-1a over the name, then mixed with the stream
    for (byte b : tracker.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return mix(h ^ mix(stream.value()));
  }

  /** SplitMix64's finaliser: every input bit moves every output bit. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
