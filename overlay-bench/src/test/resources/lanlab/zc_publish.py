"""Publishes, with python-zeroconf, an _overlay._tcp.local. instance for a node that does not
advertise itself: argv = address port peer-id-hex incarnation stream-hex [seconds]. Prints
PUBLISHED once registered; unregisters (a goodbye) on exit. Used by LanDiscoveryLabTest."""
import socket
import sys
import time

from zeroconf import ServiceInfo, Zeroconf

address, port, peer, incarnation, stream = sys.argv[1:6]
seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 60
info = ServiceInfo(
    "_overlay._tcp.local.",
    "py-published._overlay._tcp.local.",
    addresses=[socket.inet_aton(address)],
    port=int(port),
    properties={"id": peer, "inc": incarnation, "v": "3", "s": stream},
    server="py-published.local.",
)
zc = Zeroconf()
zc.register_service(info)
print("PUBLISHED", flush=True)
time.sleep(seconds)
zc.unregister_service(info)
zc.close()
