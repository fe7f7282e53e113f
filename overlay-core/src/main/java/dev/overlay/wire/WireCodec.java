package dev.overlay.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.MessageRef;
import dev.overlay.protocol.Seal;
import dev.overlay.wire.proto.Frame;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between {@link Message} records and the protobuf {@link Frame} of
 * {@code overlay/v1/overlay.proto}, and checks every bound on the way in: a frame that does not
 * fit is a {@link WireException}, never a half-built message.
 */
public final class WireCodec {

  /** The protocol version this code speaks. */
  public static final int PROTOCOL_VERSION = 5;
  /** The first version with the hole-punching frames: never sent to a peer below it. */
  public static final int PUNCH_PROTOCOL_VERSION = 3;
  /** The first version with the resend frames (history from storage nodes): never sent to a peer below it. */
  public static final int RESEND_PROTOCOL_VERSION = 4;
  /**
   * The first version whose nodes choose between two connections dialled by the same side by
   * {@code Hello.connection_nonce}: the rule holds only where both ends apply it, so a link that
   * speaks less keeps the older rule at both ends.
   */
  public static final int CONNECTION_NONCE_PROTOCOL_VERSION = 5;
  /**
   * The oldest version it still speaks. Version 1 had no publisher signatures and no shuffle
   * nonces; a node that took its messages would be open to the forgeries version 2 closes.
   */
  public static final int MIN_PROTOCOL_VERSION = 2;

  /** Upper bounds on what a peer may send, whatever our own configuration. */
  public static final int MAX_ANNOUNCEMENTS = 4096;
  public static final int MAX_PEERS_PER_SHUFFLE = 64;
  public static final int MAX_TTL = 64;
  /**
   * The largest payload any peer may send, whatever a node's own (smaller) limit: a decoder
   * given no limit of its own refuses anything larger.
   */
  public static final int MAX_PAYLOAD_BYTES = Message.MAX_PAYLOAD_BYTES;
  /**
   * The smallest frame limit a peer may advertise in its HELLO: every frame a node sends fits
   * (the largest payload with its seal, a full shuffle, a tracker's answer), so no peer can make
   * us drop frames by advertising a tiny limit.
   */
  public static final int MIN_FRAME_LIMIT = 128 * 1024;

  private WireCodec() {}

  // ---- Encoding ---------------------------------------------------------------------------

  public static byte[] encode(Message message) {
    return toFrame(message).toByteArray();
  }

