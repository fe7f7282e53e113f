/**
 * The values a node's API shares with its protocol core: peer and stream ids, a peer's
 * addresses, publish results, the protocol's events and its broadcast counters.
 */
package dev.overlay.core;
