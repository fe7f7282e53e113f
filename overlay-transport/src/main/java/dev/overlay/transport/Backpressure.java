package dev.overlay.transport;

import java.util.function.LongSupplier;

/**
 * When the node stops reading. Excess load must be refused at the publisher, not shed inside the
 * overlay and then repaired: shedding made the repair traffic that turned overload into collapse.
 * So, while any link's data backlog is at or above {@code congestionBytes}, the node reads from
 * none of its links, and TCP carries the pressure back, hop by hop, to the publisher, whose
 * {@code publish} then refuses (QUEUE_FULL, and {@code OverlayNode.publishable()} to wait on).
 * Reading resumes once every backlog is at most half that.
 *
 * <p>Limits keep it from hurting more than it helps. One connection carries every stream, and
 * links in a cycle (eager both ways, or two publishers each upstream of the other) could wait on
 * each other for ever: after {@code maxPause} the congested peers are taken off the eager path,
 * so their backlogs drain with nothing shed; after ten times that the node reads again whatever
 * the backlogs (a lane may then reach its hard cap and shed). Loop-confined, but for
 * {@link #congested()}.
 */
final class Backpressure {

  /** What pausing and resuming does: LinkManager turns reading off or on for every link. */
  interface Reading {
    void reading(boolean on);
  }

  private final long congestionBytes;
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

  Backpressure(long congestionBytes, long maxPauseNanos, LongSupplier clock, Reading reading) {
    this.congestionBytes = congestionBytes;
    this.maxPauseNanos = maxPauseNanos;
    this.clock = clock;
    this.reading = reading;
  }

  /**
   * A link's data backlog is now {@code dataBytes}; {@code wasCongested} says whether it counted
   * as congested before. Returns whether it counts as congested now.
   */
  boolean update(boolean wasCongested, long dataBytes) {
    boolean now = wasCongested ? dataBytes > congestionBytes / 2 : dataBytes >= congestionBytes;
    if (now != wasCongested) {
      congestedLinks += now ? 1 : -1;
      if (congestedLinks == 1 && now) pause();
      else if (congestedLinks == 0) resume();
    }
    return now;
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
