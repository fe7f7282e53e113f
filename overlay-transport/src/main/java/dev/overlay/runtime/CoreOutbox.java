package dev.overlay.runtime;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import dev.overlay.transport.LinkManager;
import io.netty.buffer.ByteBuf;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The core's commands, carried out on the loop: frames to links (encoded once per message),
 * dials and disconnects to the link manager, timers to the turn driver, deliveries to the
 * subscriptions, events to the application's listener, and a publish's result to the future
 * the application holds.
 */
final class CoreOutbox implements Outbox {

  /** The link layer as the core's commands need it ({@link LinkManager} in a node). */
  interface Links {
    /** Copies or shares {@code frame} into the peer's link; false when there is no link to it. */
    boolean send(PeerId to, ByteBuf frame, boolean control);

    void connect(PeerInfo peer);

    void disconnect(PeerId peer);

    /** Bulk data paced by credit (history): queued as data, never counted as congestion. */
    default boolean sendBulk(PeerId to, ByteBuf frame) {
      return send(to, frame, false);
    }
  }

  private final Links links;
  private final StreamRegistry streams;
  private final TurnDriver turns;
  private final EventDispatcher<Object> events;
  private final Completions completions;
  private final Consumer<StreamId> introductionsWanted;
  private final FrameCache frames;
  private final EnumMap<OverlayEvent.DropReason, Long> drops = new EnumMap<>(OverlayEvent.DropReason.class);
  private CompletableFuture<PublishResult> publishing;
  private long sendsWithoutLink;
  private dev.overlay.storage.StorageService storage;
  private HistoryClient historyClient;

  /** @param introductionsWanted asks the node's introducer for members of a stream */
  CoreOutbox(Links links, StreamRegistry streams, TurnDriver turns, EventDispatcher<Object> events,
      Completions completions, Consumer<StreamId> introductionsWanted) {
    this(links, streams, turns, events, completions, introductionsWanted, LinkManager.ALLOCATOR);
  }

  /** With the allocator frames are encoded into (tests: an unpooled one, checked for leaks). */
  CoreOutbox(Links links, StreamRegistry streams, TurnDriver turns, EventDispatcher<Object> events,
      Completions completions, Consumer<StreamId> introductionsWanted, io.netty.buffer.ByteBufAllocator alloc) {
    this.links = links;
    this.streams = streams;
    this.turns = turns;
    this.events = events;
    this.completions = completions;
    this.introductionsWanted = introductionsWanted;
    this.frames = new FrameCache(alloc);
  }

  @Override
  public void send(PeerId to, Message message) {
    ByteBuf frame = frames.encode(message);
    boolean data = message instanceof Message.Data;
    streams.countOut(message.stream(), data, frame.readableBytes());
    if (!links.send(to, frame, !data)) sendsWithoutLink++;
  }

  /** For introducers: a tracker message on one of their links (control priority, never counted per stream). */
  void sendTracker(PeerId to, Message.TrackerMessage message) {
    if (!links.send(to, frames.encode(message), true)) sendsWithoutLink++;
  }

  @Override
  public void connect(PeerInfo peer) {
    links.connect(peer);
  }

  @Override
  public void disconnect(PeerId peer) {
    links.disconnect(peer);
  }

  @Override
  public void schedule(Timer timer, long delayNanos) {
    turns.schedule(timer, delayNanos);
  }

  @Override
  public void deliver(Message.Data message) {
    deliver(message, message.seal());
  }

  @Override
  public void deliver(Message.Data message, dev.overlay.protocol.Seal seal) {
    streams.deliver(message);
    if (storage != null) storage.delivered(message, seal);
  }

  @Override
  public void ownMessage(Message.Data message) {
    if (storage != null) storage.delivered(message, message.seal()); // kept like a delivered one
  }

  @Override
  public void historyTaken(PeerId from, StreamId stream, int taken) {
    if (historyClient != null) historyClient.taken(taken);
  }

  @Override
  public void historyWanted(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {
    if (historyClient != null) historyClient.follow(stream, publisher, session, fromSeq, toSeq);
  }

  /**
   * Where delivered messages are kept (a node that stores history), and the client that asks
   * storage nodes for history: it hears how much the core took, and the later sessions it wants.
   */
  void history(dev.overlay.storage.StorageService storage, HistoryClient historyClient) {
    this.storage = storage;
    this.historyClient = historyClient;
  }

  /** A resend frame (history, between a node and a storage node): sent as data, never counted per stream. */
  void sendResend(PeerId to, Message.ResendMessage message) {
    boolean linked = message instanceof Message.ResendBatch ? links.sendBulk(to, frames.encode(message))
        : links.send(to, frames.encode(message), true);
    if (!linked) sendsWithoutLink++;
  }

  @Override
  public void emit(OverlayEvent event) {
    if (event instanceof OverlayEvent.NeighborUp e) {
      streams.neighborsChanged(e.stream(), +1);
    } else if (event instanceof OverlayEvent.NeighborDown e) {
      streams.neighborsChanged(e.stream(), -1);
    } else if (event instanceof OverlayEvent.Dropped d) {
      drops.merge(d.reason(), 1L, Long::sum);
    }
    events.offer(event);
  }

  @Override
  public void requestIntroductions(StreamId stream) {
    introductionsWanted.accept(stream);
  }

  /** The next {@link #published} answers {@code result}: the publish about to go to the core. */
  void expectPublish(CompletableFuture<PublishResult> result) {
    publishing = result;
  }

  /**
   * After the core's turn for a publish: fails the publish if the core gave no result (it always
   * does; this is a safety net, so that no caller waits for ever).
   */
  void checkPublishAnswered() {
    if (publishing != null) {
      completions.fail(publishing, new IllegalStateException("the core gave no publish result"));
      publishing = null;
    }
  }

  @Override
  public void published(PublishResult result) {
    if (publishing != null) {
      if (result.seq() > 0) streams.countPublished(result.stream());
      completions.complete(publishing, result);
      publishing = null;
    }
  }

  /** At the end of every turn. */
  void endOfTurn() {
    if (storage != null) storage.endOfTurn();
    frames.forget();
  }

  /** The node stopped. */
  void release() {
    frames.release();
  }

  long sendsWithoutLink() {
    return sendsWithoutLink;
  }

  /** Messages the core dropped, by reason. */
  Map<OverlayEvent.DropReason, Long> drops() {
    return drops;
  }
}
