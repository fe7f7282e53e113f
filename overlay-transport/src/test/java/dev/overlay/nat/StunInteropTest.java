package dev.overlay.nat;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.File;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * STUN against an independent implementation, both ways: our client asks coturn's
 * {@code turnserver}, and coturn's {@code turnutils_stunclient} asks our server (the one every
 * tracker runs). On loopback, so the reflexive address is the local one. Needs the Debian
 * package coturn, which {@code .ci/run} installs: skipped with a message without it, except
 * under CI, where a missing coturn fails the build rather than hiding the test.
 */
class StunInteropTest {

  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private Process turnserver;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (turnserver != null) {
      turnserver.destroy();
      if (!turnserver.waitFor(10, TimeUnit.SECONDS)) turnserver.destroyForcibly().waitFor();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private static Path tool(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) return p;
    }
    String why = name + " not found: install the Debian package coturn (apt-get install -y coturn; .ci/run does)";
    if ("true".equals(System.getenv("CI"))) throw new AssertionError(why);
    Assumptions.abort(why);
    return null;
  }

  /** A port free for both UDP and TCP on loopback, as far as one can tell before using it. */
  private static int freePort() throws Exception {
    for (int i = 0; i < 50; i++) {
      try (ServerSocket t = new ServerSocket(0, 1, LOOPBACK); DatagramSocket u = new DatagramSocket(t.getLocalPort(), LOOPBACK)) {
        return t.getLocalPort();
      } catch (java.net.BindException taken) {
        // the UDP port was in use: another
      }
    }
    throw new AssertionError("no free port");
  }

  @Test
  void ourClientGetsItsReflexiveAddressFromCoturn(@TempDir Path dir) throws Exception {
    Path turn = tool("turnserver");
    int port = freePort();
    turnserver = new ProcessBuilder(turn.toString(), "-n", "--no-cli", "--no-tls", "--no-dtls", "--stun-only",
        "--listening-ip", LOOPBACK.getHostAddress(), "--listening-port", String.valueOf(port),
        "--userdb", dir.resolve("turndb").toString(), "--pidfile", dir.resolve("turn.pid").toString(),
        "--log-file", "stdout", "--simple-log").redirectErrorStream(true).redirectOutput(dir.resolve("turn.log").toFile()).start();
    InetSocketAddress server = new InetSocketAddress(LOOPBACK, port);

    // UDP: the RFC's retransmissions cover coturn's start-up; 39.5 s before giving up.
    try (StunClient client = StunClient.udp(group, new InetSocketAddress(LOOPBACK, 0), StunClient.Timing.RFC)) {
      StunClient.Result r = client.binding(server).get(60, TimeUnit.SECONDS);
      assertThat(r.reflexive()).as("coturn's log:\n" + Files.readString(dir.resolve("turn.log"))).isEqualTo(client.localAddress());
      assertThat(r.software()).as("the answer is coturn's").containsIgnoringCase("coturn");
    }
    // TCP: coturn's TCP listener may come up after its UDP one; try again until a deadline.
    StunClient.Result[] tcp = new StunClient.Result[1];
    dev.overlay.testing.Await.until(Duration.ofSeconds(60), () -> {
      try {
        tcp[0] = StunClient.bindingTcp(group, server, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS);
        return true;
      } catch (Exception notYet) {
        return false;
      }
    }, () -> "a TCP binding answered by coturn");
    assertThat(tcp[0].reflexive()).isEqualTo(tcp[0].local());
  }

  @Test
  void coturnsClientGetsItsReflexiveAddressFromOurServer() throws Exception {
    Path client = tool("turnutils_stunclient");
    try (StunServer server = new StunServer("overlay-tracker").start(new InetSocketAddress(LOOPBACK, 0), null)) {
      Process p = new ProcessBuilder(client.toString(), "-p", String.valueOf(server.udpAddress().getPort()),
          LOOPBACK.getHostAddress()).redirectErrorStream(true).start();
      boolean exited = p.waitFor(60, TimeUnit.SECONDS);
      if (!exited) p.destroyForcibly().waitFor();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(exited).as("turnutils_stunclient exited; output:\n" + out).isTrue();
      assertThat(p.exitValue()).as("exit status; output:\n" + out).isZero();
      assertThat(out).as("its report").contains("UDP reflexive addr: " + LOOPBACK.getHostAddress() + ":");
      assertThat(server.counters().answered()).isPositive();
      assertThat(server.counters().malformed()).as("coturn's requests all parsed").isZero();
      List.of(out.split("\n")).forEach(l -> System.out.println("turnutils_stunclient: " + l));
    }
  }
}
