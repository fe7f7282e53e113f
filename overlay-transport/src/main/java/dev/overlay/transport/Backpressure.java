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
 * each other for ever, and a hostile peer that never reads would hold every stream of the node:
 * so a paused node still reads from the peers it is congested towards (LinkManager.applyReading);
 * a link that alone holds the pause for {@code maxPause} has its peer taken off the eager path, so
 * that once it drains it no longer sets the pace; and a link still unwritable after
 * {@code slowPeerTimeout} is closed, so a peer that never reads holds the node no longer than
 * that. A pause that
 * lasts ten times {@code maxPause} anyway ends by reading again (publishes stay refused while
 * links are congested). Loop-confined, but for {@link #congested()}.
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
  enum Verdict { NONE, RESUME }

  /**
   * Called a few times per {@code maxPause}. Each link's own time is LinkManager's business (its
   * peer demoted, or the link closed for not reading); this is the backstop: a pause ten times
   * as long as {@code maxPause} is ended by reading again, whatever holds it.
   */
  Verdict check() {
    if (!paused) return Verdict.NONE;
    if (clock.getAsLong() - pausedAt < 10 * maxPauseNanos) return Verdict.NONE;
    forcedResumes++;
    resumeReading();
    return Verdict.RESUME;
  }

  /** How many links are congested now. */
  int congestedLinks() {
    return congestedLinks;
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

  /** What backpressure did, for the node's counters. */
  record Counters(long pauses, long pausedMillis, long forcedResumes, boolean pausedNow, int congestedLinks) {
    void addTo(java.util.Map<String, Long> out) {
      out.put("backpressure_pauses", pauses);
      out.put("backpressure_paused_ms", pausedMillis);
      out.put("backpressure_forced_resumes", forcedResumes);
      out.put("backpressure_paused_now", pausedNow ? 1L : 0L);
    }
  }

  Counters counters() {
    return new Counters(pauses(), pausedMillis(), forcedResumes(), paused(), congestedLinks());
  }
}
