package dev.overlay.bench.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.overlay.config.NodeConfig;
import dev.overlay.core.OverlayEvent;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.PublishResult;
import dev.overlay.core.StreamId;
import dev.overlay.node.NodeState;
import dev.overlay.protocol.Event;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Outbox;
import dev.overlay.protocol.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fuzz target: a node's core fed arbitrary messages from arbitrary peers, with links coming and
 * going, timers firing and time passing. No exception escapes {@code handle}, every bounded table
 * stays within its cap, and no single event makes the node do more than {@link #MAX_COMMANDS}
 * things (a frame's work budget, seen from outside).
 */
public final class CoreFuzz {

  /** The most commands one event may cause: an IHAVE's budget (1,024 grafts) with room to spare. */
  static final int MAX_COMMANDS = 5_000;

  private CoreFuzz() {}

  /** Counts what the core asks for, and keeps its timers to fire them back. */
  private static final class Counting implements Outbox {
    int commands;
    final List<Timer> timers = new ArrayList<>();

    @Override
    public void send(PeerId to, Message message) {
      commands++;
    }

    @Override
    public void connect(PeerInfo peer) {
      commands++;
    }

    @Override
    public void disconnect(PeerId peer) {
      commands++;
    }

    @Override
    public void schedule(Timer timer, long delayNanos) {
      commands++;
      if (timers.size() < 256) timers.add(timer);
    }

    @Override
    public void deliver(Message.Data message) {
      commands++;
    }

    @Override
    public void emit(OverlayEvent event) {
      commands++;
    }

    @Override
    public void requestIntroductions(StreamId stream) {
      commands++;
    }

    @Override
    public void published(PublishResult result) {
      commands++;
    }
  }

  public static void fuzzerTestOneInput(FuzzedDataProvider data) {
    Counting out = new Counting();
    PeerInfo self = PeerInfo.of(PeerId.random(new SplittableRandom(5)), 1);
    NodeState node = new NodeState(NodeConfig.defaults(), self, new SplittableRandom(data.consumeLong()), Pool.KEYS.of(self.id()), out);
    long now = 1;
    node.start(now);
    step(node, out, now, new Event.JoinStream(Pool.STREAM));
    for (int i = 0; i < 4; i++) { // some neighbours to start from
      PeerId p = Pool.fromPool(i);
      step(node, out, now, new Event.PeerConnected(p));
      step(node, out, now, new Event.Received(p, new Message.Neighbor(Pool.STREAM, PeerInfo.of(p, 1), true)));
    }
    for (int n = 0; n < 200 && data.remainingBytes() > 0; n++) {
      now += data.consumeBoolean() ? data.consumeLong(0, 3_000_000L) : data.consumeLong(0, 40_000_000_000L);
      PeerId peer = Pool.peer(data);
      Event e = switch (data.consumeInt(0, 11)) {
        case 0 -> new Event.PeerConnected(peer);
        case 1 -> new Event.PeerDisconnected(peer, "fuzz");
        case 2 -> new Event.DialFailed(peer, "fuzz");
        case 3 -> out.timers.isEmpty() ? new Event.Publish(Pool.STREAM, new byte[] {1})
            : new Event.TimerFired(out.timers.remove(data.consumeInt(0, out.timers.size() - 1)));
        case 4 -> new Event.Publish(Pool.stream(data), data.consumeBytes(data.consumeInt(0, 100)));
        case 5 -> new Event.Introductions(Pool.STREAM, List.of(Pool.info(data, Pool.peer(data))));
        case 6 -> data.consumeBoolean() ? new Event.PeerSlow(peer) : new Event.PeerDrained(peer);
        case 7 -> new Event.Saturated(data.consumeBoolean());
        default -> new Event.Received(peer, Pool.message(data, peer));
      };
      step(node, out, now, e);
    }
  }

  private static void step(NodeState node, Counting out, long now, Event e) {
    out.commands = 0;
    node.handle(now, e);
    if (out.commands > MAX_COMMANDS) throw new IllegalStateException(e + " made the node do " + out.commands + " things");
    for (NodeState.CapacityUse use : node.capacityUses()) {
      if (use.exceeded()) throw new IllegalStateException("after " + e + ": " + use);
    }
  }
}
