package dev.overlay.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reports a leaked buffer while it ran.
 *
 * <p>Registered for every test through the JUnit extension service file, so it loads before any
 * buffer class does and its detector factory is the one Netty uses. The tests run with the
 * detector at paranoid (surefire's configuration), so every buffer is tracked. Leaks are found
 * when the garbage collector clears a buffer that was never released; after each class we
 * collect and allocate until the detector has had its chance, then fail on any report.
 */
public final class LeakCheck implements AfterAllCallback {

  private static final List<String> LEAKS = new ArrayList<>();

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
      @Override
      public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
        return new Recording<>(resource, samplingInterval);
      }
    });
  }

  /** A detector that remembers what it reports, besides logging it. */
  private static final class Recording<T> extends ResourceLeakDetector<T> {
    Recording(Class<?> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected boolean needReport() {
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      record(resourceType + " leaked:" + records);
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      record(resourceType + " leaked (no access records)");
      super.reportUntracedLeak(resourceType);
    }
  }

  private static void record(String leak) {
    synchronized (LEAKS) {
      LEAKS.add(leak);
    }
  }

  /** Collects garbage and gives the detector allocations to notice it on; returns (and forgets) what it reported. */
  public static List<String> collectLeaks() {
    for (int i = 0; i < 3; i++) {
      // A sentinel cleared by the same collection: once the reference handler has queued it,
      // it has queued the buffers that collection found unreachable too.
      ReferenceQueue<Object> queue = new ReferenceQueue<>();
      WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
      System.gc();
      try {
        if (queue.remove(10_000) == null) throw new AssertionError("the garbage collector did not clear a weak reference in 10 s");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      sentinel.clear();
      // Detection happens on allocation: each tracked allocation polls the queue of cleared buffers.
      for (int k = 0; k < 10; k++) {
        ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        a.release();
        ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
        b.release();
      }
    }
    synchronized (LEAKS) {
      List<String> out = new ArrayList<>(LEAKS);
      LEAKS.clear();
      return out;
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    List<String> leaks = collectLeaks();
    if (!leaks.isEmpty()) {
      throw new AssertionError(leaks.size() + " buffer leak(s) reported while " + context.getDisplayName() + " ran:\n"
          + String.join("\n", leaks));
    }
  }
}
