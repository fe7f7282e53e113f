package dev.overlay;

import dev.overlay.config.TransportConfig;
import dev.overlay.core.PeerId;

/** What the transport reports to the application's listener, beside the protocol's own events. */
public sealed interface TransportEvent {

  /** A link to {@code peer} is ready: TLS done, identities checked, HELLOs exchanged. */
  record LinkUp(PeerId peer, String remote, boolean inbound) implements TransportEvent {}

  /** The link to {@code peer} went down. */
  record LinkDown(PeerId peer, String reason) implements TransportEvent {}

  /** A dial did not produce a link. {@code peer} is null for a seed dialled by address. */
  record DialFailed(PeerId peer, String address, String reason) implements TransportEvent {}

  /** A connection was closed before or while it was a link, for a reason worth a look (bad input, wrong identity, old version). */
  record ConnectionRejected(String remote, PeerId peer, String reason) implements TransportEvent {}

  /** Data frames for a slow peer were dropped because its queue was full. Control frames are never shed. */
  record DataShed(PeerId peer, long frames, long queuedBytes) implements TransportEvent {}

  /**
   * What we send a peer stayed unwritable for {@code backloggedMs} (at least
   * {@code TransportConfig.maxPause}), with no other link holding the node: it is taken off the
   * eager path in every stream (it gets announcements, and fetches what it wants once its link
   * drains), so that it no longer sets the stream's pace. Its backlog still counts for
   * backpressure until it drains, or until the link is closed for not reading.
   */
  record SlowPeerDemoted(PeerId peer, long queuedBytes, long backloggedMs) implements TransportEvent {}

  /** A peer did not read for {@code TransportConfig.slowPeerTimeout}, or filled its control lane, and was disconnected. */
  record SlowPeerDisconnected(PeerId peer, long queuedBytes, String reason) implements TransportEvent {}

  /** A subscription's handler fell behind and {@code missed} messages were dropped for it. */
  record SubscriberLagged(String stream, long missed) implements TransportEvent {}

  /**
   * A subscription was closed because its executor refused to run its handler (shut down, or
   * full): it receives nothing more. The node and its other subscriptions carry on.
   */
  record SubscriptionFailed(String stream, String reason) implements TransportEvent {}

  /** A publish could not be queued for the node's loop. */
  record PublishRefused(String stream, String reason) implements TransportEvent {}

  /** The listener fell behind and {@code count} events were dropped for it. */
  record EventsDropped(long count) implements TransportEvent {}

  /**
   * A storage node sent all it had of one request a subscription's start made: one publisher
   * session's history ({@code publisher} and {@code session}), or, with {@code publisher} null,
   * everything stored since the start's time. Delivered to the listener, which runs apart from
   * the handlers: the last messages may still be on their way to the handler.
   */
  record HistoryReceived(String stream, PeerId storageNode, PeerId publisher, long session, long messages) implements TransportEvent {}

  /**
   * History a subscription's start asked for could not be had: every storage node given failed,
   * refused or went away ({@code publisher} null for a request by time); {@code what} says which.
   */
  record HistoryUnavailable(String stream, PeerId publisher, String what) implements TransportEvent {}

  /** Messages this node delivered but could not store (its disk is too slow, or the store failed). */
  record HistoryNotStored(String stream, long messages, String reason) implements TransportEvent {}
}
