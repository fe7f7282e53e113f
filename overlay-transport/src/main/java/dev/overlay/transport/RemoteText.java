package dev.overlay.transport;

/** Quoting what a remote peer sent, for a log line: it must never be able to write the log. */
public final class RemoteText {

  private RemoteText() {}

  /**
   * Printable ASCII only (anything else, quotes included, becomes {@code ?}), at most {@code max}
   * characters and an ellipsis, in double quotes: no forged log lines, no terminal escapes, no
   * megabyte of detail.
   */
  public static String quote(String remote, int max) {
    if (remote == null) return "\"\"";
    StringBuilder b = new StringBuilder(Math.min(remote.length(), max) + 3).append('"');
    for (int i = 0; i < remote.length() && i < max; i++) {
      char c = remote.charAt(i);
      b.append(c >= 0x20 && c < 0x7F && c != '"' ? c : '?');
    }
    if (remote.length() > max) b.append('…');
    return b.append('"').toString();
  }
}
