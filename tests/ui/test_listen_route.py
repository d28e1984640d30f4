"""`GET /live/{call}/listen` over real HTTP, the app served in-process as `ui.part` serves it,
beside a call whose line a stand-in pacer feeds every 20 ms on the server's own loop: the owner
gets both sides as a chunked stream (bytes and delay measured); another user, no session, an
ended call, a call not on this node's line are refused without a byte of audio; signing out
or the call ending ends the stream."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

from core.db import Database
from core.db.migrate import upgrade
from core.domain import CallState
from core.settings import Settings
from media.audio import ulaw_to_samples
from media.listen import CallLines, decode_records
from tests.helpers import free_port
from tests.kit import make_call, make_user
from ui.app import build_asgi_app

AGENT, CALLEE = 2000, 1000  # the sample values of each side's frames


@dataclass(frozen=True, slots=True)
class Served:
    base: str
    alice: int
    bob: int
    live: int  # Alice's call, on the line
    ringing: int  # Alice's call, not on the line yet
    elsewhere: int  # Alice's call, carried by another node
    ended: int  # Alice's call that has ended
    hang_up: threading.Event  # ends the live call


def _frame(value: int) -> bytes:
    return np.full(160, value, dtype="<i2").tobytes()


async def _pacer(lines: CallLines, user_id: int, call_id: int, hang_up: threading.Event) -> None:
    """The live call's line as the bridge feeds it: a callee frame, then an outbound frame."""
    line = lines.open(user_id, call_id)
    loop = asyncio.get_running_loop()
    start, n = loop.time(), 0
    while not hang_up.is_set():
        line.inbound(_frame(CALLEE))
        line.outbound(_frame(AGENT))
        n += 1
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))  # a clock, not a drift
    line.end()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'opendeep.db'}"
    upgrade(url)

    async def seed() -> tuple[int, ...]:
        db = Database(url)
        try:
            alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
            calls = [
                await make_call(db, alice, state=CallState.ANSWERED),
                await make_call(db, alice, state=CallState.RINGING),
                await make_call(db, alice, state=CallState.ANSWERED, node_id="node-b"),
                await make_call(db, alice, state=CallState.ENDED),
            ]
            return (alice, bob, *(c.id for c in calls))
        finally:
            await db.dispose()

    alice, bob, live, ringing, elsewhere, ended = asyncio.run(seed())
    settings = Settings(database_url=url, data_dir=tmp_path, ui_port=free_port(), node_id="test")
    hang_up = threading.Event()
    started = threading.Event()
    holder: dict[str, uvicorn.Server] = {}

    async def main() -> None:
        db = Database(url)
        # Stamped on the monotonic clock, which this test reads too (same process).
        lines = CallLines(clock=time.monotonic)
        pacer = asyncio.create_task(_pacer(lines, alice, live, hang_up))
        try:
            app = build_asgi_app(settings, db, lines=lines)
            server = holder["server"] = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=settings.ui_port,
                    log_config=None,
                    proxy_headers=False,
                )
            )
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            started.set()
            await serving
        finally:
            started.set()
            hang_up.set()
            await pacer
            await db.dispose()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(120) and holder["server"].started
    try:
        yield Served(
            f"http://127.0.0.1:{settings.ui_port}",
            alice,
            bob,
            live,
            ringing,
            elsewhere,
            ended,
            hang_up,
        )
    finally:
        holder["server"].should_exit = True
        thread.join(30)


def _signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    form = {"username": name, "password": f"{name}-password-123"}
    assert client.post("/login", data=form).status_code == 200
    return client