  public static Frame toFrame(Message message) {
    Frame.Builder f = Frame.newBuilder();
    long stream = message.stream().value();
    if (message instanceof Message.Data m) {
      dev.overlay.wire.proto.Data.Builder d = dev.overlay.wire.proto.Data.newBuilder().setStream(stream).setPublisher(id(m.publisher()))
          .setSession(m.session()).setSeq(m.seq()).setHops(m.hops()).setPayload(ByteString.copyFrom(m.payload()));
      if (m.sealOnWire()) d.setSeal(seal(m.seal()));
      f.setData(d);
    } else if (message instanceof Message.IHave m) {
      dev.overlay.wire.proto.IHave.Builder b = dev.overlay.wire.proto.IHave.newBuilder().setStream(stream).setCatchUp(m.catchUp());
      for (Message.Announcement a : m.announcements()) {
        b.addAnnouncements(dev.overlay.wire.proto.Announcement.newBuilder().setPublisher(id(a.publisher()))
            .setSession(a.session()).setFirstSeq(a.firstSeq()).setCount(a.count()).setHops(a.hops()));
      }
      f.setIhave(b);
    } else if (message instanceof Message.Graft m) {
      MessageRef r = m.ref();
      f.setGraft(dev.overlay.wire.proto.Graft.newBuilder().setStream(stream).setPublisher(id(r.publisher()))
          .setSession(r.session()).setSeq(r.seq()).setWantMessage(m.wantMessage()));
    } else if (message instanceof Message.Prune m) {
      f.setPrune(dev.overlay.wire.proto.Prune.newBuilder().setStream(stream).setPublisher(id(m.publisher())));
    } else if (message instanceof Message.Join m) {
      f.setJoin(dev.overlay.wire.proto.Join.newBuilder().setStream(stream).setSender(peerInfo(m.sender())));
    } else if (message instanceof Message.ForwardJoin m) {
      f.setForwardJoin(dev.overlay.wire.proto.ForwardJoin.newBuilder().setStream(stream)
          .setJoiner(peerInfo(m.joiner())).setTtl(m.ttl()));
    } else if (message instanceof Message.Neighbor m) {
      f.setNeighbor(dev.overlay.wire.proto.Neighbor.newBuilder().setStream(stream)
          .setSender(peerInfo(m.sender())).setHighPriority(m.highPriority()));
    } else if (message instanceof Message.NeighborReply m) {
      f.setNeighborReply(dev.overlay.wire.proto.NeighborReply.newBuilder().setStream(stream).setAccepted(m.accepted()));
    } else if (message instanceof Message.Disconnect m) {
      f.setDisconnect(dev.overlay.wire.proto.Disconnect.newBuilder().setStream(stream)
          .setIncarnation(m.incarnation()).setAlive(m.alive()));
    } else if (message instanceof Message.Shuffle m) {
      dev.overlay.wire.proto.Shuffle.Builder b = dev.overlay.wire.proto.Shuffle.newBuilder().setStream(stream)
          .setOrigin(peerInfo(m.origin())).setTtl(m.ttl()).setNonce(m.nonce());
      for (PeerInfo p : m.peers()) b.addPeers(peerInfo(p));
      f.setShuffle(b);
    } else if (message instanceof Message.ShuffleReply m) {
      dev.overlay.wire.proto.ShuffleReply.Builder b = dev.overlay.wire.proto.ShuffleReply.newBuilder().setStream(stream)
          .setNonce(m.nonce());
      for (PeerInfo p : m.peers()) b.addPeers(peerInfo(p));
      f.setShuffleReply(b);
    } else if (message instanceof Message.TrackerRegister m) {
      f.setTrackerRegister(dev.overlay.wire.proto.TrackerRegister.newBuilder().setStream(stream).setNode(peerInfo(m.node()))
          .setCounter(m.counter()).setWantPeers(m.wantPeers()).setNeighbors(m.neighbors()).setStorage(m.storage()));
    } else if (message instanceof Message.TrackerLeave m) {
      f.setTrackerLeave(dev.overlay.wire.proto.TrackerLeave.newBuilder().setStream(stream).setCounter(m.counter()));
    } else if (message instanceof Message.TrackerPeers m) {
      dev.overlay.wire.proto.TrackerPeers.Builder b = dev.overlay.wire.proto.TrackerPeers.newBuilder().setStream(stream)
          .setCounter(m.counter());
      for (PeerInfo p : m.peers()) b.addPeers(peerInfo(p));
      for (PeerInfo p : m.storageNodes()) b.addStorageNodes(peerInfo(p));
      f.setTrackerPeers(b);
    } else if (message instanceof Message.TrackerRefused m) {
      f.setTrackerRefused(dev.overlay.wire.proto.TrackerRefused.newBuilder().setStream(stream)
          .setReason(switch (m.reason()) {
            case RATE_LIMITED -> dev.overlay.wire.proto.TrackerRefused.Reason.RATE_LIMITED;
            case FULL -> dev.overlay.wire.proto.TrackerRefused.Reason.FULL;
            case INVALID -> dev.overlay.wire.proto.TrackerRefused.Reason.INVALID;
            case STALE -> dev.overlay.wire.proto.TrackerRefused.Reason.STALE;
          })
          .setRetryAfterMs((int) Math.min(Integer.MAX_VALUE, Math.max(0, m.retryAfterMillis())))
          .setDetail(m.detail() == null ? "" : m.detail()));
    } else if (message instanceof Message.PunchRequest m) {
      f.setPunchRequest(dev.overlay.wire.proto.PunchRequest.newBuilder().setStream(stream)
          .setPeer(ByteString.copyFrom(m.peer().toBytes())).setNonce(m.nonce()));
    } else if (message instanceof Message.PunchGo m) {
      f.setPunchGo(dev.overlay.wire.proto.PunchGo.newBuilder().setStream(stream).setPeer(peerInfo(m.peer()))
          .setDelayMs(m.delayMillis()).setNonce(m.nonce()));
    } else if (message instanceof Message.PunchRefused m) {
      f.setPunchRefused(dev.overlay.wire.proto.PunchRefused.newBuilder().setStream(stream)
          .setPeer(ByteString.copyFrom(m.peer().toBytes())).setNonce(m.nonce()).setDetail(m.detail() == null ? "" : m.detail()));
    } else if (message instanceof Message.RelayRequest m) {
      f.setRelayRequest(dev.overlay.wire.proto.RelayRequest.newBuilder().setStream(stream)
          .setPeer(ByteString.copyFrom(m.peer().toBytes())).setNonce(m.nonce()));
    } else if (message instanceof Message.RelayGo m) {
      f.setRelayGo(dev.overlay.wire.proto.RelayGo.newBuilder().setStream(stream).setPeer(peerInfo(m.peer()))
          .setRelayHost(m.relayHost()).setRelayPort(m.relayPort()).setToken(ByteString.copyFrom(m.token())).setNonce(m.nonce()));
    } else if (message instanceof Message.ReachabilityRequest m) {
      f.setReachabilityRequest(dev.overlay.wire.proto.ReachabilityRequest.newBuilder().setStream(stream).setNonce(m.nonce()));
    } else if (message instanceof Message.ResendRequest m) {
      dev.overlay.wire.proto.ResendRequest.Builder b = dev.overlay.wire.proto.ResendRequest.newBuilder().setRequest(m.request())
          .setStream(stream).setSession(m.session()).setFromSeq(m.fromSeq()).setToSeq(m.toSeq()).setFromTimeMs(m.fromMillis())
          .setCredit(m.credit());
      if (m.publisher() != null) b.setPublisher(id(m.publisher()));
      f.setResendRequest(b);
    } else if (message instanceof Message.ResendCredit m) {
      f.setResendCredit(dev.overlay.wire.proto.ResendCredit.newBuilder().setRequest(m.request()).setCredit(m.credit()).setStream(stream));
    } else if (message instanceof Message.ResendBatch m) {
      dev.overlay.wire.proto.ResendBatch.Builder b = dev.overlay.wire.proto.ResendBatch.newBuilder().setRequest(m.request()).setStream(stream);
      for (Message.Data d : m.messages()) b.addMessages(toFrame(d).getData());
      f.setResendBatch(b);
    } else if (message instanceof Message.ResendEnd m) {
      f.setResendEnd(dev.overlay.wire.proto.ResendEnd.newBuilder().setRequest(m.request()).setStream(stream)
          .setOutcome(switch (m.outcome()) {
            case COMPLETE -> dev.overlay.wire.proto.ResendEnd.Outcome.COMPLETE;
            case NOT_STORED -> dev.overlay.wire.proto.ResendEnd.Outcome.NOT_STORED;
            case REFUSED -> dev.overlay.wire.proto.ResendEnd.Outcome.REFUSED;
            case FAILED -> dev.overlay.wire.proto.ResendEnd.Outcome.FAILED;
            case TRUNCATED -> dev.overlay.wire.proto.ResendEnd.Outcome.TRUNCATED;
          })
          .setDetail(m.detail() == null ? "" : m.detail()));
    } else if (message instanceof Message.Reachability m) {
      f.setReachability(dev.overlay.wire.proto.Reachability.newBuilder().setStream(stream).setNonce(m.nonce())
          .setOutcome(switch (m.outcome()) {
            case REACHED -> dev.overlay.wire.proto.Reachability.Outcome.REACHED;
            case NOT_REACHED -> dev.overlay.wire.proto.Reachability.Outcome.NOT_REACHED;
            case REFUSED -> dev.overlay.wire.proto.Reachability.Outcome.REFUSED;
          })
          .setReached(m.reached() == null ? "" : m.reached()).setDetail(m.detail() == null ? "" : m.detail()));
    } else {
      throw new IllegalArgumentException("no wire form for " + message.getClass().getName());
    }
    return f.build();
  }

