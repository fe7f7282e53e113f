package dev.overlay.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which of the host's addresses a node on a wildcard advertises: pure, on made-up interface lists. */
class LocalAddressesTest {

  private static List<InetAddress> ips(String... literals) throws UnknownHostException {
    List<InetAddress> out = new ArrayList<>();
    for (String s : literals) out.add(InetAddress.getByName(s)); // literals: parsed, never looked up
    return out;
  }

  @Test
  void onlyAddressesAPeerElsewhereCouldDialAreOfferedIpv4FirstThenAlternating() throws Exception {
    List<InetAddress> host = ips("127.0.0.1", "::1", "192.168.1.20", "fe80::1", "169.254.3.4", "2001:db8::20",
        "fd00::2", "10.0.0.20", "fec0::1", "224.0.0.251", "0.0.0.0", "192.168.1.20");

    assertThat(LocalAddresses.choose(host, true, Set.of()))
        .containsExactly("192.168.1.20", "2001:db8:0:0:0:0:0:20", "10.0.0.20", "fd00:0:0:0:0:0:0:2");
  }

  @Test
  void aSocketOnTheIpv4WildcardOffersNoIpv6Address() throws Exception {
    assertThat(LocalAddresses.choose(ips("2001:db8::20", "192.168.1.20"), false, Set.of())).containsExactly("192.168.1.20");
  }

  @Test
  void anInterfacesScopeIsNotPartOfTheAddressAPeerIsTold() throws Exception {
    InetAddress scoped = java.net.Inet6Address.getByAddress(null, InetAddress.getByName("2001:db8::20").getAddress(), 2);
    assertThat(scoped.getHostAddress()).contains("%");

    assertThat(LocalAddresses.choose(List.of(scoped), true, Set.of())).containsExactly("2001:db8:0:0:0:0:0:20");
  }

  @Test
  void aHostWithNothingButLoopbackOffersLoopbackIpv4First() throws Exception {
    assertThat(LocalAddresses.choose(ips("::1", "127.0.0.1"), true, Set.of())).containsExactly("127.0.0.1");
    assertThat(LocalAddresses.choose(ips("::1"), true, Set.of())).containsExactly("0:0:0:0:0:0:0:1");
    assertThat(LocalAddresses.choose(ips("::1"), false, Set.of())).isEmpty();
  }

  @Test
  void atMostSixAreOfferedLeavingRoomForAReflexiveAndARelayCandidate() throws Exception {
    List<InetAddress> many = new ArrayList<>();
    for (int i = 1; i <= 10; i++) many.addAll(ips("10.0.0." + i, "2001:db8::" + i));

    List<String> chosen = LocalAddresses.choose(many, true, Set.of());

    assertThat(chosen).hasSize(LocalAddresses.MAX).isEqualTo(List.of("10.0.0.1", "2001:db8:0:0:0:0:0:1", "10.0.0.2",
        "2001:db8:0:0:0:0:0:2", "10.0.0.3", "2001:db8:0:0:0:0:0:3"));
  }

  @Test
  void theAddressesTheDefaultRoutesLeaveFromComeFirstInTheirFamily() throws Exception {
    List<InetAddress> host = ips("172.18.0.1", "10.8.0.2", "192.168.1.20", "fd00::2", "2001:db8::20");

    assertThat(LocalAddresses.choose(host, true, Set.copyOf(ips("192.168.1.20", "2001:db8::20"))))
        .containsExactly("192.168.1.20", "2001:db8:0:0:0:0:0:20", "172.18.0.1", "fd00:0:0:0:0:0:0:2", "10.8.0.2");
  }

  @Test
  void containerAndHypervisorBridgesAreKnownByName() {
    for (String name : new String[] {"docker0", "br-3f2a9c", "veth12ab", "virbr0", "cni0", "flannel.1", "cali7d3", "podman1"}) {
      assertThat(LocalAddresses.container(name)).as(name).isTrue();
    }
    for (String name : new String[] {"eth0", "enp3s0", "wlan0", "wlp2s0", "tun0", "wg0", "bond0", "lo"}) {
      assertThat(LocalAddresses.container(name)).as(name).isFalse();
    }
  }

  @Test
  void theMachinesOwnInterfacesGiveAtLeastOneAddress() throws Exception {
    // Whatever this machine has, a node on a wildcard always has something to advertise.
    assertThat(LocalAddresses.gather(true)).isNotEmpty().hasSizeLessThanOrEqualTo(LocalAddresses.MAX)
        .allSatisfy(h -> assertThat(h).doesNotContain("%"));
  }
}
