package dev.overlay.auth;

import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Seal;
import dev.overlay.protocol.Timer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The stream's outbox as the broadcast protocol writes to it: puts a message's seal on the wire
 * with the first message of each batch that goes over each link, so every receiver holds the
 * seal before the messages it covers arrive (a link keeps its order), and not again on that
 * link unless the sender asks for it (a message sent with its seal on the wire keeps it).
 * Everything else passes through.
 */
public final class SealForwarder implements Outbox {

  private static final int MAX_PUBLISHERS = 256;
  private static final int MAX_PEERS = 32;

  /** The seal last sent to each peer for one publisher. */
  private static final class Sent {
    final PeerId[] peers = new PeerId[MAX_PEERS];
    final Seal[] seals = new Seal[MAX_PEERS];
    int count;

    /** Records {@code seal} as sent to {@code peer}; returns whether it was already the last one sent. */
    boolean sent(PeerId peer, Seal seal) {
      for (int i = 0; i < count; i++) {
        if (peers[i] == peer || peers[i].equals(peer)) {
          if (seals[i] == seal) return true;
          seals[i] = seal;
          return false;
        }
      }
      if (count == MAX_PEERS) { // the oldest entry goes; at worst that peer gets a seal twice
        System.arraycopy(peers, 1, peers, 0, count - 1);
        System.arraycopy(seals, 1, seals, 0, count - 1);
        count--;
      }
      peers[count] = peer;
      seals[count++] = seal;
      return false;
    }

    void forget(PeerId peer) {
      for (int i = 0; i < count; i++) {
        if (peers[i].equals(peer)) {
          System.arraycopy(peers, i + 1, peers, i, count - i - 1);
          System.arraycopy(seals, i + 1, seals, i, count - i - 1);
          peers[--count] = null;
          seals[count] = null;
          return;
        }
      }
    }
  }

  private final Outbox out;
  private final LinkedHashMap<PeerId, Sent> byPublisher = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<PeerId, Sent> eldest) {
      return size() > MAX_PUBLISHERS;
    }
  };
  private PeerId lastPublisher;
  private Sent lastSent;
  private long sealsSent;

  public SealForwarder(Outbox out) {
    this.out = out;
  }

  /** The peer's link went down: a new link must get the seals again. */
  public void forget(PeerId peer) {
    for (Sent s : byPublisher.values()) s.forget(peer);
  }

  public long sealsSent() {
    return sealsSent;
  }

  @Override
  public void send(PeerId to, Message message) {
    if (message instanceof Message.Data d && d.seal() != null) {
      boolean already = sent(d.publisher()).sent(to, d.seal());
      if (d.sealOnWire()) {
        sealsSent++; // the sender insists (a GRAFT answer: the asker may have lost the seal)
      } else if (!already) {
        sealsSent++;
        message = d.withSeal(d.seal(), true);
      }
    }
    out.send(to, message);
  }

  private Sent sent(PeerId publisher) {
    if (lastPublisher != null && (lastPublisher == publisher || lastPublisher.equals(publisher))) return lastSent;
    Sent s = byPublisher.get(publisher);
    if (s == null) {
      s = new Sent();
      byPublisher.put(publisher, s);
    }
    lastPublisher = publisher;
    lastSent = s;
    return s;
  }

  // ---- Everything else passes through -------------------------------------------------------

  @Override
  public void connect(PeerInfo peer) {
    out.connect(peer);
  }

  @Override
  public void disconnect(PeerId peer) {
    out.disconnect(peer);
  }

  @Override
  public void schedule(Timer timer, long delayNanos) {
    out.schedule(timer, delayNanos);
  }

  @Override
  public void deliver(Message.Data message) {
    out.deliver(message);
  }

  @Override
  public void deliver(Message.Data message, dev.overlay.protocol.Seal seal) {
    out.deliver(message, seal);
  }

  @Override
  public void historyWanted(StreamId stream, PeerId publisher, long session, long fromSeq, long toSeq) {
    out.historyWanted(stream, publisher, session, fromSeq, toSeq);
  }

  @Override
  public void ownMessage(Message.Data message) {
    out.ownMessage(message);
  }

  @Override
  public void historyTaken(PeerId from, StreamId stream, int taken) {
    out.historyTaken(from, stream, taken);
  }

  @Override
  public void emit(OverlayEvent event) {
    out.emit(event);
  }

  @Override
  public void requestIntroductions(StreamId stream) {
    out.requestIntroductions(stream);
  }

  @Override
  public void published(PublishResult result) {
    out.published(result);
  }
}
