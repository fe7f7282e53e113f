package dev.overlay.broadcast;

/** Counters of one stream's broadcast layer. Read them through a snapshot; the core only increments. */
public final class PlumtreeStats {
  long delivered;
  long dataReceived;
  long duplicates;
  long dataSent;
  long ihavesSent;
  long ihavesReceived;
  long graftsSent;
  long prunesSent;
  long graftMisses;
  long optimizations;
  long missingEvicted;

  public long delivered() {
    return delivered;
  }

  public long dataReceived() {
    return dataReceived;
  }

  public long duplicates() {
    return duplicates;
  }

  public long dataSent() {
    return dataSent;
  }

  public long ihavesSent() {
    return ihavesSent;
  }

  public long ihavesReceived() {
    return ihavesReceived;
  }

  public long graftsSent() {
    return graftsSent;
  }

  public long prunesSent() {
    return prunesSent;
  }

  public long graftMisses() {
    return graftMisses;
  }

  public long optimizations() {
    return optimizations;
  }

  public long missingEvicted() {
    return missingEvicted;
  }
}
