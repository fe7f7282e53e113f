/** The tracker: a standalone introduction server, also embeddable (TrackerServer). */
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
  requires org.slf4j;

  exports dev.overlay.tracker;
  // picocli sets the command's option fields by reflection.
  opens dev.overlay.tracker to info.picocli;
}
