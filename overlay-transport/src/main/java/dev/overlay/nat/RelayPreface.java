package dev.overlay.nat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;

/**
 * The first bytes a node sends on a connection to a relay: {@code "OVR1"} and the 16-byte token
 * its tracker gave it. The relay joins the two connections that present the same token; after
 * the preface, every byte is the nodes' own TLS. As a handler, it goes first in the pipeline,
 * writes the preface when the connection is up, and only then lets TLS start.
 */
public final class RelayPreface extends ChannelInboundHandlerAdapter {

  /** Says what follows, and which version of it. */
  public static final byte[] MAGIC = "OVR1".getBytes(StandardCharsets.US_ASCII);
  public static final int TOKEN_BYTES = 16;
  public static final int LENGTH = MAGIC.length + TOKEN_BYTES;

  private final byte[] token;

  public RelayPreface(byte[] token) {
    if (token.length != TOKEN_BYTES) throw new IllegalArgumentException("a relay token has " + TOKEN_BYTES + " bytes");
    this.token = token.clone();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.writeAndFlush(Unpooled.wrappedBuffer(MAGIC, token)); // from here, before TLS's first byte
    ctx.pipeline().remove(this);
    ctx.fireChannelActive();
  }
}
