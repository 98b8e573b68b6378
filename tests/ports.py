"""Listening ports for the servers the tests start (Redlight, PostgreSQL,
PgBouncer, Redis, Caddy, the SMTP sink).

A port the kernel hands out for bind(0) comes from its ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), the same
range it takes outgoing connections' local ports from. A server stopped and
started again on its port (a rolling restart, Redis stopped mid-run) then
finds that port taken by some client's connection now and again: "Address
already in use". So servers listen above that range, and the raw test
clients that choose their own local ports (conftest.connect) take them from
below it, 10000 up: the three never meet.

    free_port()          one port free on every address, for this run
    python3 ports.py N   prints N such ports (for the shell scripts)
"""

import random
import socket
import sys

CLIENT_LOW, CLIENT_HIGH = 10000, 32768   # conftest.connect's local ports
_given = set()


def _ephemeral():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range",
                  encoding="ascii") as f:
            low, high = (int(v) for v in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _candidates():
    """Ports above the ephemeral range; below the clients' range too if
    the kernel's range leaves few above it."""
    low, high = _ephemeral()
    ports = [p for p in range(high + 1, 65536) if p >= CLIENT_HIGH]
    if len(ports) < 500:
        ports += [p for p in range(1024, min(low, CLIENT_LOW))]
    if not ports:
        raise AssertionError("no ports outside the ephemeral range "
                             f"{low}-{high} and {CLIENT_LOW}-{CLIENT_HIGH}")
    return ports


def _bindable(port):
    """Nothing bound to port on any address (the nodes bind [::]
    dual-stack, so a port free on 127.0.0.1 alone may still be taken)."""
    with socket.socket(socket.AF_INET6) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        try:
            sock.bind(("::", port))
        except OSError:
            return False
    return True


def free_port():
    """A port outside the ephemeral range, free now on every address and not
    given out before by this process (a stopped server keeps its port)."""
    ports = _candidates()
    rng = random.SystemRandom()
    for _ in range(2000):
        port = rng.choice(ports)
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    raise AssertionError("no free port found outside the ephemeral range")


if __name__ == "__main__":
    print(*(free_port() for _ in range(int(sys.argv[1]))))
