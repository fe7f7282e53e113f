/**
 * Overlay's protocol core: HyParView membership and Plumtree broadcast as a pure state machine.
 * Applications see two packages of it: {@code dev.overlay.config}, the configuration, and
 * {@code dev.overlay.core}, the values the node's API shares with the core (peer ids, stream
 * ids, publish results, protocol events). The machine itself is open to Overlay's own modules
 * only: it may change in any release.
 */
module dev.overlay.core {
  requires com.google.protobuf;

  exports dev.overlay.config;
  exports dev.overlay.core;

  exports dev.overlay.auth to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.broadcast to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.delivery to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.introduction to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.membership to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.node to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.protocol to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.stream to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.util to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.wire to dev.overlay.transport, dev.overlay.tracker;
  exports dev.overlay.wire.proto to dev.overlay.transport, dev.overlay.tracker;
}
