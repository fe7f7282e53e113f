/**
 * An Overlay node: {@code dev.overlay} (the node, its builder, messages, snapshots and events),
 * {@code dev.overlay.spi} (extension points) and {@code dev.overlay.metrics} (a node's figures as
 * Micrometer meters, for applications that have Micrometer). Everything else is internal, open to
 * Overlay's own tracker only.
 */
module dev.overlay.transport {
  requires transitive dev.overlay.core;
  // The builder takes a caller's EventLoopGroup: Netty's transport is part of the API.
  requires transitive io.netty.transport;
  // ...and its common module: a caller shuts that group down (EventExecutorGroup).
  requires transitive io.netty.common;
  requires com.google.protobuf;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.handler;
  requires io.netty.resolver.dns;
  requires io.netty.transport.classes.epoll;
  requires io.netty.transport.unix.common;
  requires org.bouncycastle.pkix;
  requires org.bouncycastle.provider;
  requires org.jctools.core;
  requires org.slf4j;
  // Optional: only dev.overlay.metrics uses it, and only an application that has it calls that.
  requires static micrometer.core;
  // Optional: only a node that stores history uses it (dev.overlay.storage).
  requires static rocksdbjni;

  exports dev.overlay;
  exports dev.overlay.spi;
  exports dev.overlay.metrics;

  exports dev.overlay.identity to dev.overlay.tracker;
  exports dev.overlay.nat to dev.overlay.tracker;
  exports dev.overlay.runtime to dev.overlay.tracker;
  exports dev.overlay.storage to dev.overlay.tracker;
  exports dev.overlay.transport to dev.overlay.tracker;
}
