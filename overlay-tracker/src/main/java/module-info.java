/**
 * The tracker: a standalone introduction server, run through its main class
 * ({@code dev.overlay.tracker.TrackerMain}). It exports nothing: its classes speak the node's
 * internal protocol and are no API (tests and the benchmarks embed {@code TrackerServer} from
 * the class path).
 */
module dev.overlay.tracker {
  requires dev.overlay.transport;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.common;
  requires io.netty.handler;
  requires io.netty.transport;
  requires io.netty.transport.classes.epoll;
  requires info.picocli;
  requires java.net.http; // HealthProbe
  requires micrometer.core;
  requires micrometer.registry.prometheus;
  requires org.slf4j;

  // picocli sets the command's option fields by reflection.
  opens dev.overlay.tracker to info.picocli;
  opens dev.overlay.storagenode to info.picocli;
}
