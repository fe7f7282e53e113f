package dev.overlay.tracker;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A container's health check: exits 0 when the tracker on this host answers {@code GET /health}
 * with {@code ok}, 1 otherwise. It exists because an image built by Jib cannot carry a HEALTHCHECK
 * (GoogleContainerTools/jib#676) and the base image need not have curl: the runtime runs it
 * (docs/operations.md, "Container image").
 *
 * <p>The port is {@code OVERLAY_TRACKER_HTTP_PORT} (default 30380), as for the tracker itself; an
 * argument gives a whole URL instead.
 */
public final class HealthProbe {

  private HealthProbe() {}

  public static void main(String[] args) {
    String url = args.length > 0 ? args[0]
        : "http://127.0.0.1:" + System.getenv().getOrDefault("OVERLAY_TRACKER_HTTP_PORT", "30380") + "/health";
    System.exit(healthy(url, Duration.ofSeconds(3)) ? 0 : 1);
  }

  static boolean healthy(String url, Duration timeout) {
    try {
      HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(timeout).build()
          .send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
      boolean ok = r.statusCode() == 200 && r.body().strip().equals("ok");
      if (!ok) System.err.println("unhealthy: " + r.statusCode() + " " + r.body().strip());
      return ok;
    } catch (Exception e) {
      System.err.println("unhealthy: " + e);
      return false;
    }
  }
}