  public static dev.overlay.wire.proto.PeerInfo peerInfo(PeerInfo p) {
    dev.overlay.wire.proto.PeerInfo.Builder b = dev.overlay.wire.proto.PeerInfo.newBuilder()
        .setId(id(p.id())).setIncarnation(p.incarnation());
    for (Candidate c : p.candidates()) {
      b.addCandidates(dev.overlay.wire.proto.Candidate.newBuilder()
          .setKind(switch (c.kind()) {
            case LOCAL -> dev.overlay.wire.proto.Candidate.Kind.LOCAL;
            case REFLEXIVE -> dev.overlay.wire.proto.Candidate.Kind.REFLEXIVE;
            case RELAY -> dev.overlay.wire.proto.Candidate.Kind.RELAY;
          })
          .setHost(c.host()).setPort(c.port()));
    }
    return b.build();
  }

  public static dev.overlay.wire.proto.Seal seal(Seal s) {
    return dev.overlay.wire.proto.Seal.newBuilder().setFirstSeq(s.firstSeq()).setCount(s.count())
        .setDigests(ByteString.copyFrom(s.digests())).setPublicKey(ByteString.copyFrom(s.publicKey()))
        .setSignature(ByteString.copyFrom(s.signature())).build();
  }

  /** A seal as sent; its bounds checked here, its signature by whoever authenticates it. */
  public static Seal seal(dev.overlay.wire.proto.Seal s) throws WireException {
    int count = s.getCount();
    if (count < 1 || count > Seal.MAX_COUNT) throw new WireException("seal.count must be 1.." + Seal.MAX_COUNT + ", got " + Integer.toUnsignedString(count));
    long first = positiveSeq(s.getFirstSeq(), "seal.first_seq");
    if (first > Message.MAX_SEQ - count + 1) throw new WireException("seal range runs past the largest sequence number");
    if (s.getDigests().size() != count * Seal.DIGEST_BYTES) {
      throw new WireException("seal.digests must be " + count * Seal.DIGEST_BYTES + " bytes, got " + s.getDigests().size());
    }
    if (s.getPublicKey().isEmpty() || s.getPublicKey().size() > Seal.MAX_KEY_BYTES) throw new WireException("seal.public_key out of bounds");
    if (s.getSignature().isEmpty() || s.getSignature().size() > Seal.MAX_SIGNATURE_BYTES) throw new WireException("seal.signature out of bounds");
    return new Seal(first, count, s.getDigests().toByteArray(), s.getPublicKey().toByteArray(), s.getSignature().toByteArray());
  }

