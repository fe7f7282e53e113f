/**
 * An Overlay node: {@link dev.overlay.OverlayNode} and its builder, subscriptions and the
 * messages they deliver, the node's events and snapshots. docs/api.md is the guide: the life of a
 * node, which thread runs what, what delivery promises, how errors show.
 */
package dev.overlay;
