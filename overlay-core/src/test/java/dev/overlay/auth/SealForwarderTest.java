package dev.overlay.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.protocol.Outbox;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The seal forwarder stands between the broadcast and the node's outbox, so every command must
 * pass through it. An Outbox default method it did not override silently did its default
 * instead (a storage node's own publishes went unstored: the default was a no-op).
 */
class SealForwarderTest {

  @Test
  void everyOutboxMethodIsPassedOnNotLeftToItsDefault() throws Exception {
    List<String> missing = new ArrayList<>();
    for (Method m : Outbox.class.getMethods()) {
      Method impl = SealForwarder.class.getMethod(m.getName(), m.getParameterTypes());
      if (impl.getDeclaringClass() != SealForwarder.class) missing.add(m.toString());
    }
    assertThat(missing).as("Outbox methods SealForwarder does not override").isEmpty();
  }
}
