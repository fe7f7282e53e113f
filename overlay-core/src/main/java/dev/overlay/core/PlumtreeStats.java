package dev.overlay.core;

import dev.overlay.config.PlumtreeConfig;
/** A snapshot of one stream's broadcast counters. */
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
    /** Times a tree stopped delivering while peers announced newer messages (see PlumtreeConfig.stallTimeout). */
    long stalls,
    /** Holes in a publisher's sequence that opened on arrival and were queued for fetching. */
    long gapsRepaired,
    /** Messages at the hop limit: delivered, not forwarded. */
    long hopLimited,
    /** Frames that asked for more repair work than one frame may cause. */
    long workBudgetHits,
    /** Neighbours taken off the eager path because their link stayed backlogged. */
    long demotions,
    /** GRAFTs for a message not answered: the asker was over its answer budget. */
    long graftsRefused,
    /** Messages announced and not yet received, now (each waits for the tree or is being fetched). */
    int missingNow,
    /** Publishers with announced ranges ahead of their tree, now. */
    int aheadNow,
    /** Whether the node is backpressured now, as the broadcast last heard (GRAFTs go unanswered meanwhile). */
    boolean saturatedNow,
    /** GRAFTs for a message not answered because the node was backpressured. */
    long graftsDeferred,
    /** Missing messages kept in a range because the missing table was full (fetched as it empties). */
    long missingDeferred) {}
