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
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

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
  static final long PAGE_MAX_AGE_NANOS = 1_000_000_000L;
  private TrackerMetrics metrics;
  private String page;
  private long pageAt;

  /** Every connection while open, for close(); made with the loop, in bind. */
  private io.netty.channel.group.ChannelGroup connections = new io.netty.channel.group.DefaultChannelGroup(
      io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);

  TrackerHttp(TrackerServer server, Class<? extends ServerSocketChannel> channelClass) {
    this.server = server;
    this.channelClass = channelClass;
  }

  InetSocketAddress bind(InetSocketAddress address, EventLoop loop) throws InterruptedException {
    connections = new io.netty.channel.group.DefaultChannelGroup("http", loop, true); // stays closed: a late one closes too
    metrics = new TrackerMetrics(server, this); // from start: the GC and JVM figures count from here
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
            connections.add(ch);
            ch.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(16 * 1024, 64 * 1024));
            ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192), new HttpObjectAggregator(4096), new Deadline(), new Handler());
          }
        }).bind(address).sync().channel();
    return (InetSocketAddress) channel.localAddress();
  }

  /**
   * Stops listening and closes every connection: plain TCP, so a close frees what it was
   * writing at once; done when all are closed.
   */
  io.netty.util.concurrent.Future<Void> close() {
    if (channel != null) channel.close();
    if (metrics != null) metrics.close();
    return connections.close();
  }

  /**
   * The metrics page (TrackerMetrics); on the loop. A scrape reads every meter (the JVM's thread
   * figures take six thread dumps), and the loop also serves nodes: the page is made at most once
   * a second, however many clients ask.
   */
  String metrics() {
    long now = System.nanoTime();
    if (page == null || now - pageAt >= PAGE_MAX_AGE_NANOS) {
      page = metrics.scrape();
      pageAt = now;
    }
    return page;
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
