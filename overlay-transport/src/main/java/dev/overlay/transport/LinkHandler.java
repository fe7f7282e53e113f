package dev.overlay.transport;

import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.identity.PeerVerifier;
import dev.overlay.protocol.Message;
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
  /** Whether {@code expected} is a key the application pinned (a tracker, a seed) rather than one a peer told us. */
  private final boolean pinned;
  private final boolean dialer;
  private final String remote;

  private State state = State.TLS;
  private Channel channel;
  private PeerId peer;
  private PeerInfo peerInfo;
  private long peerMaxFrameBytes;
  /** The newest protocol version both sides speak, from the peer's HELLO. */
  private int version;
  /** Opened by a hole punch (both sides connected at once), not by a dial or an accept. */
  boolean punched;
  /**
   * The dialling side's number for this connection, from its HELLO (ours if we dialled; 0 if an
   * older peer dialled): both ends know it, so both can pick the same of two connections.
   */
  long connectionNonce;
  /** Runs through a relay: TLS end to end, the bytes carried by a third party. */
  boolean relayed;
  private String closeReason;
  private CloseReason closeKind;
  private ScheduledFuture<?> handshakeTimeout;
  /** Frames read from and queued for this connection, for snapshots. On the loop. */
  long framesIn;
  long framesOut;
  /** When this connection is flushed: LinkManager's {@link FlushScheduler} keeps it (same loop). */
  final FlushScheduler.State<LinkHandler> flushState = new FlushScheduler.State<>(this);
  /**
   * Our PING awaiting its PONG (0: none), and when it went. Its round trip is what membership
   * prefers near neighbours by. One goes as the link becomes ready, and one with every keep-alive;
   * a busy link sends no keep-alives, so its first figure stands until it goes quiet.
   */
  private long pingOutstanding;
  private long pingSentAt;
  /** Whether a frame came after the handshake: the peer's end is ready too. */
  private boolean heard;
  /** Whether this connection still counts against the handshake cap. */
  boolean handshaking;
  /** Whether this is a dial the DialGate counted as in progress (until it is ready or closed). */
  boolean gated;

  LinkHandler(LinkManager manager, PeerId expected, boolean dialer, String remote) {
    this(manager, expected, false, dialer, remote);
  }

  LinkHandler(LinkManager manager, PeerId expected, boolean pinned, boolean dialer, String remote) {
    this.manager = manager;
    this.expected = expected;
    this.pinned = pinned;
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

  /** The newest protocol version both sides speak (0 before the HELLO). */
  int version() {
    return version;
  }

  String remote() {
    return remote;
  }

  PeerId expected() {
    return expected;
  }

  /** Whether a key other than {@link #expected} is a pinned-key refusal. */
  boolean pinned() {
    return pinned;
  }

  boolean ready() {
    return state == State.READY;
  }

  /** Why it closed, for people: the kind's detail. Null while open. */
  String closeReason() {
    return closeReason;
  }

  /** Why it closed, for code. Null while open. */
  CloseReason closeKind() {
    return closeKind;
  }

  /** Records why this connection is about to close, without closing it yet. */
  void closing(CloseReason kind, String detail) {
    if (closeKind == null) {
      closeKind = kind;
      closeReason = detail;
    }
  }

  /** Closes this connection, remembering why (the first reason given wins). */
  void close(CloseReason kind, String detail) {
    closing(kind, detail);
    state = State.CLOSED;
    if (channel != null) channel.close();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    if (state == State.CLOSED) { // given up before its channel existed (a raced dial cancelled meanwhile)
      channel.close();
      return;
    }
    handshakeTimeout = ctx.executor().schedule(() -> {
      if (state != State.READY && state != State.CLOSED) close(CloseReason.HANDSHAKE_TIMEOUT, "handshake timed out in state " + state);
    }, manager.config().handshakeTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent done) {
      onTlsDone(ctx, done);
    } else if (evt == KeepAliveHandler.Signal.IDLE) {
      close(CloseReason.KEEPALIVE_TIMEOUT, "keep-alive timeout: nothing received for "
          + TimeUnit.NANOSECONDS.toSeconds(manager.config().idleTimeoutNanos()) + " s");
    } else if (evt == KeepAliveHandler.Signal.PING_DUE && state == State.READY) {
      ping();
    }
    super.userEventTriggered(ctx, evt);
  }

  private void onTlsDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent done) {
    if (!done.isSuccess()) {
      Throwable c = done.cause();
      if (c instanceof java.nio.channels.ClosedChannelException || !ctx.channel().isActive()) {
        close(CloseReason.CLOSED_DURING_HANDSHAKE, "closed during the TLS handshake"); // the other side went away: not a refusal
      } else {
        close(CloseReason.TLS_FAILED, "TLS handshake failed: " + (c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName()));
      }
      return;
    }
    try {
      peer = manager.intern(PeerVerifier.peerIdOf(ctx.pipeline().get(SslHandler.class).engine().getSession()));
    } catch (SSLPeerUnverifiedException e) {
      close(CloseReason.NOT_VERIFIED, "peer not verified: " + e.getMessage());
      return;
    }
    if (expected != null && !expected.equals(peer)) {
      close(pinned ? CloseReason.PINNED_KEY_MISMATCH : CloseReason.IDENTITY_MISMATCH,
          (pinned ? "pinned key mismatch: expected " : "peer identity mismatch: dialled ") + expected.toHex()
          + ", the peer proved " + peer.toHex());
      return;
    }
    if (peer.equals(manager.self().id())) {
      close(CloseReason.CONNECTED_TO_SELF, "connected to ourselves");
      return;
    }
    state = State.HELLO;
    if (dialer) {
      connectionNonce = manager.connectionNonce();
      manager.sendLinkFrame(this, manager.hello(connectionNonce));
    } else {
      manager.sendLinkFrame(this, manager.hello());
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf frame = (ByteBuf) msg;
    try {
      if (state == State.READY) {
        if (!heard) {
          heard = true;
          manager.heard(this); // the peer's end is ready (it PINGs as it gets there)
        }
        onFrame(frame);
      } else if (state == State.HELLO) {
        onHello(WireFrames.parse(frame));
      } else if (state == State.TLS) {
        close(CloseReason.PROTOCOL_ERROR, "protocol error: frame before the TLS handshake finished");
      }
    } catch (WireException e) {
      manager.frameRejected(this, e.getMessage());
      close(state == State.HELLO ? CloseReason.BAD_HELLO : CloseReason.MALFORMED_FRAME,
          (state == State.HELLO ? "bad HELLO: " : "malformed frame: ") + e.getMessage());
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
      close(CloseReason.NO_COMMON_VERSION, "no common protocol version: we speak " + WireCodec.MIN_PROTOCOL_VERSION
          + ".." + WireCodec.PROTOCOL_VERSION + ", the peer " + h.getMinProtocolVersion() + ".." + h.getProtocolVersion());
      return;
    }
    PeerInfo info = WireCodec.peerInfo(h.getSender(), h.hasSender(), "hello.sender");
    if (!info.id().equals(peer)) {
      close(CloseReason.BAD_HELLO, "HELLO names " + info.id().toHex() + " but TLS proved " + peer.toHex());
      return;
    }
    long maxFrame = Integer.toUnsignedLong(h.getMaxFrameBytes());
    if (maxFrame < WireCodec.MIN_FRAME_LIMIT) {
      close(CloseReason.BAD_HELLO, "HELLO accepts frames of " + maxFrame + " bytes; every node must take "
          + WireCodec.MIN_FRAME_LIMIT);
      return;
    }
    peerInfo = info;
    peerMaxFrameBytes = maxFrame;
    if (!dialer) connectionNonce = h.getConnectionNonce();
    version = Math.min(h.getProtocolVersion(), WireCodec.PROTOCOL_VERSION);
    state = State.READY;
    if (handshakeTimeout != null) handshakeTimeout.cancel(false);
    manager.ready(this);
    if (state == State.READY) ping(); // the round trip, at once: new neighbours are judged by it
  }

  private void ping() {
    long nonce = manager.pingNonce();
    long at = manager.now();
    if (manager.sendKeepAlive(this, Frame.newBuilder().setPing(Ping.newBuilder().setNonce(nonce)).build())) {
      pingOutstanding = nonce;
      pingSentAt = at;
    }
  }

  private void onFrame(ByteBuf frame) throws WireException {
    int field = WireFrames.bodyField(frame);
    if (field == Frame.PING_FIELD_NUMBER) {
      Frame f = WireFrames.parse(frame);
      manager.sendKeepAlive(this, Frame.newBuilder().setPong(Pong.newBuilder().setNonce(f.getPing().getNonce())).build());
      return;
    }
    if (field == Frame.PONG_FIELD_NUMBER) { // receiving it reset the idle timer; ours also times the link
      long nonce = WireFrames.parse(frame).getPong().getNonce();
      if (pingOutstanding != 0 && nonce == pingOutstanding) {
        pingOutstanding = 0;
        manager.roundTrip(this, manager.now() - pingSentAt);
      }
      return;
    }
    if (field == Frame.HELLO_FIELD_NUMBER) throw new WireException("a second HELLO");
    int bytes = frame.readableBytes();
    Message m = WireFrames.decodeMessage(frame, manager.ids(), manager.maxPayloadBytes());
    manager.received(this, m, bytes);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isWritable()) manager.writable(this);
    else manager.unwritable(this);
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (dialer) manager.connected(this);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (handshakeTimeout != null) handshakeTimeout.cancel(false);
    if (state == State.READY) closing(CloseReason.CLOSED_BY_PEER, "closed by peer");
    else closing(CloseReason.CLOSED_DURING_HANDSHAKE, "closed by peer during handshake");
    state = State.CLOSED;
    manager.closed(this);
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    boolean tls = c instanceof SSLException;
    boolean frame = cause instanceof DecoderException && !tls;
    if (frame) manager.frameRejected(this, "bad frame: " + c.getMessage());
    if (tls) close(CloseReason.TLS_FAILED, "TLS error: " + c.getMessage());
    else if (frame) close(CloseReason.MALFORMED_FRAME, "bad frame: " + c.getMessage());
    else close(CloseReason.CONNECTION_ERROR, "connection error: " + c);
  }

  long peerMaxFrameBytes() {
    return peerMaxFrameBytes;
  }
}
