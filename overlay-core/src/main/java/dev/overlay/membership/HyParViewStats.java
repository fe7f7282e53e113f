package dev.overlay.membership;

/** Counters of one stream's membership layer. */
public final class HyParViewStats {
  long joinsSent;
  long joinsReceived;
  long neighborRequestsSent;
  long neighborRequestsRefused;
  long neighborRequestsRejected;
  long neighborRequestsTimedOut;
  long evictions;
  long shufflesStarted;
  long shufflesAccepted;
  long introductionsRequested;

  public long joinsSent() {
    return joinsSent;
  }

  public long joinsReceived() {
    return joinsReceived;
  }

  public long neighborRequestsSent() {
    return neighborRequestsSent;
  }

  /** Requests we refused (ours was full and theirs was low priority). */
  public long neighborRequestsRefused() {
    return neighborRequestsRefused;
  }

  /** Our requests that were refused. */
  public long neighborRequestsRejected() {
    return neighborRequestsRejected;
  }

  public long neighborRequestsTimedOut() {
    return neighborRequestsTimedOut;
  }

  public long evictions() {
    return evictions;
  }

  public long shufflesStarted() {
    return shufflesStarted;
  }

  public long shufflesAccepted() {
    return shufflesAccepted;
  }

  public long introductionsRequested() {
    return introductionsRequested;
  }
}
