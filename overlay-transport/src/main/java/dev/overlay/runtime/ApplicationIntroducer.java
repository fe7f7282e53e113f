package dev.overlay.runtime;

import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.spi.Introducer;
import java.util.List;
import java.util.function.Consumer;

/**
 * An application's {@link Introducer} as the runtime uses one. The application sees stream names
 * and nothing of the runtime; its answers are copied (it may reuse or change its list) and its
 * extra answers are ignored (an answer is for one question).
 */
public final class ApplicationIntroducer implements IntroductionSource {

  private final NodeRuntime runtime;
  private final Introducer introducer;

  public ApplicationIntroducer(NodeRuntime runtime, Introducer introducer) {
    this.runtime = runtime;
    this.introducer = introducer;
  }

  @Override
  public void introduce(StreamId stream, Consumer<List<PeerInfo>> answer) {
    java.util.concurrent.atomic.AtomicBoolean answered = new java.util.concurrent.atomic.AtomicBoolean();
    introducer.introduce(runtime.streamName(stream), peers -> {
      if (peers != null && answered.compareAndSet(false, true)) answer.accept(List.copyOf(peers));
    });
  }

  @Override
  public void closing() {
    introducer.close();
  }
}
