package dev.overlay.bench.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;

/**
 * An ordered, persistent key-value engine, as a storage node would use one: the two candidates
 * issue 14 asks to compare (RocksDB and H2's MVStore) behind one face, so that one benchmark
 * drives both the same way.
 */
interface StoreEngine extends AutoCloseable {

  /** Writes collected for one atomic write. */
  final class Batch {
    final List<byte[]> keys = new ArrayList<>();
    final List<byte[]> values = new ArrayList<>();

    void put(byte[] key, byte[] value) {
      keys.add(key);
      values.add(value);
    }

    int size() {
      return keys.size();
    }

    void clear() {
      keys.clear();
      values.clear();
    }
  }

  String name();

  /**
   * Writes the batch atomically. When this returns the batch is acknowledged: it survives the
   * process being killed (it is in the operating system's hands), not a power loss.
   */
  void write(Batch batch) throws IOException;

  /** Visits the keys in [from, to) in order, until the visitor returns false. */
  void scan(byte[] from, byte[] to, BiPredicate<byte[], byte[]> visitor) throws IOException;

  /** Compacts what it can, so that the size on disk is a fair figure. */
  void compact() throws IOException;

  @Override
  void close() throws IOException;
}
