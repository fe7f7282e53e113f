package dev.overlay.sim;

/**
 * Figures over one window of a simulation's messages; see {@link SimReport}. {@code
 * directLatencyMsP99} is the p99 of the direct publisher-to-subscriber link latencies of the
 * same deliveries: the physical limit no overlay path can beat.
 */
public record WindowStats(int messages, double reliabilityMin, double reliabilityMean, double rmr, int ldhMax,
    double ldhMean, double latencyMsP50, double latencyMsP90, double latencyMsP99, double latencyMsMax,
    double rdpP50, double rdpP99, double controlPerDelivery, double duplicatesPerDelivery, long deliveries,
    double directLatencyMsP99) {}