  public static ByteString id(PeerId id) {
    return ByteString.copyFrom(id.toBytes());
  }

  // ---- Decoding ---------------------------------------------------------------------------

  public static Message decode(byte[] bytes) throws WireException {
    try {
      return fromFrame(Frame.parseFrom(bytes), MAX_PAYLOAD_BYTES);
    } catch (InvalidProtocolBufferException e) {
      throw new WireException("not a valid frame: " + e.getMessage(), e);
    }
  }

  /** The stream message in the frame, with payloads up to {@link #MAX_PAYLOAD_BYTES}. */
  public static Message fromFrame(Frame f) throws WireException {
    return fromFrame(f, MAX_PAYLOAD_BYTES);
  }

  /**
   * The stream message in the frame; link frames (Hello, Ping, Pong) are not stream messages.
   * A payload over {@code maxPayloadBytes} is refused here, before it is copied.
   */
  public static Message fromFrame(Frame f, int maxPayloadBytes) throws WireException {
    switch (f.getBodyCase()) {
      case DATA: {
        var m = f.getData();
        checkPayload(m.getPayload().size(), maxPayloadBytes);
        long seq = positiveSeq(m.getSeq(), "data.seq");
        Seal seal = m.hasSeal() ? seal(m.getSeal()) : null;
        if (seal != null && !seal.covers(seq)) throw new WireException("data.seal does not cover data.seq " + seq);
        return new Message.Data(new StreamId(m.getStream()), peerId(m.getPublisher(), "data.publisher"),
            m.getSession(), seq, ttlOrHops(m.getHops(), "data.hops"), m.getPayload().toByteArray(), seal, seal != null);
      }
      case IHAVE: {
        var m = f.getIhave();
        if (m.getAnnouncementsCount() > MAX_ANNOUNCEMENTS) {
          throw new WireException("ihave carries " + m.getAnnouncementsCount() + " announcements, limit " + MAX_ANNOUNCEMENTS);
        }
        List<Message.Announcement> list = new ArrayList<>(m.getAnnouncementsCount());
        for (var a : m.getAnnouncementsList()) {
          if (a.getCount() < 1) throw new WireException("announcement count must be at least 1");
          long first = positiveSeq(a.getFirstSeq(), "announcement.first_seq");
          if (first + Integer.toUnsignedLong(a.getCount()) - 1 > Message.MAX_SEQ) {
            throw new WireException("announcement range " + first + " + " + Integer.toUnsignedLong(a.getCount())
                + " runs past the largest sequence number " + Message.MAX_SEQ);
          }
          list.add(new Message.Announcement(peerId(a.getPublisher(), "announcement.publisher"), a.getSession(),
              positiveSeq(a.getFirstSeq(), "announcement.first_seq"), a.getCount(), ttlOrHops(a.getHops(), "announcement.hops")));
        }
        return new Message.IHave(new StreamId(m.getStream()), list, m.getCatchUp());
      }
      case GRAFT: {
        var m = f.getGraft();
        MessageRef ref = new MessageRef(peerId(m.getPublisher(), "graft.publisher"), m.getSession(),
            positiveSeq(m.getSeq(), "graft.seq"));
        return new Message.Graft(new StreamId(m.getStream()), ref, m.getWantMessage());
      }
      case PRUNE: {
        var m = f.getPrune();
        return new Message.Prune(new StreamId(m.getStream()), peerId(m.getPublisher(), "prune.publisher"));
      }
      case JOIN: {
        var m = f.getJoin();
        return new Message.Join(new StreamId(m.getStream()), peerInfo(m.getSender(), m.hasSender(), "join.sender"));
      }
      case FORWARD_JOIN: {
        var m = f.getForwardJoin();
        return new Message.ForwardJoin(new StreamId(m.getStream()),
            peerInfo(m.getJoiner(), m.hasJoiner(), "forward_join.joiner"), ttlOrHops(m.getTtl(), "forward_join.ttl"));
      }
      case NEIGHBOR: {
        var m = f.getNeighbor();
        return new Message.Neighbor(new StreamId(m.getStream()),
            peerInfo(m.getSender(), m.hasSender(), "neighbor.sender"), m.getHighPriority());
      }
      case NEIGHBOR_REPLY: {
        var m = f.getNeighborReply();
        return new Message.NeighborReply(new StreamId(m.getStream()), m.getAccepted());
      }
      case DISCONNECT: {
        var m = f.getDisconnect();
        return new Message.Disconnect(new StreamId(m.getStream()), m.getIncarnation(), m.getAlive());
      }
      case SHUFFLE: {
        var m = f.getShuffle();
        return new Message.Shuffle(new StreamId(m.getStream()), peerInfo(m.getOrigin(), m.hasOrigin(), "shuffle.origin"),
            ttlOrHops(m.getTtl(), "shuffle.ttl"), peerInfos(m.getPeersList(), "shuffle.peers"), m.getNonce());
      }
      case SHUFFLE_REPLY: {
        var m = f.getShuffleReply();
        return new Message.ShuffleReply(new StreamId(m.getStream()), peerInfos(m.getPeersList(), "shuffle_reply.peers"),
            m.getNonce());
      }
      case TRACKER_REGISTER: {
        var m = f.getTrackerRegister();
        return new Message.TrackerRegister(new StreamId(m.getStream()), peerInfo(m.getNode(), m.hasNode(), "tracker_register.node"),
            m.getCounter(), m.getWantPeers(), m.getNeighbors(), m.getStorage());
      }
      case TRACKER_LEAVE: {
        var m = f.getTrackerLeave();
        return new Message.TrackerLeave(new StreamId(m.getStream()), m.getCounter());
      }
      case TRACKER_PEERS: {
        var m = f.getTrackerPeers();
        if (m.getStorageNodesCount() > Message.TrackerPeers.MAX_STORAGE_NODES) {
          throw new WireException("tracker_peers.storage_nodes has " + m.getStorageNodesCount() + " peers, limit "
              + Message.TrackerPeers.MAX_STORAGE_NODES);
        }
        return new Message.TrackerPeers(new StreamId(m.getStream()), m.getCounter(), peerInfos(m.getPeersList(), "tracker_peers.peers"),
            peerInfos(m.getStorageNodesList(), "tracker_peers.storage_nodes"));
      }
      case TRACKER_REFUSED: {
        var m = f.getTrackerRefused();
        Message.RefusalReason reason = switch (m.getReason()) {
          case RATE_LIMITED -> Message.RefusalReason.RATE_LIMITED;
          case FULL -> Message.RefusalReason.FULL;
          case INVALID -> Message.RefusalReason.INVALID;
          case STALE -> Message.RefusalReason.STALE;
          default -> throw new WireException("tracker_refused.reason " + m.getReasonValue() + " is not one we know");
        };
        if (m.getDetail().length() > 500) throw new WireException("tracker_refused.detail is longer than 500 characters");
        return new Message.TrackerRefused(new StreamId(m.getStream()), reason, Integer.toUnsignedLong(m.getRetryAfterMs()), m.getDetail());
      }
      case PUNCH_REQUEST: {
        var m = f.getPunchRequest();
        return new Message.PunchRequest(new StreamId(m.getStream()), peerId(m.getPeer(), "punch_request.peer"), m.getNonce());
      }
      case PUNCH_GO: {
        var m = f.getPunchGo();
        if (Integer.toUnsignedLong(m.getDelayMs()) > Message.PunchGo.MAX_DELAY_MILLIS) {
          throw new WireException("punch_go.delay_ms " + Integer.toUnsignedLong(m.getDelayMs()) + " is over "
              + Message.PunchGo.MAX_DELAY_MILLIS);
        }
        return new Message.PunchGo(new StreamId(m.getStream()), peerInfo(m.getPeer(), m.hasPeer(), "punch_go.peer"),
            m.getDelayMs(), m.getNonce());
      }
      case PUNCH_REFUSED: {
        var m = f.getPunchRefused();
        if (m.getDetail().length() > 500) throw new WireException("punch_refused.detail is longer than 500 characters");
        return new Message.PunchRefused(new StreamId(m.getStream()), peerId(m.getPeer(), "punch_refused.peer"), m.getNonce(),
            m.getDetail());
      }
      case RELAY_REQUEST: {
        var m = f.getRelayRequest();
        return new Message.RelayRequest(new StreamId(m.getStream()), peerId(m.getPeer(), "relay_request.peer"), m.getNonce());
      }
      case RELAY_GO: {
        var m = f.getRelayGo();
        if (m.getRelayHost().isEmpty() || m.getRelayHost().length() > 253) throw new WireException("relay_go.relay_host must have 1 to 253 characters");
        if (m.getRelayPort() < 1 || m.getRelayPort() > 65535) throw new WireException("relay_go.relay_port " + Integer.toUnsignedLong(m.getRelayPort()) + " is not a port");
        if (m.getToken().size() != Message.RelayGo.TOKEN_BYTES) throw new WireException("relay_go.token must have " + Message.RelayGo.TOKEN_BYTES + " bytes");
        return new Message.RelayGo(new StreamId(m.getStream()), peerInfo(m.getPeer(), m.hasPeer(), "relay_go.peer"), m.getRelayHost(),
            m.getRelayPort(), m.getToken().toByteArray(), m.getNonce());
      }
      case REACHABILITY_REQUEST: {
        var m = f.getReachabilityRequest();
        return new Message.ReachabilityRequest(new StreamId(m.getStream()), m.getNonce());
      }
      case REACHABILITY: {
        var m = f.getReachability();
        if (m.getReached().length() > 300) throw new WireException("reachability.reached is longer than 300 characters");
        if (m.getDetail().length() > 500) throw new WireException("reachability.detail is longer than 500 characters");
        Message.Reachability.Outcome outcome = switch (m.getOutcome()) {
          case REACHED -> Message.Reachability.Outcome.REACHED;
          case NOT_REACHED -> Message.Reachability.Outcome.NOT_REACHED;
          case REFUSED -> Message.Reachability.Outcome.REFUSED;
          default -> throw new WireException("reachability.outcome " + m.getOutcomeValue() + " is not one we know");
        };
        return new Message.Reachability(new StreamId(m.getStream()), m.getNonce(), outcome, m.getReached(), m.getDetail());
      }
      case RESEND_REQUEST: {
        var m = f.getResendRequest();
        PeerId publisher = m.getPublisher().isEmpty() ? null : peerId(m.getPublisher(), "resend_request.publisher");
        long from = 0;
        long to = 0;
        if (publisher != null) {
          from = positiveSeq(m.getFromSeq(), "resend_request.from_seq");
          to = m.getToSeq() == 0 ? 0 : positiveSeq(m.getToSeq(), "resend_request.to_seq");
          if (to != 0 && to < from) throw new WireException("resend_request.to_seq " + to + " is below from_seq " + from);
        }
        if (Integer.toUnsignedLong(m.getCredit()) > Message.MAX_RESEND_CREDIT) {
          throw new WireException("resend_request.credit " + Integer.toUnsignedLong(m.getCredit()) + " is over " + Message.MAX_RESEND_CREDIT);
        }
        return new Message.ResendRequest(new StreamId(m.getStream()), m.getRequest(), publisher, m.getSession(), from, to,
            m.getFromTimeMs(), m.getCredit());
      }
      case RESEND_CREDIT: {
        var m = f.getResendCredit();
        if (Integer.toUnsignedLong(m.getCredit()) > Message.MAX_RESEND_CREDIT) {
          throw new WireException("resend_credit.credit " + Integer.toUnsignedLong(m.getCredit()) + " is over " + Message.MAX_RESEND_CREDIT);
        }
        return new Message.ResendCredit(new StreamId(m.getStream()), m.getRequest(), m.getCredit());
      }
      case RESEND_BATCH: {
        var m = f.getResendBatch();
        if (m.getMessagesCount() > Message.MAX_RESEND_BATCH) {
          throw new WireException("resend_batch carries " + m.getMessagesCount() + " messages, limit " + Message.MAX_RESEND_BATCH);
        }
        List<Message.Data> list = new ArrayList<>(m.getMessagesCount());
        for (var d : m.getMessagesList()) {
          if (d.getStream() != m.getStream()) throw new WireException("resend_batch holds a message of another stream");
          list.add((Message.Data) fromFrame(Frame.newBuilder().setData(d).build(), maxPayloadBytes));
        }
        return new Message.ResendBatch(new StreamId(m.getStream()), m.getRequest(), list);
      }
      case RESEND_END: {
        var m = f.getResendEnd();
        if (m.getDetail().length() > 500) throw new WireException("resend_end.detail is longer than 500 characters");
        Message.ResendOutcome outcome = switch (m.getOutcome()) {
          case COMPLETE -> Message.ResendOutcome.COMPLETE;
          case NOT_STORED -> Message.ResendOutcome.NOT_STORED;
          case REFUSED -> Message.ResendOutcome.REFUSED;
          case FAILED -> Message.ResendOutcome.FAILED;
          case TRUNCATED -> Message.ResendOutcome.TRUNCATED;
          default -> throw new WireException("resend_end.outcome " + m.getOutcomeValue() + " is not one we know");
        };
        return new Message.ResendEnd(new StreamId(m.getStream()), m.getRequest(), outcome, m.getDetail());
      }
      case BODY_NOT_SET:
        throw new WireException("frame has no body (an unknown message type from a newer peer?)");
      default:
        throw new WireException(f.getBodyCase() + " is a link frame, not a stream message");
    }
  }

