package dev.overlay.sim;

import dev.overlay.core.Message;
import dev.overlay.core.OverlayEvent;
import java.util.*;

public class TraceDebug {
  public static void main(String[] args) {
    SimConfig cfg = SimConfig.builder().nodes(Integer.parseInt(args[0])).messages(1000).seed(Long.parseLong(args[3])).build();
    Simulation sim = new Simulation(cfg);
    Map<Integer, Integer> repairGrafts = new HashMap<>();
    List<String> log = new ArrayList<>();
    int watch = Integer.parseInt(args[1]);
    sim.trace(new SimTracer() {
      public void event(long now, int node, OverlayEvent e) {
        if (now > sim.publishStart() && e instanceof OverlayEvent.Grafted g && !g.optimisation()) repairGrafts.merge(node, 1, Integer::sum);
        if (node == watch && now > sim.publishStart()) log.add(String.format("%.3f EV %s", now/1e9, e));
      }
      public void received(long now, int to, int from, Message m) {
        if (to == watch && now > sim.publishStart()) log.add(String.format("%.3f RX from %d %s", now/1e9, from, m));
      }
      public void sent(long now, int from, int to, Message m) {
        if (from == watch && now > sim.publishStart()) log.add(String.format("%.3f TX to %d %s", now/1e9, to, m));
      }
    });
    SimReport r = sim.run();
    System.out.println(r.summary(0));
    repairGrafts.entrySet().stream().sorted((a,b)->b.getValue()-a.getValue()).limit(5).forEach(System.out::println);
    log.stream().limit(Integer.parseInt(args[2])).forEach(System.out::println);
  }
}
