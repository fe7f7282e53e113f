package dev.overlay.bench.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BiPredicate;
import org.rocksdb.CompressionType;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * RocksDB (rocksdbjni): an LSM tree. Each write goes to its write-ahead log (in the operating
 * system's buffers, not synced: what a killed process wrote survives), then to a memtable;
 * sorted files are written and compacted in the background. Keys share prefixes within a block,
 * and blocks are compressed with LZ4.
 */
final class RocksEngine implements StoreEngine {

  static {
    RocksDB.loadLibrary();
  }

  private final Options options;
  private final WriteOptions writeOptions;
  private final RocksDB db;

  RocksEngine(Path dir) throws IOException {
    options = new Options().setCreateIfMissing(true)
        .setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setBottommostCompressionType(CompressionType.ZSTD_COMPRESSION)
        .setWriteBufferSize(64L << 20)
        .setMaxBackgroundJobs(2)
        // Larger blocks: fewer index entries and restart points per message (4 KiB by default).
        .setTableFormatConfig(new org.rocksdb.BlockBasedTableConfig().setBlockSize(16 << 10));
    writeOptions = new WriteOptions().setSync(false);
    try {
      db = RocksDB.open(options, dir.toString());
    } catch (RocksDBException e) {
      throw new IOException(e);
    }
  }

  @Override
  public String name() {
    return "rocksdb";
  }

  @Override
  public void write(Batch batch) throws IOException {
    try (WriteBatch wb = new WriteBatch()) {
      for (int i = 0; i < batch.size(); i++) wb.put(batch.keys.get(i), batch.values.get(i));
      db.write(writeOptions, wb);
    } catch (RocksDBException e) {
      throw new IOException(e);
    }
  }

  @Override
  public void scan(byte[] from, byte[] to, BiPredicate<byte[], byte[]> visitor) {
    try (RocksIterator it = db.newIterator()) {
      for (it.seek(from); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (java.util.Arrays.compareUnsigned(k, to) >= 0) return;
        if (!visitor.test(k, it.value())) return;
      }
    }
  }

  @Override
  public void compact() throws IOException {
    try {
      db.flush(new org.rocksdb.FlushOptions().setWaitForFlush(true));
      db.compactRange();
    } catch (RocksDBException e) {
      throw new IOException(e);
    }
  }

  @Override
  public void close() {
    db.close();
    writeOptions.close();
    options.close();
  }
}
