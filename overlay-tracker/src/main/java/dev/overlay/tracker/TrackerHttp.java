package dev.overlay.tracker;

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
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * {@code GET /metrics} (Prometheus text format) and {@code GET /health}, on Netty's HTTP codec.
 * Runs on the tracker's loop, so it reads the state directly.
 */
final class TrackerHttp {

  private final TrackerServer server;
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
            ch.pipeline().addLast(new ReadTimeoutHandler(10), new HttpServerCodec(4096, 8192, 8192),
                new HttpObjectAggregator(4096), new Handler());
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
      joinsPerSecond = (s.joinsAnswered - lastJoins) * 1e9 / (now - lastJoinsAt);
      lastJoins = s.joinsAnswered;
      lastJoinsAt = now;
    }
    StringBuilder b = new StringBuilder(2048);
    gauge(b, "overlay_tracker_registrations", "Registered (node, stream) pairs.", state.registrations());
    gauge(b, "overlay_tracker_streams", "Streams with at least one registered node.", state.streams());
    gauge(b, "overlay_tracker_links", "Open links from nodes.", server.linksOpen);
    gauge(b, "overlay_tracker_joins_per_second", "Introductions answered per second, since the previous scrape.", joinsPerSecond);
    counter(b, "overlay_tracker_registers_total", "Registrations and heartbeats accepted.", s.registers);
    counter(b, "overlay_tracker_joins_total", "Introductions answered.", s.joinsAnswered);
    counter(b, "overlay_tracker_leaves_total", "Nodes that left a stream.", s.leaves);
    counter(b, "overlay_tracker_expired_total", "Registrations forgotten for want of a heartbeat.", s.expired);
    counter(b, "overlay_tracker_stale_total", "Statuses dropped because a newer one from the same node was already held.", s.stale);
    b.append("# HELP overlay_tracker_refused_total Requests refused, by reason.\n# TYPE overlay_tracker_refused_total counter\n");
    b.append("overlay_tracker_refused_total{reason=\"rate_limited\"} ").append(s.refusedRateLimited).append('\n');
    b.append("overlay_tracker_refused_total{reason=\"full\"} ").append(s.refusedFull).append('\n');
    b.append("overlay_tracker_refused_total{reason=\"invalid\"} ").append(s.refusedInvalid + server.notForTracker).append('\n');
    counter(b, "overlay_tracker_connections_refused_total", "Connections closed for a protocol error (bad TLS, bad frames).", server.connectionsRefused);
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

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
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
