package dev.overlay.core;

/**
 * One address a peer may be reached at. The core never dials; it only carries candidates so
 * that the transport can try them (local first, then reflexive, then relay).
 */
public record Candidate(Kind kind, String host, int port) {

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
