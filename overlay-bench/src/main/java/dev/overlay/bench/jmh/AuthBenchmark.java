package dev.overlay.bench.jmh;

import dev.overlay.NodeIdentity;
import dev.overlay.auth.SealBook;
import dev.overlay.auth.SealFormat;
import dev.overlay.config.AuthConfig;
import dev.overlay.core.PeerId;
import dev.overlay.core.StreamId;
import dev.overlay.identity.EcdsaSignatures;
import dev.overlay.protocol.Message;
import dev.overlay.protocol.Seal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Authenticating one received 100-byte message, amortised: its digest checked against its seal,
 * and, once per batch, the seal's ECDSA signature verified (with the engine a node uses here:
 * native where it loads). Messages come in batches of {@code batch} under one seal, the first
 * carrying it, as on a link; the seal book is reset every {@link #BATCHES} batches so that every
 * seal is verified, not matched from memory. {@code verifySeal} is one signature on its own.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AuthBenchmark {

  static final int BATCHES = 64;
  static final StreamId STREAM = StreamId.of("telemetry");

  @Param({"32", "100", "256"})
  int batch;

  private final NodeIdentity publisherKey = NodeIdentity.generate();
  private final PeerId from = PeerId.random(new Random(2));
  private Message.Data[] messages;
  private SealBook book;
  private EcdsaSignatures verifier;
  private SealFormat format;
  private int next;
  private long now = 1;
  private byte[] sealDigest;
  private Seal firstSeal;

  @Setup(Level.Trial)
  public void setUp() {
    EcdsaSignatures signer = new EcdsaSignatures(publisherKey);
    verifier = new EcdsaSignatures(NodeIdentity.generate());
    format = new SealFormat();
    PeerId publisher = publisherKey.peerId();
    List<Message.Data> all = new ArrayList<>();
    Random r = new Random(1);
    long seq = 1;
    for (int b = 0; b < BATCHES; b++) {
      byte[] digests = new byte[batch * Seal.DIGEST_BYTES];
      List<Message.Data> batchMessages = new ArrayList<>();
      for (int i = 0; i < batch; i++) {
        byte[] payload = new byte[100];
        r.nextBytes(payload);
        Message.Data m = new Message.Data(STREAM, publisher, 7, seq++, 2, payload);
        format.digest(m, digests, i * Seal.DIGEST_BYTES);
        batchMessages.add(m);
      }
      long first = batchMessages.get(0).seq();
      Seal seal = new Seal(first, batch, digests, signer.publicKey(),
          signer.sign(format.sealDigest(STREAM, publisher, 7, first, batch, digests)));
      if (b == 0) {
        firstSeal = seal;
        sealDigest = format.sealDigest(STREAM, publisher, 7, first, batch, digests).clone();
      }
      batchMessages.set(0, batchMessages.get(0).withSeal(seal, true));
      all.addAll(batchMessages);
    }
    messages = all.toArray(new Message.Data[0]);
    book = newBook();
  }

  private SealBook newBook() {
    AuthConfig unbounded = AuthConfig.builder().verificationsPerSecondPerPublisher(Integer.MAX_VALUE / 2)
        .verificationsPerSecondPerPeer(Integer.MAX_VALUE / 2).build();
    return new SealBook(STREAM, unbounded, verifier, format, null);
  }

  @Benchmark
  public Seal authenticate() {
    if (next == messages.length) {
      next = 0;
      book = newBook(); // every seal verified again, not remembered
    }
    now += 20_000;
    return book.authenticate(now, from, messages[next++]);
  }

  @Benchmark
  public boolean verifySeal() {
    return verifier.verify(firstSeal.publicKey(), sealDigest, firstSeal.signature());
  }
}
