package dev.overlay.core;

/**
 * One address a peer may be reached at. The core never dials; it only carries candidates so
 * that the transport can try them (local first, then reflexive, then relay).
 */
public record Candidate(Kind kind, String host, int port) {

  /** Where the address comes from, which orders the dialling. */
  public enum Kind {
    /** An address bound on the peer's own interface. */
    LOCAL,
    /** The peer's address as seen from outside its NAT (from STUN). */
    REFLEXIVE,
    /** An address on a relay that forwards to the peer. */
    RELAY
  }

  /** Host names longer than a DNS name are refused, so a remote peer cannot make us hold big strings. */
  public static final int MAX_HOST_LENGTH = 253;

  /**
   * Checks the bounds a remote peer's candidate must meet too.
   *
   * @param kind where the address comes from
   * @param host a host name or an IP literal
   * @param port the TCP port
   * @throws IllegalArgumentException if the kind is missing, the host empty or longer than
   *     {@link #MAX_HOST_LENGTH}, or the port outside 1..65535
   */
  public Candidate {
    if (kind == null) throw new IllegalArgumentException("candidate kind is required");
    if (host == null || host.isEmpty() || host.length() > MAX_HOST_LENGTH) {
      throw new IllegalArgumentException("candidate host must be 1.." + MAX_HOST_LENGTH + " characters");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("candidate port must be 1..65535, got " + port);
    }
  }

  @Override
  public String toString() {
    return kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + host + ":" + port;
  }
}
