"""Serving plain HTTP beyond this machine is warned about."""

from __future__ import annotations

import pytest

from ui.part import plain_http_warning


@pytest.mark.parametrize(
    ("host", "warned"),
    [
        ("127.0.0.1", False),
        ("127.0.0.53", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),  # noqa: S104 -- the case warned about
        ("::", True),
        ("192.168.1.20", True),
        ("opendeep.example.org", True),
    ],
)
def test_plain_http_beyond_loopback_is_warned_about(host: str, warned: bool) -> None:
    warning = plain_http_warning(host)
    assert (warning is not None) is warned
    if warning:
        assert host in warning and "'Behind a reverse proxy'" in warning
