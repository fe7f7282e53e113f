package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KeepAliveHandlerTest {

  private static final long PERIOD = TimeUnit.SECONDS.toNanos(5);
  private static final long IDLE = TimeUnit.SECONDS.toNanos(15);

  private final List<Object> signals = new ArrayList<>();
  private EmbeddedChannel ch;

  @BeforeEach
  void setUp() {
    ch = new EmbeddedChannel(new KeepAliveHandler(PERIOD, IDLE), new ChannelInboundHandlerAdapter() {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        signals.add(evt);
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        io.netty.util.ReferenceCountUtil.release(msg);
      }
    });
  }

  private void advance(long nanos) {
    ch.advanceTimeBy(nanos, TimeUnit.NANOSECONDS);
    ch.runScheduledPendingTasks();
  }

  @Test
  void aQuietPeriodAsksForAPing() {
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
    advance(PERIOD);
    assertThat(signals).containsExactly(KeepAliveHandler.Signal.PING_DUE);
  }

  @Test
  void aFlushInThePeriodMeansNoPing() {
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
    ch.flush();
    advance(PERIOD);
    assertThat(signals).isEmpty();
  }

  @Test
  void nothingReadForTheIdleTimeoutIsIdle() {
    for (int i = 0; i < 3; i++) {
      ch.flush(); // we keep talking; the peer says nothing
      advance(PERIOD);
    }
    assertThat(signals).containsExactly(KeepAliveHandler.Signal.IDLE);
    signals.clear();
    advance(3 * PERIOD);
    assertThat(signals).as("reported once; the checks stop").isEmpty();
  }

  @Test
  void readsKeepTheConnectionAlive() {
    for (int i = 0; i < 10; i++) {
      ch.flush();
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
      advance(PERIOD);
    }
    assertThat(signals).isEmpty();
  }

  @Test
  void closingStopsTheChecks() {
    ch.close();
    advance(5 * PERIOD);
    assertThat(signals).isEmpty();
  }
}
