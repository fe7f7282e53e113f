package dev.overlay.runtime;

import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.spi.Introducer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An application's {@link Introducer} as the runtime uses one. The application's code is not
 * trusted to behave:
 * <ul>
 *   <li>It is called after the core's turn, not inside it (the core asks for introductions while
 *       it handles an event): an introducer that calls back into the node (a snapshot, a close)
 *       must not re-enter the core half-way through.</li>
 *   <li>What it throws is logged and taken as no answer: thrown on the loop, it would cut the
 *       loop's turn short (a publish's result, the next timer wake-up).</li>
 *   <li>Its answers are checked and bounded as a tracker's are: no nulls, one answer per
 *       question, at most {@link #MAX_PEERS_PER_ANSWER} peers (a random sample).</li>
 * </ul>
 */
public final class ApplicationIntroducer implements IntroductionSource {

  /** As many peers as a tracker's answer may carry (WireCodec's limit on a peer list). */
  static final int MAX_PEERS_PER_ANSWER = 64;

  private static final Logger log = LoggerFactory.getLogger(ApplicationIntroducer.class);

  private final Function<StreamId, String> names;
  private final Executor afterTurn;
  private final Introducer introducer;

  public ApplicationIntroducer(IntroductionHost host, Introducer introducer) {
    this(host::streamName, host::execute, introducer);
  }

  /**
   * @param names a stream's name as the application gave it
   * @param afterTurn runs the application's code once the current turn of the loop is over
   */
  ApplicationIntroducer(Function<StreamId, String> names, Executor afterTurn, Introducer introducer) {
    this.names = names;
    this.afterTurn = afterTurn;
    this.introducer = introducer;
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    String name = names.apply(stream);
    try {
      afterTurn.execute(() -> ask(name, answer));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // the node is closing: nobody waits for the answer
    }
  }

  private void ask(String name, Consumer<List<PeerInfo>> answer) {
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
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      log.warn("introducer {} failed for stream {}; taken as no answer", introducer.getClass().getName(), name, e);
    }
  }

  @Override
  public void closing() {
    try {
      introducer.close();
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      log.warn("introducer {} failed to close", introducer.getClass().getName(), e);
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
