package dev.overlay.broadcast;

import dev.overlay.config.PlumtreeConfig;
/**
 * How a node's message caches keep what they hold. A memory layout, not protocol behaviour: both
 * give the same answers, and a node's outputs are the same whichever it uses.
 *
 * <p>Not in {@link PlumtreeConfig}: only the simulator chooses, and it is no setting a user
 * should meet. It is passed to {@code NodeState}'s constructor.
 */
public enum CacheLayout {
  /**
   * Fields in primitive arrays and payloads copied into one byte array per stream: a busy cache
   * is a few large arrays the garbage collector never looks inside (see {@link MessageCache}).
   * What real nodes use.
   */
  ARENA,
  /**
   * The message objects themselves. For the simulator, where thousands of nodes share each
   * message object and a copy per node would multiply the heap.
   */
  SHARED_OBJECTS
}