  public static PeerInfo peerInfo(dev.overlay.wire.proto.PeerInfo p, boolean present, String field) throws WireException {
    if (!present) throw new WireException(field + " is missing");
    if (p.getCandidatesCount() > PeerInfo.MAX_CANDIDATES) {
      throw new WireException(field + " has " + p.getCandidatesCount() + " candidates, limit " + PeerInfo.MAX_CANDIDATES);
    }
    List<Candidate> candidates = new ArrayList<>(p.getCandidatesCount());
    for (var c : p.getCandidatesList()) {
      Candidate.Kind kind = switch (c.getKind()) {
        case LOCAL -> Candidate.Kind.LOCAL;
        case REFLEXIVE -> Candidate.Kind.REFLEXIVE;
        case RELAY -> Candidate.Kind.RELAY;
        default -> throw new WireException(field + " has a candidate of unknown kind " + c.getKindValue());
      };
      try {
        candidates.add(new Candidate(kind, c.getHost(), c.getPort()));
      } catch (IllegalArgumentException e) {
        throw new WireException(field + ": " + e.getMessage());
      }
    }
    try {
      return new PeerInfo(peerId(p.getId(), field + ".id"), p.getIncarnation(), candidates);
    } catch (IllegalArgumentException e) {
      throw new WireException(field + ": " + e.getMessage());
    }
  }

