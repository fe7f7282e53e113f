package dev.overlay.wire;

/** A frame that does not parse, or parses to something out of bounds. The link that sent it is closed. */
public final class WireException extends Exception {
  public WireException(String reason) {
    super(reason);
  }

  public WireException(String reason, Throwable cause) {
    super(reason, cause);
  }
}
