package dev.overlay.transport;

import java.util.EnumMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * WARN lines about what remote peers do, at most one per reason per interval: the first is
 * logged at once, later ones are counted and summed up in the next line. A flood of bad
 * connections must show in the log without becoming the log.
 */
final class LogBudget {

  private static final class Entry {
    long lastLogged = Long.MIN_VALUE;
    long suppressed;
  }

  private final Logger log;
  private final long intervalNanos;
  private final LongSupplier clock;
  private final EnumMap<CloseReason, Entry> entries = new EnumMap<>(CloseReason.class);

  LogBudget(Logger log, long intervalNanos, LongSupplier clock) {
    this.log = log;
    this.intervalNanos = intervalNanos;
    this.clock = clock;
  }

  /** Logs {@code line} now, or counts it for the next line of this reason. */
  void warn(CloseReason reason, String line) {
    Entry e = entries.computeIfAbsent(reason, r -> new Entry());
    long now = clock.getAsLong();
    if (e.lastLogged != Long.MIN_VALUE && now - e.lastLogged < intervalNanos) {
      e.suppressed++;
      return;
    }
    if (e.suppressed > 0) {
      log.warn("{} (and {} more {} since the last such line)", line, e.suppressed, reason.counterName());
    } else {
      log.warn(line);
    }
    e.lastLogged = now;
    e.suppressed = 0;
  }

  static String quote(String remote, int max) {
    return RemoteText.quote(remote, max);
  }
}
