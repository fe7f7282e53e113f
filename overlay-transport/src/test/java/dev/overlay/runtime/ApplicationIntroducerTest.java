package dev.overlay.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.overlay.core.Candidate;
import dev.overlay.core.PeerId;
import dev.overlay.core.PeerInfo;
import dev.overlay.core.StreamId;
import dev.overlay.spi.Introducer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** An application's introducer is code the node does not control: what it does wrong stays with it. */
class ApplicationIntroducerTest {

  private static final StreamId STREAM = StreamId.of("s");
  private final SplittableRandom rng = new SplittableRandom(7);
  private final List<List<PeerInfo>> answers = new ArrayList<>();
  /** What the adapter put off until after the loop's turn. */
  private final List<Runnable> later = new ArrayList<>();

  private void endOfTurn() {
    List<Runnable> now = new ArrayList<>(later);
    later.clear();
    now.forEach(Runnable::run);
  }

  private PeerInfo peer() {
    return new PeerInfo(PeerId.random(rng), 1, List.of(new Candidate(Candidate.Kind.LOCAL, "127.0.0.1", 4000)));
  }

  private ApplicationIntroducer adapt(Introducer i) {
    return new ApplicationIntroducer(id -> id.equals(STREAM) ? "s" : "?", later::add, i);
  }

  @Test
  void theApplicationSeesTheStreamsNameAndItsAnswerReachesTheNode() {
    List<String> asked = new ArrayList<>();
    PeerInfo p = peer();
    adapt((stream, answer) -> {
      asked.add(stream);
      answer.accept(List.of(p));
    }).introduce(STREAM, answers::add);
    endOfTurn();
    assertThat(asked).containsExactly("s");
    assertThat(answers).containsExactly(List.of(p));
  }

  @Test
  void anIntroducerThatThrowsIsNoAnswerAndThrowsNothingIntoTheLoop() {
    ApplicationIntroducer a = adapt((stream, answer) -> {
      throw new IllegalStateException("registry down");
    });
    a.introduce(STREAM, answers::add);
    endOfTurn(); // must not throw: the loop's turn would be cut short
    assertThat(answers).isEmpty();
  }

  @Test
  void onlyTheFirstAnswerCounts() {
    Consumer<List<PeerInfo>>[] kept = new Consumer[1];
    adapt((stream, answer) -> kept[0] = answer).introduce(STREAM, answers::add);
    endOfTurn();
    PeerInfo first = peer();
    kept[0].accept(List.of(first));
    kept[0].accept(List.of(peer()));
    assertThat(answers).containsExactly(List.of(first));
  }

  @Test
  void nullsAreDroppedAndANullAnswerIsNoAnswerSoALaterOneStillCounts() {
    Consumer<List<PeerInfo>>[] kept = new Consumer[1];
    adapt((stream, answer) -> kept[0] = answer).introduce(STREAM, answers::add);
    endOfTurn();
    kept[0].accept(null);
    PeerInfo p = peer();
    kept[0].accept(Arrays.asList(null, p, null));
    assertThat(answers).containsExactly(List.of(p));
  }

  @Test
  void aHugeAnswerIsCutToASampleOfTheTrackersSize() {
    List<PeerInfo> many = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) many.add(peer());
    adapt((stream, answer) -> answer.accept(many)).introduce(STREAM, answers::add);
    endOfTurn();
    assertThat(answers).hasSize(1);
    assertThat(answers.get(0)).hasSize(ApplicationIntroducer.MAX_PEERS_PER_ANSWER).doesNotHaveDuplicates();
    assertThat(many).containsAll(answers.get(0));
  }

  @Test
  void anAnswerAfterTheNodeClosedIsDropped() {
    Consumer<List<PeerInfo>>[] kept = new Consumer[1];
    adapt((stream, answer) -> kept[0] = answer).introduce(STREAM, peers -> {
      throw new java.util.concurrent.RejectedExecutionException("loop shut down");
    });
    endOfTurn();
    kept[0].accept(List.of(peer())); // on the application's thread: must not throw there either
  }

  @Test
  void theApplicationIsAskedAfterTheCoresTurnNotInsideIt() {
    List<String> asked = new ArrayList<>();
    adapt((stream, answer) -> asked.add(stream)).introduce(STREAM, answers::add);
    assertThat(asked).as("not while the core handles its event").isEmpty();
    endOfTurn();
    assertThat(asked).containsExactly("s");
  }

  @Test
  void anErrorThatIsNotAnExceptionStaysWithTheIntroducerToo() {
    adapt((stream, answer) -> {
      throw new AssertionError("a bug in the application");
    }).introduce(STREAM, answers::add);
    endOfTurn();
    assertThat(answers).isEmpty();
  }

  @Test
  void aCloseThatThrowsDoesNotStopTheNodesClose() {
    adapt(new Introducer() {
      @Override
      public void introduce(String stream, Consumer<List<PeerInfo>> answer) {}

      @Override
      public void close() {
        throw new IllegalStateException("already closed");
      }
    }).closing();
  }
}
