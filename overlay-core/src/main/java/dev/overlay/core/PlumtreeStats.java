package dev.overlay.core;

import dev.overlay.config.PlumtreeConfig;

/**
 * A snapshot of one stream's broadcast counters: totals since the stream was joined, and values
 * as they are now (the {@code ...Now} ones).
 *
 * @param delivered messages delivered to this node's subscribers (once each)
 * @param dataReceived data frames received, duplicates included
 * @param duplicates data frames for a message already had
 * @param dataSent data frames sent: pushes and GRAFT answers
 * @param ihavesSent IHAVE frames sent
 * @param ihavesReceived IHAVE frames received
 * @param graftsSent GRAFTs sent
 * @param prunesSent PRUNEs sent
 * @param graftMisses GRAFTs for a message this node no longer caches
 * @param optimizations tree optimisations: a shorter path grafted
 * @param missingEvicted waits for announced messages given up because the missing table was full
 * @param stalls times a tree stopped delivering while peers announced newer messages (see {@link PlumtreeConfig#stallTimeoutNanos})
 * @param gapsRepaired holes in a publisher's sequence that opened on arrival and were queued for fetching
 * @param hopLimited messages at the hop limit: delivered, not forwarded
 * @param workBudgetHits frames that asked for more repair work than one frame may cause
 * @param demotions neighbours taken off the eager path because their link stayed backlogged
 * @param graftsRefused GRAFTs for a message not answered: the asker was over its answer budget
 * @param missingNow messages announced and not yet received, now (each waits for the tree or is being fetched)
 * @param aheadNow publishers with announced ranges ahead of their tree, now
 * @param saturatedNow whether the node is backpressured now, as the broadcast last heard (GRAFTs go unanswered meanwhile)
 * @param graftsDeferred GRAFTs for a message not answered because the node was backpressured
 * @param missingDeferred missing messages kept in a range because the missing table was full (fetched as it empties)
 * @param heldBack messages received inside a hole of their publisher's sequence and not taken, because the seen set was
 *     near its hole limit (see {@link dev.overlay.config.SeenConfig}): fetched again, not lost
 * @param gapsUnrecoverable runs of missing messages whose repair was given up after {@code missingTtl}, each a
 *     {@link OverlayEvent.GapUnrecoverable}
 * @param orderHeldNow messages of a stream joined from a position waiting behind a hole for in-order delivery
 * @param orderSkips holes released over without their messages, each an {@link OverlayEvent.OrderSkipped}
 * @param deliveredLate messages of such a hole that came afterwards and were delivered out of order
 */
public record PlumtreeStats(
    long delivered,
    long dataReceived,
    long duplicates,
    long dataSent,
    long ihavesSent,
    long ihavesReceived,
    long graftsSent,
    long prunesSent,
    long graftMisses,
    long optimizations,
    long missingEvicted,
    long stalls,
    long gapsRepaired,
    long hopLimited,
    long workBudgetHits,
    long demotions,
    long graftsRefused,
    int missingNow,
    int aheadNow,
    boolean saturatedNow,
    long graftsDeferred,
    long missingDeferred,
    long heldBack,
    long gapsUnrecoverable,
    int orderHeldNow,
    long orderSkips,
    long deliveredLate) {}
