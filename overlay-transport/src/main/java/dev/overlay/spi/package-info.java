/**
 * Extension points: what an application may plug into a node. Each is an interface with a narrow
 * context, so that an extension sees nothing of the node's internals and the node can change
 * behind it.
 */
package dev.overlay.spi;
