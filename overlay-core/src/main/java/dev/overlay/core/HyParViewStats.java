package dev.overlay.core;

/**
 * One stream's membership counters (HyParView), at one moment; totals since the node joined the
 * stream.
 *
 * @param joinsSent JOINs this node sent to enter the stream's overlay
 * @param joinsReceived JOINs other nodes sent this node
 * @param neighborRequestsSent NEIGHBOR requests sent to fill the active view
 * @param neighborRequestsRefused NEIGHBOR requests this node refused (its view was full and theirs was low priority)
 * @param neighborRequestsRejected this node's NEIGHBOR requests that others refused
 * @param neighborRequestsTimedOut this node's NEIGHBOR requests that got no answer in time
 * @param evictions active neighbours dropped to make room for another
 * @param shufflesStarted SHUFFLEs this node started
 * @param shufflesAccepted SHUFFLEs from others this node answered
 * @param introductionsRequested times this node asked its introducer (tracker, seeds) for members
 * @param reintroductions members of a periodic re-introduction this node asked into its full active view (what merges
 *     islands after a partition)
 * @param islandsSuspected times half the active view was lost within seconds, without goodbyes (an
 *     {@link OverlayEvent.IslandSuspected} each)
 * @param churnRequests peers asked into the active view to replace the worst-scored neighbour (see
 *     {@code HyParViewConfig.churnInterval})
 * @param churnedOut worst-scored neighbours let go once their replacement accepted (a
 *     {@link OverlayEvent.NeighborDown} each, its reason giving the score)
 */
public record HyParViewStats(long joinsSent, long joinsReceived, long neighborRequestsSent, long neighborRequestsRefused,
    long neighborRequestsRejected, long neighborRequestsTimedOut, long evictions, long shufflesStarted, long shufflesAccepted,
    long introductionsRequested, long reintroductions, long islandsSuspected, long churnRequests, long churnedOut) {}
