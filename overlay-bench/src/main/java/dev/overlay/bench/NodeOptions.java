package dev.overlay.bench;

import dev.overlay.config.AuthConfig;
import dev.overlay.config.NodeConfig;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The protocol options the network commands share (a picocli mixin). */
final class NodeOptions {

  @Option(names = "--no-auth", description = "Publishers do not sign and nodes do not check (to measure what authentication costs).")
  boolean noAuth;

  @Option(names = "--seal-interval-us", description = "AuthConfig.sealInterval in microseconds (default: the core's, 2000).")
  Long sealIntervalMicros;

  NodeConfig config() {
    AuthConfig.Builder auth = AuthConfig.builder().required(!noAuth);
    if (sealIntervalMicros != null) auth.sealInterval(Duration.ofNanos(sealIntervalMicros * 1000));
    return NodeConfig.builder().auth(auth.build()).build();
  }

  String describe() {
    return noAuth ? "unsigned" : "signed";
  }
}