  private static List<PeerInfo> peerInfos(List<dev.overlay.wire.proto.PeerInfo> list, String field) throws WireException {
    if (list.size() > MAX_PEERS_PER_SHUFFLE) {
      throw new WireException(field + " has " + list.size() + " peers, limit " + MAX_PEERS_PER_SHUFFLE);
    }
    List<PeerInfo> out = new ArrayList<>(list.size());
    for (var p : list) out.add(peerInfo(p, true, field));
    return out;
  }

  public static PeerId peerId(ByteString bytes, String field) throws WireException {
    if (bytes.size() != PeerId.BYTES) {
      throw new WireException(field + " must be " + PeerId.BYTES + " bytes, got " + bytes.size());
    }
    return PeerId.fromBytes(bytes.toByteArray());
  }

  /** A sequence number in 1..{@link Message#MAX_SEQ}. */
  public static long positiveSeq(long seq, String field) throws WireException {
    if (seq < 1 || seq > Message.MAX_SEQ) {
      throw new WireException(field + " must be in 1.." + Message.MAX_SEQ + ", got " + Long.toUnsignedString(seq));
    }
    return seq;
  }

  /** Refuses a payload over the receiver's limit. */
  public static void checkPayload(long bytes, int maxPayloadBytes) throws WireException {
    if (bytes > maxPayloadBytes) {
      throw new WireException("payload of " + bytes + " bytes, limit " + maxPayloadBytes);
    }
  }

  private static int ttlOrHops(int v, String field) throws WireException {
    if (v < 0 || v > MAX_TTL * 16) throw new WireException(field + " out of range: " + Integer.toUnsignedString(v));
    return v;
  }
}
