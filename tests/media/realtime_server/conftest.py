"""A local Realtime server per test, a raw WebSocket client for it, and — after every test — a
check that each event the server sent validates against the official SDK's GA types."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter
from websockets.asyncio.client import ClientConnection, connect

from media.audio import slin_to_ulaw
from media.realtime_server import RealtimeTestServer, Script, SimOptions

GA_SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)


class Client:
    """A bare WebSocket client that remembers every event it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.events.append(event)
        return event

    async def until(self, event_type: str, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next()
                if event["type"] == event_type:
                    return event

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def speak(
        self, pattern: list[tuple[str, int]], rate: int = 8000, fmt: str = "pcmu"
    ) -> None:
        """Send caller audio: ("tone"|"silence", ms) pieces, in 20 ms appends."""
        parts = []
        for kind, ms in pattern:
            n = rate * ms // 1000
            if kind == "tone":
                t = np.arange(n) / rate
                parts.append(np.round(0.3 * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2"))
            else:
                parts.append(np.zeros(n, dtype="<i2"))
        pcm = np.concatenate(parts).astype("<i2").tobytes()
        step = rate * 20 // 1000 * 2
        for i in range(0, len(pcm), step):
            chunk = pcm[i : i + step]
            audio = slin_to_ulaw(chunk) if fmt == "pcmu" else chunk
            await self.send(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()}
            )


@pytest.fixture
async def servers() -> AsyncIterator[list[RealtimeTestServer]]:
    started: list[RealtimeTestServer] = []
    yield started
    for srv in started:
        await srv.close()
    for srv in started:
        for record in srv.connections:
            for event in record.sent:
                GA_SERVER_EVENT.validate_python(event)


@pytest.fixture
def make_server(servers: list[RealtimeTestServer]) -> Callable[..., Any]:
    async def make(script: Script | None = None, **options: Any) -> RealtimeTestServer:
        transcriber = options.pop("transcriber", None)
        opts = SimOptions(**{"realtime_factor": 0.0, **options})
        srv = RealtimeTestServer(script, options=opts, transcriber=transcriber)
        await srv.start()
        servers.append(srv)
        return srv

    return make


@pytest.fixture
async def open_client() -> AsyncIterator[Callable[..., Any]]:
    opened: list[ClientConnection] = []

    async def open_(srv: RealtimeTestServer, model: str = "gpt-realtime") -> Client:
        ws = await connect(
            f"{srv.url}/realtime?model={model}",
            additional_headers={"Authorization": "Bearer test-key"},
        )
        opened.append(ws)
        client = Client(ws)
        assert (await client.next())["type"] == "session.created"
        return client

    yield open_
    for ws in opened:
        await ws.close()


PCMU_SESSION = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "audio": {
            "input": {"format": {"type": "audio/pcmu"}, "transcription": {"model": "whisper-1"}},
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
        },
    },
}
