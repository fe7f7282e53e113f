package dev.overlay.config;

/** How a stream's broadcast trees are keyed. */
public enum TreeStrategy {
  /** One tree per stream, shared by every publisher: the Plumtree paper's design. */
  SHARED,
  /**
   * One tree per (stream, publisher): each publisher's tree converges to its own low-latency
   * shape, at the cost of a small eager/lazy set per active publisher (as Partisan keys its
   * sets by root, and Streamr's PlumTree pauses neighbours per message chain).
   */
  PER_PUBLISHER
}
