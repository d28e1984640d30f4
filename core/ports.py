"""Free TCP ports on loopback, for nodes started side by side (rehearsals, benchmarks, tests)."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(count: int = 1) -> int:
    """A port free on loopback now; with `count` above 1, the first of that many in a row (a
    node's media workers listen on one each, from AUDIOSOCKET_PORT on)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind((LOOPBACK, 0))
            first = int(sock.getsockname()[1])
        if first + count - 1 <= 65535 and all(_bindable(first + i) for i in range(1, count)):
            return first
    raise OSError(f"found no {count} free ports in a row on {LOOPBACK}")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True