def _listen(
    client: httpx.Client, call_id: int, seconds: float
) -> tuple[int, bytes, list[float], bool]:
    """Read the stream for up to `seconds`: (status, μ-law audio, delays in s, ended by the
    server)."""
    audio, delays, rest = b"", [], b""
    deadline = time.monotonic() + seconds
    with client.stream("GET", f"/live/{call_id}/listen") as response:
        if response.status_code != 200:
            response.read()
            return response.status_code, response.content, [], True
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["cache-control"] == "no-store"
        for chunk in response.iter_raw():
            now = time.monotonic()
            found, rest = decode_records(rest + chunk)
            for ulaw, mixed_at_ms in found:
                audio += ulaw
                delays.append(now - mixed_at_ms / 1000)
            if now >= deadline:
                return 200, audio, delays, False
    return 200, audio, delays, True


def test_the_owner_hears_both_sides_as_they_happen(served: Served) -> None:
    alice = _signed_in(served.base, "alice")
    status, audio, delays, ended = _listen(alice, served.live, 2.0)
    assert (status, ended) == (200, False)
    rate = len(audio) / 2.0
    print(
        f"\nlisten route: {len(audio)} bytes in 2.0 s ({rate:.0f} B/s); delay from the mix to "
        f"the client: median {sorted(delays)[len(delays) // 2] * 1000:.1f} ms, "
        f"max {max(delays) * 1000:.1f} ms over {len(delays)} records"
    )
    # 8 kHz μ-law at the pacer's pace: never faster (no backlog dumped at once); slower only as
    # far as a loaded machine's pacer falls behind. Its figure is in the browser test's output.
    assert 0.5 * 8000 <= rate <= 1.2 * 8000
    assert max(delays) < 1.0  # the bound: about a second at most
    mixed = ulaw_to_samples(audio)
    assert abs(float(np.median(mixed)) - (AGENT + CALLEE)) < 100  # both sides, added


def test_the_stream_ends_when_the_call_ends(served: Served) -> None:
    alice = _signed_in(served.base, "alice")
    threading.Timer(0.5, served.hang_up.set).start()
    status, audio, _, ended = _listen(alice, served.live, 10.0)
    assert (status, ended) == (200, True) and audio
    status, body, _, _ = _listen(alice, served.live, 1.0)  # the line is gone now
    assert status == 409 and b"not on the line" in body


def test_signing_out_ends_the_stream(served: Served) -> None:
    alice = _signed_in(served.base, "alice")
    cookies = alice.cookies
    threading.Timer(0.5, lambda: httpx.get(f"{served.base}/logout", cookies=cookies)).start()
    started = time.monotonic()
    status, _, _, ended = _listen(alice, served.live, 10.0)
    assert (status, ended) == (200, True)
    assert time.monotonic() - started < 4.0


def test_nobody_else_hears_a_byte(served: Served) -> None:
    bob = _signed_in(served.base, "bob")
    refused = _listen(bob, served.live, 1.0)
    missing = _listen(bob, 999_999, 1.0)
    assert refused[0] == missing[0] == 404
    assert refused[1] == missing[1] == b'{"detail":"no such call"}'  # the same words: no leak
    for call in (served.ringing, served.elsewhere, served.ended):
        assert _listen(bob, call, 1.0)[0] == 404
    anonymous = httpx.Client(base_url=served.base, timeout=30)
    assert _listen(anonymous, served.live, 1.0)[:2] == (401, b'{"detail":"sign in first"}')
    # Bob's refusals took nothing from Alice's line: she still hears it.
    alice = _signed_in(served.base, "alice")
    assert _listen(alice, served.live, 0.5)[2]


def test_a_call_not_on_this_nodes_line_says_why(served: Served) -> None:
    alice = _signed_in(served.base, "alice")
    with alice.stream("GET", f"/live/{served.ringing}/listen") as waiting:
        waiting.read()
        assert (waiting.status_code, waiting.content) == (
            409,
            b'{"detail":"the call is not on the line yet"}',
        )
        assert waiting.headers["retry-after"] == "1"  # the page asks again
    status, body, _, _ = _listen(alice, served.elsewhere, 1.0)
    assert status == 409 and b"carried by the node node-b" in body
    assert _listen(alice, served.ended, 1.0)[:2] == (410, b'{"detail":"the call has ended"}')
