package dev.overlay.nat;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;

/**
 * A STUN message (RFC 8489), reduced to what Overlay reads and writes: Binding requests and
 * their answers. Attributes this class has no field for are kept only as type numbers: the
 * comprehension-required ones the decoder did not understand ({@link #unknownRequired}), which a
 * server answers with 420 and a client takes as a failed transaction.
 *
 * @param type the 14-bit message type (method and class)
 * @param transactionId 12 bytes
 * @param xorMapped XOR-MAPPED-ADDRESS, or null
 * @param mapped MAPPED-ADDRESS (the pre-RFC 5389 form), or null
 * @param otherAddress OTHER-ADDRESS (RFC 5780): where the server also answers, or null
 * @param software SOFTWARE, or null
 * @param errorCode ERROR-CODE's number (300-699), or 0 without one
 * @param errorReason ERROR-CODE's reason phrase, or null
 * @param unknownAttributes UNKNOWN-ATTRIBUTES' list (in a 420 answer)
 * @param changeRequest CHANGE-REQUEST's flags (RFC 5780), or 0
 * @param unknownRequired comprehension-required attributes the decoder did not understand
 */
public record StunMessage(int type, byte[] transactionId, InetSocketAddress xorMapped, InetSocketAddress mapped,
    InetSocketAddress otherAddress, String software, int errorCode, String errorReason, List<Integer> unknownAttributes,
    int changeRequest, List<Integer> unknownRequired) {

  public static final int BINDING_REQUEST = 0x0001;
  public static final int BINDING_SUCCESS = 0x0101;
  public static final int BINDING_ERROR = 0x0111;
  public static final int BINDING_INDICATION = 0x0011;

  public StunMessage {
    if (transactionId.length != 12) throw new IllegalArgumentException("a transaction id is 12 bytes");
    transactionId = transactionId.clone();
    unknownAttributes = List.copyOf(unknownAttributes);
    unknownRequired = List.copyOf(unknownRequired);
  }

  /** A Binding request with no attributes. */
  public static StunMessage bindingRequest(byte[] transactionId) {
    return new StunMessage(BINDING_REQUEST, transactionId, null, null, null, null, 0, null, List.of(), 0, List.of());
  }

  /** The answer to a Binding request: where it came from, as this server saw it. */
  public static StunMessage bindingSuccess(byte[] transactionId, InetSocketAddress seen, InetSocketAddress other, String software) {
    return new StunMessage(BINDING_SUCCESS, transactionId, seen, null, other, software, 0, null, List.of(), 0, List.of());
  }

  /** An error answer, e.g. 420 with the attributes not understood. */
  public static StunMessage bindingError(byte[] transactionId, int code, String reason, List<Integer> unknown, String software) {
    return errorAnswer(BINDING_REQUEST, transactionId, code, reason, unknown, software);
  }

  /** The error answer to a request of {@code requestType} (its method, the error class). */
  public static StunMessage errorAnswer(int requestType, byte[] transactionId, int code, String reason, List<Integer> unknown,
      String software) {
    return new StunMessage((requestType & ~0x0110) | 0x0110, transactionId, null, null, null, software, code, reason, unknown, 0,
        List.of());
  }

  /** The 12-bit method (Binding is 1). */
  public int method() {
    return (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2);
  }

  public boolean isRequest() {
    return (type & 0x0110) == 0x0000;
  }

  public boolean isSuccess() {
    return (type & 0x0110) == 0x0100;
  }

  public boolean isError() {
    return (type & 0x0110) == 0x0110;
  }

  /** The address the server saw: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an older server. */
  public InetSocketAddress reflexive() {
    return xorMapped != null ? xorMapped : mapped;
  }

  @Override
  public byte[] transactionId() {
    return transactionId.clone();
  }

  boolean sameTransaction(byte[] id) {
    return Arrays.equals(transactionId, id);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StunMessage m && type == m.type && Arrays.equals(transactionId, m.transactionId)
        && java.util.Objects.equals(xorMapped, m.xorMapped) && java.util.Objects.equals(mapped, m.mapped)
        && java.util.Objects.equals(otherAddress, m.otherAddress) && java.util.Objects.equals(software, m.software)
        && errorCode == m.errorCode && java.util.Objects.equals(errorReason, m.errorReason)
        && unknownAttributes.equals(m.unknownAttributes) && changeRequest == m.changeRequest
        && unknownRequired.equals(m.unknownRequired);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(type, Arrays.hashCode(transactionId), xorMapped, errorCode);
  }

  @Override
  public String toString() {
    return String.format("StunMessage[type=0x%04x, xorMapped=%s, mapped=%s, other=%s, error=%d %s, unknown=%s]", type,
        xorMapped, mapped, otherAddress, errorCode, errorReason == null ? "" : errorReason, unknownRequired);
  }
}
