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
public sealed interface Output {

  record Send(PeerId to, Message message) implements Output {}

  record Connect(PeerInfo peer) implements Output {}

  record Disconnect(PeerId peer) implements Output {}

  record Schedule(Timer timer, long delayNanos) implements Output {}

  record Deliver(Message.Data message) implements Output {}

  record Emit(OverlayEvent event) implements Output {}

  record RequestIntroductions(StreamId stream) implements Output {}

  record Published(PublishResult result) implements Output {}

  record HistoryWanted(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) implements Output {}
}
