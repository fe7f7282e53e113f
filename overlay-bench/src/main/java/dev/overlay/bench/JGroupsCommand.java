package dev.overlay.bench;

import dev.overlay.report.Json;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.Receiver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The comparison job on JGroups: N channels in this JVM, JGroups' own TCP stack (tcp.xml's
 * protocols and settings, with ports assigned per channel on 127.0.0.1), one member sending to
 * the group at a fixed rate. Prints the same fields as {@code cluster}.
 */
@Command(name = "jgroups", mixinStandardHelpOptions = true,
    description = "The comparison job on JGroups 5 (TCP stack, all members in this JVM). Prints one JSON object.")
final class JGroupsCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "20") int nodes;
  @Option(names = "--rate", defaultValue = "1000") double rate;
  @Option(names = "--size", defaultValue = "100") int size;
  @Option(names = "--duration", defaultValue = "8") double duration;
  @Option(names = "--warmup", defaultValue = "2") double warmup;
  @Option(names = "--base-port", defaultValue = "17800") int basePort;
  @Option(names = "--json") Path json;
  @Option(names = "--encrypt", description = "Encrypt with ASYM_ENCRYPT under NAKACK2: AES for every message, the group"
      + " key handed out by the coordinator under RSA (JGroups' own key exchange). Overlay encrypts every link, so this is"
      + " the like-for-like row.")
  boolean encrypt;

  /** tcp.xml (JGroups 5.5) with its default transport inlined; ports and hosts filled in per channel. */
  private static String stack(int port, String initialHosts, boolean encrypt) {
    return """
        <config xmlns="urn:org:jgroups">
          <TCP bind_addr="127.0.0.1" bind_port="%d" port_range="0" recv_buf_size="0" send_buf_size="0"
               buffered_input_stream_size="65536" buffered_output_stream_size="65536" sock_conn_timeout="300ms"
               tcp_nodelay="false" bundler_type="pd" bundler.max_size="64K" bundler.capacity="16k"
               bundler.use_single_sender_thread="true" bundler.use_ringbuffer="true" message_processing_policy="max"
               diag.enabled="false" thread_pool.min_threads="0" thread_pool.max_threads="200" thread_pool.keep_alive_time="60s"
               use_virtual_threads="true"/>
          <TCPPING async_discovery="true" initial_hosts="%s" port_range="0"/>
          <MERGE3 min_interval="10s" max_interval="30s"/>
          <FD_SOCK2/>
          <FD_ALL3 timeout="40s" interval="5s"/>
          <VERIFY_SUSPECT2 timeout="1.5s"/>
          <BARRIER/>
          %s<pbcast.NAKACK2 use_mcast_xmit="false"/>
          <UNICAST3/>
          <pbcast.STABLE desired_avg_gossip="50s" max_bytes="4M"/>
          <pbcast.GMS print_local_addr="false" join_timeout="2s"/>
          <MFC max_credits="2M" min_threshold="0.4"/>
          <UFC max_credits="2M" min_threshold="0.4"/>
          <FRAG2 frag_size="60K"/>
        </config>
        """.formatted(port, initialHosts,
            // Directly under NAKACK2, as JGroups' manual places it; keys kept across leaves (nobody leaves here).
            encrypt ? "<ASYM_ENCRYPT change_key_on_leave=\"false\" change_key_on_coord_leave=\"false\"/>\n          " : "");
  }

  @Override
  public Integer call() throws Exception {
    System.setProperty("java.net.preferIPv4Stack", "true");
    StringBuilder hosts = new StringBuilder();
    for (int i = 0; i < nodes; i++) hosts.append(i == 0 ? "" : ",").append("127.0.0.1[").append(basePort + i).append(']');
    List<JChannel> channels = new ArrayList<>();
    Histogram latency = new Histogram(60_000_000L, 3);
    long[] delivered = new long[nodes];
    long[] duplicates = new long[1];
    BitSet[] seen = new BitSet[nodes];
    boolean[] measuring = {false};
    try {
      for (int i = 0; i < nodes; i++) {
        JChannel ch = new JChannel(new ByteArrayInputStream(stack(basePort + i, hosts.toString(), encrypt).getBytes(StandardCharsets.UTF_8)));
        int me = i;
        seen[i] = new BitSet();
        if (i > 0) {
          ch.setReceiver(new Receiver() {
            @Override
            public void receive(Message msg) {
              byte[] b = msg.getArray();
              int off = msg.getOffset();
              if (b[off + 16] != 1 || !measuring[0]) return;
              long sent = DemoNetwork.readLong(b, off);
              int seq = (int) DemoNetwork.readLong(b, off + 8);
              synchronized (seen[me]) {
                if (seen[me].get(seq)) {
                  duplicates[0]++;
                  return;
                }
                seen[me].set(seq);
                delivered[me]++;
              }
              synchronized (latency) {
                latency.recordValue(Math.max(0, (System.nanoTime() - sent) / 1000));
              }
            }
          });
        }
        ch.connect("compare");
        channels.add(ch);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (channels.get(0).getView().size() < nodes) {
        if (System.nanoTime() > deadline) throw new IllegalStateException("the group did not form: " + channels.get(0).getView());
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
      JChannel pub = channels.get(0);
      publish(pub, Math.min(rate, 2_000), warmup, false, 0);
      measuring[0] = true;
      long lo0 = loBytes();
      long cpu0 = DemoNetwork.processCpuNanos();
      long t0 = System.nanoTime();
      int published = publish(pub, rate, duration, true, 1);
      long lastTotal = -1;
      long lastChange = System.nanoTime();
      while (System.nanoTime() - lastChange < TimeUnit.SECONDS.toNanos(2)) {
        long total = 0;
        for (int i = 1; i < nodes; i++) synchronized (seen[i]) { total += delivered[i]; }
        if (total >= (long) published * (nodes - 1)) break;
        if (total != lastTotal) {
          lastTotal = total;
          lastChange = System.nanoTime();
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
      double elapsed = (System.nanoTime() - t0) / 1e9;
      long cpu = DemoNetwork.processCpuNanos() - cpu0;
      long lo = loBytes() - lo0;
      measuring[0] = false;
      long total = 0;
      double min = 1;
      for (int i = 1; i < nodes; i++) {
        total += delivered[i];
        min = Math.min(min, published == 0 ? 1 : Math.min(1.0, (double) delivered[i] / published));
      }
      Json out = Json.object().put("system", "JGroups " + org.jgroups.Version.printVersion()
              + (encrypt ? " (TCP stack, ASYM_ENCRYPT, one JVM)" : " (TCP stack, one JVM)"))
          .put("nodes", nodes).put("rate", rate).put("size", size).put("duration_s", duration).put("published", published)
          .put("completeness_min", min)
          .put("latency_ms_p50", latency.getValueAtPercentile(50) / 1000.0)
          .put("latency_ms_p99", latency.getValueAtPercentile(99) / 1000.0)
          .put("latency_ms_max", latency.getMaxValue() / 1000.0)
          .put("duplicates_per_delivery", total == 0 ? 0 : (double) duplicates[0] / total)
          .put("delivered_per_s", total / elapsed)
          .put("wire_bytes_per_delivery", total == 0 ? 0 : (double) lo / total)
          .put("cpu_s_per_1000_deliveries", total == 0 ? 0 : cpu / 1e9 / (total / 1000.0))
          .put("settings", "tcp.xml protocols and defaults (tcp_nodelay=false, bundler pd), ports per channel, -Xmx as given"
              + (encrypt ? "; ASYM_ENCRYPT under NAKACK2, defaults otherwise" : ""));
      String text = out.toString().replace("\n", " ");
      System.out.println(text);
      if (json != null) Files.writeString(json, out.toString(), StandardCharsets.UTF_8);
    } finally {
      for (int i = channels.size() - 1; i >= 0; i--) channels.get(i).close();
    }
    return 0;
  }

  /** Sends at {@code rate} for {@code seconds}, paced in batches of at least 0.5 ms; returns how many. */
  private int publish(JChannel ch, double rate, double seconds, boolean measured, int firstSeq) throws Exception {
    long start = System.nanoTime();
    int total = (int) (rate * seconds);
    int sent = 0;
    while (sent < total) {
      long due = Math.min(total, (long) ((System.nanoTime() - start) / 1e9 * rate));
      while (sent < due) {
        byte[] p = new byte[size];
        DemoNetwork.writeLong(p, 0, System.nanoTime());
        DemoNetwork.writeLong(p, 8, firstSeq + sent);
        p[16] = (byte) (measured ? 1 : 0);
        ch.send(new BytesMessage(null, p));
        sent++;
      }
      LockSupport.parkNanos(500_000);
    }
    return sent;
  }


  static long loBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/dev"))) {
        String t = line.trim();
        if (t.startsWith("lo:")) return Long.parseLong(t.substring(3).trim().split("\\s+")[0]);
      }
    } catch (Exception e) {
      // not Linux: no figure
    }
    return 0;
  }

}
