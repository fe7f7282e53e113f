/**
 * Every setting of a node, immutable and checked when built. Each class lists its defaults and
 * where they come from (a paper, a system we learned from, or a measurement of ours).
 */
package dev.overlay.config;
