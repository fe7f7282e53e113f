"""Browses _overlay._tcp.local. with python-zeroconf (an independent mDNS implementation) and
prints one line per instance it resolves: FOUND <name> <address>:<port> <TXT key=value ...>.
Runs until its standard input closes or `seconds` pass. Used by LanDiscoveryLabTest."""
import socket
import sys
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

SERVICE = "_overlay._tcp.local."


class Listener(ServiceListener):
    def __init__(self, zc):
        self.zc = zc

    def add_service(self, zc, type_, name):
        self.show(type_, name)

    def update_service(self, zc, type_, name):
        self.show(type_, name)

    def remove_service(self, zc, type_, name):
        print("REMOVED " + name, flush=True)

    def show(self, type_, name):
        info = self.zc.get_service_info(type_, name, timeout=3000)
        if info is None:
            print("UNRESOLVED " + name, flush=True)
            return
        txt = " ".join(k.decode() + "=" + (v.decode() if v is not None else "") for k, v in info.properties.items())
        addresses = [socket.inet_ntoa(a) for a in info.addresses if len(a) == 4]
        print("FOUND %s %s:%d %s" % (name, ",".join(addresses), info.port, txt), flush=True)


zc = Zeroconf()
ServiceBrowser(zc, SERVICE, Listener(zc))
print("BROWSING", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 30)
zc.close()
