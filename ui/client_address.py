"""The address a request came from, as far as it can be trusted."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d: it is that IPv4 address.
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped or ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address: the direct peer's, unless the peer is one of `proxies`.

    Behind trusted proxies, `X-Forwarded-For` is read from the right (each proxy appends the
    address it saw) and the first hop that is not a trusted proxy is the client. What lies left
    of it was written by the client and is never believed.
    """
    peer_ip = _ip(peer) if peer else None
    if peer_ip is None:
        return peer or UNKNOWN
    client = peer_ip
    if _trusted(peer_ip, proxies) and forwarded_for:
        for hop in reversed(forwarded_for.split(",")):
            hop_ip = _ip(hop)
            if hop_ip is None:
                break  # garbage: keep the last hop a trusted proxy vouched for
            client = hop_ip
            if not _trusted(hop_ip, proxies):
                break
    return str(client)
