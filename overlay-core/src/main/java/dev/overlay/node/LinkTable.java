package dev.overlay.node;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.OverlayEvent.DropReason;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.protocol.Links;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The node's links, shared by all streams. Each counts the streams using it; a link nobody uses
 * is closed once it has been idle for {@code linkIdleTimeout}. At most {@code maxLinks} exist:
 * beyond that, idle links are closed first, then new links are refused with an event.
 */
final class LinkTable implements Links {

  private static final class Link {
    PeerInfo info; // null for a peer that dialled us and has not told us its addresses
    boolean up;
    int users;
    long lastUsed;
  }

  private final int maxLinks;
  private final long idleTimeoutNanos;
  private final Outbox out;
  private final LinkedHashMap<PeerId, Link> links = new LinkedHashMap<>();
  private long refused;
  private final RoundTrips roundTrips = new RoundTrips(this::inUse);

  LinkTable(int maxLinks, long idleTimeoutNanos, Outbox out) {
    this.maxLinks = maxLinks;
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.out = out;
  }

  @Override
  public long roundTripNanos(PeerId peer) {
    return roundTrips.nanos(peer);
  }

  /**
   * The transport timed a round trip to the peer. Kept only for a peer we addressed ourselves (we
   * dialled it, sent it something by its addresses, or a stream uses it) or already timed: any
   * key can connect to us and be timed, and a stranger's identities must neither push our
   * neighbours' figures out nor line up as "near" candidates by merely connecting.
   */
  void onRoundTrip(PeerId peer, long nanos) {
    Link link = links.get(peer);
    if ((link != null && (link.users > 0 || link.info != null)) || roundTrips.known(peer)) roundTrips.sample(peer, nanos);
  }

  private boolean inUse(PeerId peer) {
    Link link = links.get(peer);
    return link != null && link.users > 0;
  }

  /** Peers with a measured round trip, for NodeState.capacityUses. */
  int timedPeers() {
    return roundTrips.size();
  }

  @Override
  public void acquire(long now, PeerInfo peer) {
    Link link = ensure(now, peer);
    if (link != null) {
      link.users++;
      link.lastUsed = now;
    }
  }

  /** As {@link #acquire}, saying whether the link is now held (false: no room for a new one). */
  boolean tryAcquire(long now, PeerInfo peer) {
    Link link = ensure(now, peer);
    if (link == null) return false;
    link.users++;
    link.lastUsed = now;
    return true;
  }

  @Override
  public void release(long now, PeerId peer) {
    Link link = links.get(peer);
    if (link == null || link.users == 0) return; // already gone with the link
    link.users--;
    link.lastUsed = now;
  }

  @Override
  public void send(long now, PeerInfo to, Message message) {
    Link link = ensure(now, to);
    if (link == null) return;
    link.lastUsed = now;
    out.send(to.id(), message);
  }

  @Override
  public void send(long now, PeerId to, Message message) {
    Link link = links.get(to);
    if (link == null) {
      out.emit(new OverlayEvent.Dropped(message.stream(), to, DropReason.NO_LINK,
          message.getClass().getSimpleName() + " to a peer with no link"));
      return;
    }
    link.lastUsed = now;
    out.send(to, message);
  }

  /** A link came up. Returns false if it was refused because the table is full. */
  boolean onConnected(long now, PeerId peer) {
    Link link = links.get(peer);
    if (link == null) {
      if (!makeRoom(now)) {
        refused++;
        out.disconnect(peer);
        out.emit(new OverlayEvent.PeerRefused(peer, "link limit reached (" + maxLinks + ")"));
        return false;
      }
      link = new Link();
      link.lastUsed = now;
      links.put(peer, link);
    }
    link.up = true;
    return true;
  }

  /** The link went down or could not be dialled. Returns whether we had it. */
  boolean onDown(PeerId peer) {
    return links.remove(peer) != null;
  }

  /** Closes links no stream has used for the idle timeout. */
  void closeIdle(long now) {
    Iterator<java.util.Map.Entry<PeerId, Link>> it = links.entrySet().iterator();
    while (it.hasNext()) {
      java.util.Map.Entry<PeerId, Link> e = it.next();
      Link link = e.getValue();
      if (link.users == 0 && now - link.lastUsed >= idleTimeoutNanos) {
        it.remove();
        out.disconnect(e.getKey());
      }
    }
  }

  int size() {
    return links.size();
  }

  long refused() {
    return refused;
  }

  List<PeerId> peers() {
    return new ArrayList<>(links.keySet());
  }

  private Link ensure(long now, PeerInfo peer) {
    Link link = links.get(peer.id());
    if (link != null) {
      if (peer.candidates().size() > 0 || link.info == null) link.info = peer;
      return link;
    }
    if (!makeRoom(now)) {
      refused++;
      out.emit(new OverlayEvent.Dropped(null, peer.id(), DropReason.CAPACITY,
          "link limit reached (" + maxLinks + "): not dialling"));
      return null;
    }
    link = new Link();
    link.info = peer;
    link.lastUsed = now;
    links.put(peer.id(), link);
    out.connect(peer);
    return link;
  }

  /** Whether a new link fits, closing the longest-idle unused link if that makes room. */
  private boolean makeRoom(long now) {
    if (links.size() < maxLinks) return true;
    PeerId idlest = null;
    long oldest = Long.MAX_VALUE;
    for (java.util.Map.Entry<PeerId, Link> e : links.entrySet()) {
      Link l = e.getValue();
      if (l.users == 0 && l.lastUsed < oldest) {
        oldest = l.lastUsed;
        idlest = e.getKey();
      }
    }
    if (idlest == null) return false;
    links.remove(idlest);
    out.disconnect(idlest);
    return true;
  }
}
