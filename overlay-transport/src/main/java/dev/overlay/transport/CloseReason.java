package dev.overlay.transport;

/**
 * Why a connection closed: one constant per cause, each counted by {@link LinkManager} (as
 * {@code closed_<name>} in a node's counters and a tracker's {@code /metrics}). The detail
 * string that goes with it is for people; code decides on the constant.
 */
public enum CloseReason {
  // ---- Ordinary ends: nothing to look into ----------------------------------------------------
  /** The peer closed a working link. */
  CLOSED_BY_PEER(Kind.ORDINARY),
  /** We closed it: the core let go of the peer, or the node is closing. */
  CLOSED_BY_US(Kind.ORDINARY),
  /** The node is shutting down. */
  SHUTDOWN(Kind.ORDINARY),
  /** Two connections to one peer: this is the one both ends drop. */
  SUPERSEDED(Kind.ORDINARY),
  /** The peer restarted; its old connection goes. */
  PEER_RESTARTED(Kind.ORDINARY),
  /** A dial we no longer need. */
  DIAL_CANCELLED(Kind.ORDINARY),
  /** One of a dial's raced attempts, given up because another address of the peer connected first. */
  RACE_LOST(Kind.ORDINARY),

  // ---- Failures: the network or the peer went away ---------------------------------------------
  /** The TCP connect failed (refused, unreachable, timed out). */
  CONNECT_FAILED(Kind.FAILURE),
  /** The peer went away before the handshake finished. */
  CLOSED_DURING_HANDSHAKE(Kind.FAILURE),
  /** A socket error on a working link. */
  CONNECTION_ERROR(Kind.FAILURE),
  /** Nothing was read for the idle timeout: a half-open link. */
  KEEPALIVE_TIMEOUT(Kind.FAILURE),

  // ---- Refusals: the peer sent what we do not take ---------------------------------------------
  /** The TLS handshake failed. */
  TLS_FAILED(Kind.REFUSAL),
  /** The peer's certificate could not be verified. */
  NOT_VERIFIED(Kind.REFUSAL),
  /** We dialled one identity and the peer proved another. */
  IDENTITY_MISMATCH(Kind.REFUSAL),
  /** A pinned tracker or seed presented a key other than the pinned one. */
  PINNED_KEY_MISMATCH(Kind.REFUSAL),
  /** The peer is this node (an address of ours among the candidates). */
  CONNECTED_TO_SELF(Kind.REFUSAL),
  /** The versions the two sides speak do not overlap. */
  NO_COMMON_VERSION(Kind.REFUSAL),
  /** The HELLO was missing, malformed or named another peer. */
  BAD_HELLO(Kind.REFUSAL),
  /** A frame that does not parse, or breaks a bound. */
  MALFORMED_FRAME(Kind.REFUSAL),
  /** A frame out of place (before the handshake, a second HELLO). */
  PROTOCOL_ERROR(Kind.REFUSAL),
  /** A connection from an earlier incarnation of a peer we are linked to. */
  EARLIER_INCARNATION(Kind.REFUSAL),

  // ---- Our limits -------------------------------------------------------------------------------
  /** The handshake did not finish within the handshake timeout. */
  HANDSHAKE_TIMEOUT(Kind.LIMIT),
  /** Too many handshakes were in progress. */
  HANDSHAKE_LIMIT(Kind.LIMIT),
  /** The link table was full. */
  LINK_LIMIT(Kind.LIMIT),
  /** The peer did not read what we sent for too long, or filled its control lane. */
  SLOW_PEER(Kind.LIMIT);

  /** What a close says about the peer or the node. */
  public enum Kind {
    ORDINARY,
    FAILURE,
    /** The peer broke the protocol: reported as {@code ConnectionRejected}, logged at WARN (rate-limited). */
    REFUSAL,
    /** One of our own bounds closed it: reported as {@code ConnectionRejected} and counted. */
    LIMIT
  }

  private final Kind kind;

  CloseReason(Kind kind) {
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  /** Whether the close is reported to the listener as a {@code ConnectionRejected}. */
  public boolean rejected() {
    return kind == Kind.REFUSAL || kind == Kind.LIMIT;
  }

  /** The counter's name: {@code closed_} and the constant in lower case. */
  public String counterName() {
    return "closed_" + name().toLowerCase(java.util.Locale.ROOT);
  }
}
