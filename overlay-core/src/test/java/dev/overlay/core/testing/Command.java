package dev.overlay.core.testing;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;

/** The calls on an {@link Outbox}, as values: what {@link RecordingOutbox} records. */
public sealed interface Command {

  record Send(PeerId to, Message message) implements Command {}

  record Connect(PeerInfo peer) implements Command {}

  record Disconnect(PeerId peer) implements Command {}

  record Schedule(Timer timer, long delayNanos) implements Command {}

  record Deliver(Message.Data message) implements Command {}

  record Emit(OverlayEvent event) implements Command {}

  record RequestIntroductions(StreamId stream) implements Command {}

  record Published(PublishResult result) implements Command {}
}
