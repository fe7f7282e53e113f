package dev.overlay.tracker;

import dev.overlay.transport.CloseReason;
import dev.overlay.transport.LinkManager;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * {@code GET /metrics} (Prometheus text format) and {@code GET /health}, on Netty's HTTP codec.
 * Runs on the tracker's loop, so it reads the state directly.
 *
 * <p>Bounded like the rest of the tracker: at most {@link #MAX_CONNECTIONS} connections; a
 * request must be complete within {@link #REQUEST_DEADLINE_SECONDS} of the connection opening
 * or of the previous answer (a slowloris client trickling headers is closed), and an idle
 * keep-alive connection is closed after {@link #IDLE_SECONDS}; a client that does not read its
 * answers (pipelining requests) is closed once its connection stops being writable, instead of
 * growing the outbound buffer.
 */
final class TrackerHttp {

  static final int MAX_CONNECTIONS = 64;
  static final int REQUEST_DEADLINE_SECONDS = 5;
  static final int IDLE_SECONDS = 10;

  private final TrackerServer server;
  private int open;
  long refusedConnections;
  long deadlineCloses;
  long notReadingCloses;
  private final Class<? extends ServerSocketChannel> channelClass;
  private Channel channel;
  private long lastJoins;
  private long lastJoinsAt = System.nanoTime();
  private double joinsPerSecond;

  TrackerHttp(TrackerServer server, Class<? extends ServerSocketChannel> channelClass) {
    this.server = server;
    this.channelClass = channelClass;
  }

  InetSocketAddress bind(InetSocketAddress address, EventLoop loop) throws InterruptedException {
    channel = new ServerBootstrap().group(loop, loop).channel(channelClass)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (open >= MAX_CONNECTIONS) {
              refusedConnections++;
              ch.close();
              return;
            }
            open++;
            ch.closeFuture().addListener(f -> open--);
            ch.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(16 * 1024, 64 * 1024));
            ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192), new HttpObjectAggregator(4096), new Deadline(), new Handler());
          }
        }).bind(address).sync().channel();
    return (InetSocketAddress) channel.localAddress();
  }

  void close() {
    if (channel != null) channel.close();
  }

  /** The metrics page; on the loop. */
  String metrics() {
    TrackerState state = server.state();
    TrackerState.Stats s = state.stats();
    long now = System.nanoTime();
    if (now - lastJoinsAt >= 1_000_000_000L) { // a rate over the time since the last scrape (at least 1 s)
      joinsPerSecond = (s.joinsAnswered() - lastJoins) * 1e9 / (now - lastJoinsAt);
      lastJoins = s.joinsAnswered();
      lastJoinsAt = now;
    }
    StringBuilder b = new StringBuilder(2048);
    gauge(b, "overlay_tracker_registrations", "Registered (node, stream) pairs.", state.registrations());
    gauge(b, "overlay_tracker_streams", "Streams with at least one registered node.", state.streams());
    gauge(b, "overlay_tracker_links", "Open links from nodes.", server.linksOpen);
    gauge(b, "overlay_tracker_joins_per_second", "Introductions answered per second, since the previous scrape.", joinsPerSecond);
    counter(b, "overlay_tracker_registers_total", "Registrations and heartbeats accepted.", s.registers());
    counter(b, "overlay_tracker_joins_total", "Introductions answered.", s.joinsAnswered());
    counter(b, "overlay_tracker_leaves_total", "Nodes that left a stream.", s.leaves());
    counter(b, "overlay_tracker_expired_total", "Registrations forgotten for want of a heartbeat.", s.expired());
    counter(b, "overlay_tracker_stale_total", "Statuses dropped because a newer one from the same node was already held.", s.stale());
    b.append("# HELP overlay_tracker_refused_total Requests refused, by reason.\n# TYPE overlay_tracker_refused_total counter\n");
    b.append("overlay_tracker_refused_total{reason=\"rate_limited\"} ").append(s.refusedRateLimited()).append('\n');
    b.append("overlay_tracker_refused_total{reason=\"full\"} ").append(s.refusedFull()).append('\n');
    b.append("overlay_tracker_refused_total{reason=\"invalid\"} ").append(s.refusedInvalid() + server.notForTracker).append('\n');
    b.append("overlay_tracker_refused_total{reason=\"quota\"} ").append(s.refusedQuota()).append('\n');
    counter(b, "overlay_tracker_punches_arranged_total", "Hole punches signalled to both nodes.", s.punchesArranged());
    counter(b, "overlay_tracker_punches_refused_total", "Hole punch requests refused (no common stream, no usable reflexive candidate, rate).", s.punchesRefused());
    counter(b, "overlay_tracker_restarts_total", "Registrations replaced by a newer incarnation of their node (a restart).", s.restarts());
    counter(b, "overlay_tracker_connections_refused_total", "Connections closed for a protocol error or a limit (bad TLS, bad frames, caps).", server.connectionsRefused);
    LinkManager.Counters links = server.linkCounters();
    b.append("# HELP overlay_tracker_connections_closed_total Node connections closed, by reason.\n# TYPE overlay_tracker_connections_closed_total counter\n");
    for (CloseReason r : CloseReason.values()) {
      b.append("overlay_tracker_connections_closed_total{reason=\"").append(r.counterName().substring("closed_".length())).append("\"} ")
          .append(links.closes().getOrDefault(r, 0L)).append('\n');
    }
    gauge(b, "overlay_tracker_handshakes_in_progress", "Node connections in their TLS or HELLO handshake.", links.handshakesInProgress());
    b.append("# HELP overlay_tracker_http_closed_total HTTP connections closed by the tracker, by reason.\n# TYPE overlay_tracker_http_closed_total counter\n");
    b.append("overlay_tracker_http_closed_total{reason=\"connection_limit\"} ").append(refusedConnections).append('\n');
    b.append("overlay_tracker_http_closed_total{reason=\"deadline\"} ").append(deadlineCloses).append('\n');
    b.append("overlay_tracker_http_closed_total{reason=\"not_reading\"} ").append(notReadingCloses).append('\n');
    dev.overlay.nat.StunServer stun = server.stun();
    if (stun != null) {
      dev.overlay.nat.StunServer.Counters c = stun.counters();
      counter(b, "overlay_tracker_stun_answered_total", "STUN Binding requests answered with the address seen.", c.answered());
      counter(b, "overlay_tracker_stun_errors_total", "STUN requests answered with an error (420: attributes not served).", c.errors());
      counter(b, "overlay_tracker_stun_malformed_total", "STUN input dropped as malformed (and its TCP connection closed).", c.malformed());
      counter(b, "overlay_tracker_stun_dropped_total", "STUN requests not answered: other methods, or a socket that could not take the answer.", c.dropped());
      counter(b, "overlay_tracker_stun_tcp_refused_total", "STUN TCP connections refused at the caps (1,024 in all, 16 per source address).", c.tcpRefused());
      gauge(b, "overlay_tracker_stun_tcp_connections", "Open STUN TCP connections.", c.tcpOpen());
    }
    counter(b, "overlay_tracker_relays_arranged_total", "Relayed links arranged (a ticket sent to both nodes).", s.relaysArranged());
    counter(b, "overlay_tracker_relays_refused_total", "Relay requests refused (no relay, no common stream, relay limits, rate).", s.relaysRefused());
    counter(b, "overlay_tracker_reachability_checks_total", "Nodes the tracker connected back to, asked whether they are reachable.", server.dialBack.checks);
    counter(b, "overlay_tracker_reachability_reached_total", "Of those, nodes reached where they proved their key.", server.dialBack.reached);
    counter(b, "overlay_tracker_reachability_refused_busy_total", "Reachability checks refused: 32 already under way, or one of that node.", server.dialBack.refusedBusy);
    counter(b, "overlay_tracker_reachability_refused_total", "Reachability requests not checked (rate, not registered, asked within a minute, no candidate at the node's address).", s.reachabilityRefused());
    RelayServer relay = server.relay();
    if (relay != null) {
      RelayServer.Stats r = relay.stats();
      gauge(b, "overlay_tracker_relay_links", "Relayed links open or waiting for their second side.", r.links());
      counter(b, "overlay_tracker_relay_linked_total", "Relayed links whose two sides met.", r.linked());
      counter(b, "overlay_tracker_relay_tickets_expired_total", "Relay tickets not used by both sides in time.", r.ticketsExpired());
      counter(b, "overlay_tracker_relay_bad_prefaces_total", "Relay connections closed for a wrong, used or missing token.", r.badPrefaces());
      counter(b, "overlay_tracker_relay_refused_pending_total", "Relay connections refused at the caps on those yet to present a token (1,024, 16 per source).", r.refusedPending());
      counter(b, "overlay_tracker_relay_closed_over_bytes_total", "Relayed links closed at their byte limit.", r.closedOverBytes());
      counter(b, "overlay_tracker_relay_closed_idle_total", "Relayed links closed after 120 s without a byte either way.", r.closedIdle());
      counter(b, "overlay_tracker_relay_rate_pauses_total", "Times a relayed link's reading paused at its bytes-per-second limit.", r.pausesForRate());
      counter(b, "overlay_tracker_relay_bytes_total", "Bytes carried by the relay.", r.bytesRelayed());
    }
    gauge(b, "overlay_tracker_uptime_seconds", "Seconds since the tracker started.", server.uptimeNanos() / 1e9);
    return b.toString();
  }

  private static void gauge(StringBuilder b, String name, String help, double v) {
    b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
        .append(name).append(' ').append(String.format(Locale.ROOT, "%.3f", v)).append('\n');
  }

  private static void gauge(StringBuilder b, String name, String help, long v) {
    b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
        .append(name).append(' ').append(v).append('\n');
  }

  private static void counter(StringBuilder b, String name, String help, long v) {
    b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
        .append(name).append(' ').append(v).append('\n');
  }

  /**
   * Closes a connection whose next request is not complete in time: {@code REQUEST_DEADLINE}
   * after it opened, {@code IDLE} after each answer. Unlike Netty's ReadTimeoutHandler, bytes
   * trickling in (a slowloris client) do not keep it open: only complete requests do.
   */
  private final class Deadline extends io.netty.channel.ChannelDuplexHandler {
    private io.netty.util.concurrent.ScheduledFuture<?> timer;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      arm(ctx, REQUEST_DEADLINE_SECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof FullHttpRequest) arm(ctx, IDLE_SECONDS);
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (timer != null) timer.cancel(false);
      super.channelInactive(ctx);
    }

    private void arm(ChannelHandlerContext ctx, int seconds) {
      if (timer != null) timer.cancel(false);
      timer = ctx.executor().schedule(() -> {
        deadlineCloses++;
        ctx.close();
      }, seconds, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (!ctx.channel().isWritable()) {
        // Answers are piling up unread: pipelined requests from a client that does not read.
        notReadingCloses++;
        ctx.close();
        return;
      }
      String path = req.uri();
      int q = path.indexOf('?');
      if (q >= 0) path = path.substring(0, q);
      FullHttpResponse res;
      if (!req.decoderResult().isSuccess()) {
        res = text(HttpResponseStatus.BAD_REQUEST, "bad request\n");
      } else if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
        res = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET only\n");
      } else if (path.equals("/metrics")) {
        res = text(HttpResponseStatus.OK, metrics());
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
      } else if (path.equals("/health")) {
        res = text(HttpResponseStatus.OK, "ok\n");
      } else {
        res = text(HttpResponseStatus.NOT_FOUND, "try /metrics or /health\n");
      }
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      HttpUtil.setKeepAlive(res, keepAlive);
      var f = ctx.writeAndFlush(res);
      if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // a broken or idle HTTP client; nothing to tell anyone
    }
  }

  private static FullHttpResponse text(HttpResponseStatus status, String body) {
    ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    HttpUtil.setContentLength(res, content.readableBytes());
    return res;
  }
}
