/**
 * A node's figures as Micrometer meters ({@link dev.overlay.metrics.OverlayMetrics}). Micrometer
 * ({@code io.micrometer:micrometer-core}) is an optional dependency: add it to use this package.
 */
package dev.overlay.metrics;
