package dev.overlay.runtime;

import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.spi.Introducer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An application's {@link Introducer} as the runtime uses one. The application's code is not
 * trusted to behave: what it throws is logged and taken as no answer (an exception on the loop
 * would skip the rest of the loop's turn: a publish's result, the next timer wake-up), and its
 * answers are checked and bounded as a tracker's are (no nulls, at most
 * {@link #MAX_PEERS_PER_ANSWER} peers, one answer per question).
 */
public final class ApplicationIntroducer implements IntroductionSource {

  /** As many peers as a tracker's answer may carry (WireCodec's limit on a peer list). */
  static final int MAX_PEERS_PER_ANSWER = 64;

  private static final Logger log = LoggerFactory.getLogger(ApplicationIntroducer.class);

  private final java.util.function.Function<StreamId, String> names;
  private final Introducer introducer;

  public ApplicationIntroducer(NodeRuntime runtime, Introducer introducer) {
    this(runtime::streamName, introducer);
  }

  /** @param names a stream's name as the application gave it */
  ApplicationIntroducer(java.util.function.Function<StreamId, String> names, Introducer introducer) {
    this.names = names;
    this.introducer = introducer;
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    String name = names.apply(stream);
    AtomicBoolean answered = new AtomicBoolean();
    try {
      introducer.introduce(name, peers -> {
        List<PeerInfo> checked = check(name, peers);
        if (checked == null || !answered.compareAndSet(false, true)) return;
        try {
          answer.accept(checked);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
          // An answer after the node closed: nobody asks any more.
        }
      });
    } catch (RuntimeException e) {
      log.warn("introducer {} failed for stream {}: {}", introducer.getClass().getName(), name, e.toString());
    }
  }

  @Override
  public void closing() {
    try {
      introducer.close();
    } catch (RuntimeException e) {
      log.warn("introducer {} failed to close: {}", introducer.getClass().getName(), e.toString());
    }
  }

  /** The answer as the core may take it, or null when it is no answer at all. */
  static List<PeerInfo> check(String stream, List<PeerInfo> peers) {
    if (peers == null) {
      log.warn("introducer answered null for stream {}: taken as no answer", stream);
      return null;
    }
    List<PeerInfo> out = new ArrayList<>(Math.min(peers.size(), 4 * MAX_PEERS_PER_ANSWER));
    for (PeerInfo p : peers) {
      if (p != null) out.add(p);
    }
    if (out.size() > MAX_PEERS_PER_ANSWER) {
      Collections.shuffle(out, ThreadLocalRandom.current()); // a sample, not the list's head: any member may be the way in
      out = out.subList(0, MAX_PEERS_PER_ANSWER);
    }
    return List.copyOf(out);
  }
}
