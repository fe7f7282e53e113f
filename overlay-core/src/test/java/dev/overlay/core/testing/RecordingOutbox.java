package dev.overlay.core.testing;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import java.util.ArrayList;
import java.util.List;

/** An outbox that records every command in order; for tests and for replaying a trace. */
public final class RecordingOutbox implements Outbox {

  private final List<Output> commands = new ArrayList<>();

  @Override
  public void send(PeerId to, Message message) {
    commands.add(new Output.Send(to, message));
  }

  @Override
  public void connect(PeerInfo peer) {
    commands.add(new Output.Connect(peer));
  }

  @Override
  public void disconnect(PeerId peer) {
    commands.add(new Output.Disconnect(peer));
  }

  @Override
  public void schedule(Timer timer, long delayNanos) {
    commands.add(new Output.Schedule(timer, delayNanos));
  }

  @Override
  public void deliver(Message.Data message) {
    commands.add(new Output.Deliver(message));
  }

  @Override
  public void emit(OverlayEvent event) {
    commands.add(new Output.Emit(event));
  }

  @Override
  public void requestIntroductions(StreamId stream) {
    commands.add(new Output.RequestIntroductions(stream));
  }

  @Override
  public void published(PublishResult result) {
    commands.add(new Output.Published(result));
  }

  @Override
  public void historyWanted(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {
    commands.add(new Output.HistoryWanted(stream, publisher, session, fromSeq, toSeq));
  }

  /** Everything recorded so far, oldest first. */
  public List<Output> commands() {
    return List.copyOf(commands);
  }

  /** Returns what was recorded and forgets it. */
  public List<Output> drain() {
    List<Output> out = List.copyOf(commands);
    commands.clear();
    return out;
  }

  /** The recorded commands of one type, in order. */
  public <T extends Output> List<T> commands(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Output c : commands) {
      if (type.isInstance(c)) out.add(type.cast(c));
    }
    return out;
  }

  /** The messages of one type that were sent, in order. */
  public <T extends Message> List<T> sent(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Output c : commands) {
      if (c instanceof Output.Send s && type.isInstance(s.message())) out.add(type.cast(s.message()));
    }
    return out;
  }

  /** The events of one type that were emitted, in order. */
  public <T extends OverlayEvent> List<T> events(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Output c : commands) {
      if (c instanceof Output.Emit e && type.isInstance(e.event())) out.add(type.cast(e.event()));
    }
    return out;
  }

  public void clear() {
    commands.clear();
  }
}
