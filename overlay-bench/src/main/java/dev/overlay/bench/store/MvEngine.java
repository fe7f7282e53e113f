package dev.overlay.bench.store;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BiPredicate;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

/**
 * H2's MVStore: a copy-on-write B-tree in one append-only file. A commit writes the changed
 * pages as a new chunk at the end of the file (in the operating system's buffers: what a killed
 * process committed survives); old chunks are reclaimed by compaction. Pages are compressed
 * with LZF.
 */
final class MvEngine implements StoreEngine {

  /** Byte-array keys in unsigned lexicographic order, as RocksDB's default comparator orders them. */
  static final class Bytes extends BasicDataType<byte[]> {
    static final Bytes INSTANCE = new Bytes();

    @Override
    public int compare(byte[] a, byte[] b) {
      return Arrays.compareUnsigned(a, b);
    }

    @Override
    public int getMemory(byte[] obj) {
      return 24 + obj.length;
    }

    @Override
    public void write(WriteBuffer buff, byte[] obj) {
      buff.putVarInt(obj.length).put(obj);
    }

    @Override
    public byte[] read(ByteBuffer buff) {
      byte[] b = new byte[DataUtils.readVarInt(buff)];
      buff.get(b);
      return b;
    }

    @Override
    public byte[][] createStorage(int size) {
      return new byte[size][];
    }
  }

  private final MVStore store;
  private final MVMap<byte[], byte[]> map;

  MvEngine(Path dir) {
    store = new MVStore.Builder().fileName(dir.resolve("store.mv").toString()).compress().autoCommitDisabled().open();
    map = store.openMap("messages", new MVMap.Builder<byte[], byte[]>().keyType(Bytes.INSTANCE).valueType(Bytes.INSTANCE));
  }

  @Override
  public String name() {
    return "mvstore";
  }

  @Override
  public void write(Batch batch) {
    for (int i = 0; i < batch.size(); i++) map.put(batch.keys.get(i), batch.values.get(i));
    store.commit();
  }

  @Override
  public void scan(byte[] from, byte[] to, BiPredicate<byte[], byte[]> visitor) {
    Cursor<byte[], byte[]> c = map.cursor(from);
    while (c.hasNext()) {
      byte[] k = c.next();
      if (Arrays.compareUnsigned(k, to) >= 0) return;
      if (!visitor.test(k, c.getValue())) return;
    }
  }

  @Override
  public void compact() {
    store.compactFile(60_000);
  }

  @Override
  public void close() {
    store.close();
  }
}
