package dev.overlay.testing;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/** An executor that runs its tasks only when the test says so: another thread, stalled or shut down at will. */
public final class ManualExecutor implements Executor {

  public final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
  /** Refuse tasks, as a shut-down executor does. */
  public boolean refuse;

  @Override
  public void execute(Runnable r) {
    if (refuse) throw new RejectedExecutionException("shut down");
    tasks.add(r);
  }

  /** Runs every task, including those the tasks themselves hand over. */
  public void runAll() {
    while (!tasks.isEmpty()) tasks.poll().run();
  }
}
