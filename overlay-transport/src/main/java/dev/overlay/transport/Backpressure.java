package dev.overlay.transport;

import java.util.function.LongSupplier;

/**
 * When the node stops reading. Excess load must be refused at the publisher, not shed inside the
 * overlay and then repaired: shedding made the repair traffic that turned overload into collapse.
 * So, while any link is congested (not writable: Netty holds more than its high water mark for
 * it), the node reads from none of its links, and TCP carries the pressure back, hop by hop, to
 * the publisher, whose {@code publish} then refuses (QUEUE_FULL, and
 * {@code OverlayNode.publishable()} to wait on). Reading resumes once every link is writable
 * again (below the low water mark: Netty's marks are the hysteresis).
 *
 * <p>Limits keep it from hurting more than it helps. One connection carries every stream, and
 * links in a cycle (eager both ways, or two publishers each upstream of the other) could wait on
 * each other for ever: so a paused node still reads from the peers it is congested towards
 * (LinkManager.applyReading); a pause one congested peer alone holds for {@code maxPause}
 * takes that peer off the eager path, so its backlog drains with nothing shed; after ten times
 * that the node reads again whatever the backlogs (a lane may then reach its hard cap and
 * shed).
 * Loop-confined, but for {@link #congested()}.
 */
final class Backpressure {

  /** What pausing and resuming does: LinkManager turns reading off or on for every link. */
  interface Reading {
    void reading(boolean on);
  }

  private final long maxPauseNanos;
  private final LongSupplier clock;
  private final Reading reading;
  private int congestedLinks;
  private boolean paused;
  private long pausedAt;
  private volatile boolean congested;
  private long pauses;
  private long pausedNanos;
  private long forcedResumes;

  Backpressure(long maxPauseNanos, LongSupplier clock, Reading reading) {
    this.maxPauseNanos = maxPauseNanos;
    this.clock = clock;
    this.reading = reading;
  }

  /**
   * A link's congestion may have changed: it was {@code wasCongested} and is {@code congested}
   * now. Returns {@code congested}.
   */
  boolean update(boolean wasCongested, boolean congested) {
    if (congested != wasCongested) {
      congestedLinks += congested ? 1 : -1;
      if (congestedLinks == 1 && congested) pause();
      else if (congestedLinks == 0) resume();
    }
    return congested;
  }

  /** A congested link went away. */
  void forget(boolean wasCongested) {
    if (wasCongested && --congestedLinks == 0) resume();
  }

  /** What a long pause calls for. */
  enum Verdict { NONE, DEMOTE, RESUME }

  /**
   * Called about once a second. A pause of {@code maxPause} with one congested link has found
   * its bottleneck: that peer reads more slowly than everything else and is taken off the eager
   * path (its backlog then drains, with nothing shed). With several congested links the overlay
   * is saturated, and the pause goes on carrying the pressure back to the publisher. A pause ten
   * times as long is ended by reading again (a lane may then fill and shed): cycles of links
   * waiting on each other must not stall the node for good.
   */
  Verdict check() {
    if (!paused) return Verdict.NONE;
    long pausedFor = clock.getAsLong() - pausedAt;
    if (pausedFor >= 10 * maxPauseNanos) {
      forcedResumes++;
      resumeReading();
      return Verdict.RESUME;
    }
    return pausedFor >= maxPauseNanos && congestedLinks == 1 ? Verdict.DEMOTE : Verdict.NONE;
  }

  /** Whether the node is reading nothing now; new links must not read either. */
  boolean paused() {
    return paused;
  }

  /** Whether some link is congested: publishes are refused. Any thread. */
  boolean congested() {
    return congested;
  }

  long pauses() {
    return pauses;
  }

  long pausedMillis() {
    return (pausedNanos + (paused ? clock.getAsLong() - pausedAt : 0)) / 1_000_000;
  }

  long forcedResumes() {
    return forcedResumes;
  }

  private void pause() {
    congested = true;
    if (paused) return;
    paused = true;
    pausedAt = clock.getAsLong();
    pauses++;
    reading.reading(false);
  }

  private void resume() {
    congested = false;
    if (paused) resumeReading();
  }

  private void resumeReading() {
    paused = false;
    pausedNanos += clock.getAsLong() - pausedAt;
    reading.reading(true);
  }
}
