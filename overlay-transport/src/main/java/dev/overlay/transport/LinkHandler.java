package dev.overlay.transport;

import dev.overlay.core.Message;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.identity.PeerVerifier;
import dev.overlay.wire.WireCodec;
import dev.overlay.wire.WireException;
import dev.overlay.wire.proto.Frame;
import dev.overlay.wire.proto.Hello;
import dev.overlay.wire.proto.Ping;
import dev.overlay.wire.proto.Pong;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * One connection's life: TLS, then the identity check, then HELLO both ways, then frames.
 * A dialled connection must prove the id it was dialled for. Any protocol error closes this
 * connection alone, with the reason logged and reported; the node carries on.
 */
final class LinkHandler extends ChannelInboundHandlerAdapter {

  private enum State { TLS, HELLO, READY, CLOSED }

  private final LinkManager manager;
  /** The id we dialled for; null for inbound connections and for seeds dialled by address. */
  private final PeerId expected;
  private final boolean dialer;
  private final String remote;

  private State state = State.TLS;
  private Channel channel;
  private PeerId peer;
  private PeerInfo peerInfo;
  private long peerMaxFrameBytes;
  private String closeReason;
  private ScheduledFuture<?> handshakeTimeout;
  // Flush bookkeeping, owned by LinkManager (same loop).
  /** Frames read from and queued for this connection, for snapshots. On the loop. */
  long framesIn;
  long framesOut;
  boolean dirty;
  boolean deferred;
  long lastFlush;

  LinkHandler(LinkManager manager, PeerId expected, boolean dialer, String remote) {
    this.manager = manager;
    this.expected = expected;
    this.dialer = dialer;
    this.remote = remote;
  }

  Channel channel() {
    return channel;
  }

  PeerId peer() {
    return peer;
  }

  PeerInfo peerInfo() {
    return peerInfo;
  }

  boolean dialer() {
    return dialer;
  }

  String remote() {
    return remote;
  }

  PeerId expected() {
    return expected;
  }

  boolean ready() {
    return state == State.READY;
  }

  String closeReason() {
    return closeReason;
  }

  /** Records why this connection is about to close, without closing it yet. */
  void closing(String reason) {
    if (closeReason == null) closeReason = reason;
  }

  /** Closes this connection, remembering why (the first reason given wins). */
  void close(String reason) {
    if (closeReason == null) closeReason = reason;
    state = State.CLOSED;
    if (channel != null) channel.close();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    handshakeTimeout = ctx.executor().schedule(() -> {
      if (state != State.READY && state != State.CLOSED) close("handshake timed out in state " + state);
    }, manager.config().handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent done) {
      onTlsDone(ctx, done);
    } else if (evt == KeepAliveHandler.Signal.IDLE) {
      close("keep-alive timeout: nothing received for "
          + TimeUnit.NANOSECONDS.toSeconds(manager.config().idleTimeoutNanos()) + " s");
    } else if (evt == KeepAliveHandler.Signal.PING_DUE && state == State.READY) {
      manager.sendLinkFrame(this, Frame.newBuilder().setPing(Ping.newBuilder().setNonce(System.nanoTime())).build());
    }
    super.userEventTriggered(ctx, evt);
  }

  private void onTlsDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent done) {
    if (!done.isSuccess()) {
      Throwable c = done.cause();
      if (c instanceof java.nio.channels.ClosedChannelException) {
        close("closed during the TLS handshake"); // the other side went away (shutting down, say): not a refusal
      } else {
        close("TLS handshake failed: " + (c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName()));
      }
      return;
    }
    try {
      peer = manager.intern(PeerVerifier.peerIdOf(ctx.pipeline().get(SslHandler.class).engine().getSession()));
    } catch (SSLPeerUnverifiedException e) {
      close("peer not verified: " + e.getMessage());
      return;
    }
    if (expected != null && !expected.equals(peer)) {
      close("peer identity mismatch: dialled " + expected.toHex() + ", the peer proved " + peer.toHex());
      return;
    }
    if (peer.equals(manager.self().id())) {
      close("connected to ourselves");
      return;
    }
    state = State.HELLO;
    manager.sendLinkFrame(this, manager.hello());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf frame = (ByteBuf) msg;
    try {
      if (state == State.READY) {
        onFrame(frame);
      } else if (state == State.HELLO) {
        onHello(WireFrames.parse(frame));
      } else if (state == State.TLS) {
        close("protocol error: frame before the TLS handshake finished");
      }
    } catch (WireException e) {
      manager.frameRejected(this, e.getMessage());
      close("malformed frame: " + e.getMessage());
    } finally {
      frame.release();
    }
  }

  private void onHello(Frame frame) throws WireException {
    if (frame.getBodyCase() != Frame.BodyCase.HELLO) {
      throw new WireException("expected HELLO first, got " + frame.getBodyCase());
    }
    Hello h = frame.getHello();
    if (h.getMinProtocolVersion() > WireCodec.PROTOCOL_VERSION || h.getProtocolVersion() < WireCodec.MIN_PROTOCOL_VERSION) {
      close("no common protocol version: we speak " + WireCodec.MIN_PROTOCOL_VERSION + ".." + WireCodec.PROTOCOL_VERSION
          + ", the peer " + h.getMinProtocolVersion() + ".." + h.getProtocolVersion());
      return;
    }
    PeerInfo info = WireCodec.peerInfo(h.getSender(), h.hasSender(), "hello.sender");
    if (!info.id().equals(peer)) {
      close("HELLO names " + info.id().toHex() + " but TLS proved " + peer.toHex());
      return;
    }
    peerInfo = info;
    peerMaxFrameBytes = Integer.toUnsignedLong(h.getMaxFrameBytes());
    state = State.READY;
    if (handshakeTimeout != null) handshakeTimeout.cancel(false);
    manager.ready(this);
  }

  private void onFrame(ByteBuf frame) throws WireException {
    int field = WireFrames.bodyField(frame);
    if (field == Frame.PING_FIELD_NUMBER) {
      Frame f = WireFrames.parse(frame);
      manager.sendLinkFrame(this, Frame.newBuilder().setPong(Pong.newBuilder().setNonce(f.getPing().getNonce())).build());
      return;
    }
    if (field == Frame.PONG_FIELD_NUMBER) return; // receiving it reset the idle timer; that is all it is for
    if (field == Frame.HELLO_FIELD_NUMBER) throw new WireException("a second HELLO");
    int bytes = frame.readableBytes();
    Message m = WireFrames.decodeMessage(frame, manager.ids());
    manager.received(this, m, bytes);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isWritable()) manager.writable(this);
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (handshakeTimeout != null) handshakeTimeout.cancel(false);
    if (closeReason == null) closeReason = state == State.READY ? "closed by peer" : "closed by peer during handshake";
    state = State.CLOSED;
    manager.closed(this);
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    boolean tls = c instanceof SSLException;
    String reason = tls ? "TLS error: " + c.getMessage()
        : cause instanceof DecoderException ? "bad frame: " + c.getMessage()
        : "connection error: " + c;
    if (cause instanceof DecoderException && !tls) manager.frameRejected(this, reason);
    close(reason);
  }

  long peerMaxFrameBytes() {
    return peerMaxFrameBytes;
  }
}
