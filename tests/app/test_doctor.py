"""The doctor's look at this machine's AudioSocket ports: every media worker's port is bound for
a moment, as the node's workers will bind them."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app.doctor import check_port
from core.settings import Settings


@pytest.fixture
def held() -> Iterator[tuple[int, socket.socket]]:
    """A port whose next one is held by a listener of the test's (the first stays free)."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first >= 65535:
            continue
        listener = socket.socket()
        try:
            listener.bind(("127.0.0.1", first + 1))
        except OSError:
            listener.close()
            continue
        listener.listen()
        with listener:
            yield first, listener
        return
    pytest.fail("no two ports in a row were free")


def settings(port: int, workers: int) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, audiosocket_port=port, media_workers=workers
    )


def test_a_media_workers_port_in_use_is_named(held: tuple[int, socket.socket]) -> None:
    first, _ = held
    check = check_port(settings(first, 2))
    assert check.level == "fail", check
    assert f"{first + 1} (media worker 1)" in check.detail
    # In process, the node needs only the first port, which is free.
    alone = check_port(settings(first, 1))
    assert alone.level == "ok" and alone.detail == f"127.0.0.1:{first} is free"
