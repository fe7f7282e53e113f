package dev.overlay.transport;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive for one connection: asks for a PING after a check period with nothing flushed, and
 * reports the connection idle (half-open) after {@code idleTimeout} with nothing read.
 *
 * <p>Unlike Netty's IdleStateHandler it does not watch individual writes (which costs a promise
 * and a listener per write): it sees flushes and reads only, and checks them with one timer per
 * period, so the per-message path never touches it. Writes skip this handler entirely. The
 * price is precision: a PING goes out between one and two periods after the last flush.
 */
public final class KeepAliveHandler extends ChannelDuplexHandler {

  /** User events fired down the pipeline for the handler after this one. */
  public enum Signal {
    /** Nothing was flushed for a whole period: send something (a PING). */
    PING_DUE,
    /** Nothing was read for the idle timeout: the connection is presumed dead. */
    IDLE
  }

  private final long periodNanos;
  private final int idlePeriods;
  private boolean readSinceCheck;
  private boolean flushedSinceCheck;
  private int quietPeriods;
  private ScheduledFuture<?> check;

  /**
   * @param periodNanos how often to check; a PING is due after one whole period without a flush
   * @param idleTimeoutNanos how long without a read before the connection is reported idle
   */
  public KeepAliveHandler(long periodNanos, long idleTimeoutNanos) {
    if (periodNanos <= 0 || idleTimeoutNanos < periodNanos) {
      throw new IllegalArgumentException("need 0 < period <= idle timeout");
    }
    this.periodNanos = periodNanos;
    this.idlePeriods = (int) Math.max(1, idleTimeoutNanos / periodNanos);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) start(ctx);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    start(ctx);
    super.channelActive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    stop();
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    readSinceCheck = true;
    ctx.fireChannelRead(msg);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    flushedSinceCheck = true;
    ctx.flush();
  }

  private void start(ChannelHandlerContext ctx) {
    if (check != null) return;
    check = ctx.executor().scheduleAtFixedRate(() -> check(ctx), periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  private void stop() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }

  private void check(ChannelHandlerContext ctx) {
    if (readSinceCheck) {
      quietPeriods = 0;
    } else if (++quietPeriods >= idlePeriods) {
      stop();
      ctx.fireUserEventTriggered(Signal.IDLE);
      return;
    }
    readSinceCheck = false;
    if (!flushedSinceCheck) ctx.fireUserEventTriggered(Signal.PING_DUE);
    flushedSinceCheck = false;
  }
}
