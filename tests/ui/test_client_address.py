"""Which address a request came from: X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import ipaddress

import pytest

from ui.client_address import Network, client_address

NONE: tuple[Network, ...] = ()
PROXY = (ipaddress.ip_network("10.0.0.5/32"),)
PROXIES = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/64"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("203.0.113.7", None, NONE, "203.0.113.7"),
        # No trusted proxy: the header is whatever the client wrote, never believed.
        ("203.0.113.7", "198.51.100.1", NONE, "203.0.113.7"),
        ("10.0.0.5", "198.51.100.1", NONE, "10.0.0.5"),
        # From a peer that is not the proxy: ignored too.
        ("10.0.0.6", "198.51.100.1", PROXY, "10.0.0.6"),
        ("10.0.0.5", "198.51.100.1", PROXY, "198.51.100.1"),
        ("10.0.0.5", None, PROXY, "10.0.0.5"),
        ("10.0.0.5", "", PROXY, "10.0.0.5"),
        # A forged left part: the proxy appended the real client on the right.
        ("10.0.0.5", "1.2.3.4, 198.51.100.1", PROXY, "198.51.100.1"),
        # Two proxies in a row: the first hop that is not one is the client.
        ("10.0.0.5", "1.2.3.4, 198.51.100.1, 10.0.0.9", PROXIES, "198.51.100.1"),
        # Garbage: keep the last hop a trusted proxy vouched for.
        ("10.0.0.5", "not-an-ip, 10.0.0.9", PROXIES, "10.0.0.9"),
        ("10.0.0.5", "not-an-ip", PROXY, "10.0.0.5"),
        # IPv6, written another way: one canonical form.
        ("fd00::1", "2001:DB8:0:0::1", PROXIES, "2001:db8::1"),
        # A dual-stack socket's IPv4 peer is that IPv4 address.
        ("::ffff:10.0.0.5", "198.51.100.1", PROXY, "198.51.100.1"),
        ("::ffff:203.0.113.7", None, NONE, "203.0.113.7"),
        (None, "198.51.100.1", PROXY, "unknown"),
        ("testclient", "198.51.100.1", PROXY, "testclient"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: str | None, proxies: tuple[Network, ...], client: str
) -> None:
    assert client_address(peer, forwarded, proxies) == client
